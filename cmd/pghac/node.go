package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
)

// nodeAction is a subcommand of `pghac node`: something done to one node of the sandbox
// cluster through Patroni.
type nodeAction struct {
	name    string
	summary string
	run     func(c *cli, ctx context.Context, pc *patroni.Client, node string, o nodeOptions) int
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
			cl, code, ok := c.loadQuiet("node", s.File)
			if !ok {
				return code
			}
			if !hasNode(cl, args[1]) {
				return usage(noNode(cl, args[1], s.File))
			}
			pc, ok := c.sandboxPatroni("node "+act.name, s, cl)
			if !ok {
				return exitRuntime
			}
			ctx, cancel := context.WithTimeout(c.ctx, o.timeout)
			defer cancel()
			return act.run(c, ctx, pc, args[1], o)
		}
	},
}

// nodeReinit rebuilds replica node from the leader and waits until it streams again.
func (c *cli) nodeReinit(ctx context.Context, pc *patroni.Client, node string, o nodeOptions) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(c.stderr, "pghac node reinit: "+format+"\n", args...)
		return exitRuntime
	}
	before, err := pc.Cluster(ctx)
	if err != nil {
		return fail("Patroni does not answer; is the sandbox up (pghac status)? %v", err)
	}
	m, ok := before.Member(node)
	if !ok {
		return fail("%s is not a Patroni member now (the members: %s); is its Patroni running?", node, before)
	}
	if _, ok := before.Leader(); !ok {
		return fail("the cluster has no leader to rebuild %s from (%s)", node, before)
	}
	if m.IsLeader() {
		to := "NODE"
		if cand, ok := candidate(before); ok {
			to = cand
		}
		return fail("%s is the leader: switch over first (pghac switchover --to %s)", node, to)
	}
	// PostgreSQL's start time tells the rebuilt server from the one running now; a member
	// whose PostgreSQL is down has none.
	var started string
	if st, err := pc.Status(ctx, node); err == nil {
		started = st.PostmasterStart
	}

	start := time.Now()
	p := c.startProgress(ctx, pc, start, "waiting for "+node+" to be rebuilt")
	msg, err := pc.Reinitialize(ctx, node, o.force)
	if err != nil {
		p.end()
		var he *patroni.HTTPError
		if errors.As(err, &he) && strings.Contains(he.Message, "in progress") && !o.force {
			return fail("%v (--force cancels it)", err)
		}
		return fail("%v", err)
	}
	cl, err := pc.WaitFor(ctx, pollEvery, func(cl patroni.Cluster) bool {
		l, ok := cl.Leader()
		m, found := cl.Member(node)
		if !ok || !found || m.Lag == nil {
			return false
		}
		lst, err := pc.Status(ctx, l.Name)
		if err != nil || health.Follows(health.FromPatroni(cl, lst), node) != "" {
			return false
		}
		st, err := pc.Status(ctx, node)
		return err == nil && st.PostmasterStart != "" && st.PostmasterStart != started
	})
	p.end()
	if err != nil {
		return fail("Patroni said %q, but %s did not come back as a streaming replica within %v: %v", msg, node, o.timeout, err)
	}
	l, _ := cl.Leader()
	fmt.Fprintf(c.stdout, "reinitialized %s from %s in %.1fs\n", node, l.Name, time.Since(start).Seconds())
	return exitOK
}

// candidate is the member to suggest for a switchover: the synchronous standby, else the
// first running replica.
func candidate(cl patroni.Cluster) (string, bool) {
	for _, m := range cl.Members {
		if m.Role == patroni.RoleSyncStandby && runs(m) {
			return m.Name, true
		}
	}
	for _, m := range cl.Members {
		if !m.IsLeader() && runs(m) {
			return m.Name, true
		}
	}
	return "", false
}
