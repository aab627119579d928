package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/rollout"
)

// nodeAction is a subcommand of `pghac node`: something done to one node of the sandbox
// cluster through Patroni.
type nodeAction struct {
	name    string
	summary string
	run     func(c *cli, pc *patroni.Client, node string, o nodeOptions) int
}

// nodeOptions are the flags of `pghac node`; each action reads those it needs.
type nodeOptions struct {
	force   bool
	timeout time.Duration
}

// nodeActions are the subcommands of `pghac node`, in the order help lists them.
var nodeActions = []nodeAction{
	{name: "reinit", summary: "rebuild a replica's data directory from the leader (Patroni reinitialize)", run: (*cli).nodeReinit},
}

func nodeActionNames() string {
	names := make([]string, len(nodeActions))
	for i, a := range nodeActions {
		names[i] = a.name
	}
	return strings.Join(names, ", ")
}

func nodeActionList() string {
	var b strings.Builder
	for _, a := range nodeActions {
		fmt.Fprintf(&b, "  %-8s %s\n", a.name, a.summary)
	}
	return b.String()
}

var nodeCommand = &command{
	name:     "node",
	synopsis: "reinit NODE [--force] [--timeout DURATION] [-f cluster.hcl] [--state-dir DIR]",
	summary:  "act on one node of the sandbox cluster (reinit: rebuild a replica)",
	detail: `Acts on one node of the running sandbox cluster through Patroni's REST API, with
the REST API's password from the sandbox's secrets (never printed).

Subcommands:
` + nodeActionList() + `
'pghac node reinit NODE' has NODE's Patroni throw its data directory away and copy
it anew from the leader (pg_basebackup), then waits until NODE runs again as a
replica on the leader's timeline, streaming from it with a known lag, and prints
the time it took. The leader cannot be rebuilt: switch over first. --force
cancels what Patroni is busy with on NODE (a restart, an earlier reinit) instead
of refusing.

Exits 0 when done, 2 on a bad command line (a missing or unknown subcommand, NODE
naming no node of the cluster file), 4 when it could not be done or did not finish
within --timeout: the sandbox is not up, NODE is the leader or not a running
member, or Patroni refused (its message is shown).`,
	maxArgs: 2,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, false)
		var o nodeOptions
		fs.BoolVar(&o.force, "force", false, "reinit: cancel what Patroni is busy with on the node instead of refusing")
		fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up waiting after `DURATION` (default 5m)")
		return func(c *cli, args []string) int {
			usage := func(msg string) int { return c.usageError(lookup("node"), msg) }
			if len(args) == 0 {
				return usage("want a subcommand: " + nodeActionNames())
			}
			var act *nodeAction
			for i := range nodeActions {
				if nodeActions[i].name == args[0] {
					act = &nodeActions[i]
				}
			}
			if act == nil {
				return usage(fmt.Sprintf("unknown subcommand %q: want %s", args[0], nodeActionNames()))
			}
			if len(args) < 2 {
				return usage(act.name + " needs a NODE")
			}
			if o.timeout <= 0 {
				return usage("--timeout must be positive")
			}
			s, code, ok := c.sandboxSite("node", f)
			if !ok {
				return code
			}
			cl, code, ok := c.loadQuiet("node", s)
			if !ok {
				return code
			}
			if !cl.HasNode(args[1]) {
				return usage(noNode(cl, args[1], s.File))
			}
			pc, _, err := provision.SandboxPatroni(s, cl)
			if err != nil {
				fmt.Fprintf(c.stderr, "pghac node %s: %v\n", act.name, err)
				return exitRuntime
			}
			return act.run(c, pc, args[1], o)
		}
	},
}

// nodeReinit rebuilds replica node from the leader, waits until it streams again, and prints
// how it went.
func (c *cli) nodeReinit(pc *patroni.Client, node string, o nodeOptions) int {
	r, err := rollout.Reinit(c.ctx, pc, node, o.force, o.timeout, c.progress)
	if err != nil {
		msg := rolloutMessage(err)
		if errors.Is(err, rollout.ErrBusy) && !o.force {
			msg += " (--force cancels it)"
		}
		fmt.Fprintf(c.stderr, "pghac node reinit: %s\n", msg)
		return exitRuntime
	}
	fmt.Fprintf(c.stdout, "reinitialized %s from %s in %.1fs\n", r.Node, r.Leader, r.Took.Seconds())
	return exitOK
}
