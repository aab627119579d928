package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/rollout"
)

var switchoverCommand = &command{
	name:     "switchover",
	synopsis: "[--to NODE] [--timeout DURATION] [-f cluster.hcl] [--target TARGET] [--state-dir DIR]",
	summary:  "hand the cluster's leadership to another node (a planned Patroni switchover)",
	detail: `Asks Patroni for a switchover: the leader stops accepting writes, the chosen
replica is promoted once it has every WAL record, and the old leader comes back as
a replica of it. Without --to, Patroni picks the candidate (the synchronous
standby in synchronous mode, else a healthy replica).

pghac finds the leader in Patroni's /cluster, sends the request to it with the
REST API's password from the target's secrets (never printed), and waits until
the new leader runs and the old one streams from it as a replica. While it waits
longer than a moment it prints the members' states on stderr every second. At the
end it prints, on stdout:

  switched over from node0 to node1 in 2.3s

Exits 0 when the switchover is done, 2 on a bad command line (--to naming no node
of the cluster file), 4 when it could not be done or did not finish within
--timeout: the sandbox is not up, --to is the leader already or not a running
member, Patroni refused (its message is shown) or made another node the leader.

It switches the sandbox's cluster over unless --target names another target: then
pghac reaches the nodes as 'pghac status --target' does.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addClusterFlags(fs)
		to := fs.String("to", "", "make `NODE` the leader (default: the replica Patroni picks)")
		timeout := fs.Duration("timeout", 60*time.Second, "give up after `DURATION` (default 60s)")
		return func(c *cli, _ []string) int {
			if *timeout <= 0 {
				return c.usageError(lookup("switchover"), "--timeout must be positive")
			}
			s, code, ok := c.clusterSite("switchover", f)
			if !ok {
				return code
			}
			cl, code, ok := c.loadQuiet("switchover", s)
			if !ok {
				return code
			}
			if *to != "" && !cl.HasNode(*to) {
				return c.usageError(lookup("switchover"), fmt.Sprintf("--to %s: %s", *to, noNode(cl, *to, s.File)))
			}
			pc, _, err := provision.PatroniOf(s, cl)
			if err == nil {
				err = provision.ReachJumpHost(c.ctx, s, cl)
			}
			if err != nil {
				return c.fail("switchover", err)
			}
			return c.switchover(pc, *to, *timeout)
		}
	},
}

// noNode says that file has no node name, and which it has.
func noNode(cl *model.Cluster, name, file string) string {
	return fmt.Sprintf("%s has no node %q; its nodes are %s", file, name, strings.Join(cl.NodeNames(), ", "))
}

// switchover switches over from the current leader to to ("" for Patroni's pick), and prints
// how it went.
func (c *cli) switchover(pc *patroni.Client, to string, timeout time.Duration) int {
	r, err := rollout.Switchover(c.ctx, pc, to, timeout, c.progress)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac switchover: %s\n", rolloutMessage(err))
		return exitRuntime
	}
	fmt.Fprintf(c.stdout, "switched over from %s to %s in %.1fs\n", r.From, r.To, r.Took.Seconds())
	return exitOK
}

// rolloutMessage is err from rollout as the commands print it: a Patroni that does not
// answer asks whether the cluster is up.
func rolloutMessage(err error) string {
	if ue, ok := errors.AsType[*rollout.UnreachableError](err); ok {
		return fmt.Sprintf("Patroni does not answer; is the cluster up (pghac status)? %v", ue.Err)
	}
	return err.Error()
}

// progress shows on stderr what a rollout operation waits for, once it has waited a while.
func (c *cli) progress(s rollout.Step) {
	fmt.Fprintf(c.stderr, "  [%3ds] %s: %s\n", int(s.Elapsed.Seconds()), s.Phase, s.State)
}
