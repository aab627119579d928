package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/view"
)

var restoreCommand = &command{
	name:     "restore",
	synopsis: "--time T | --latest  --discard-newer [--timeout DURATION] [-f cluster.hcl] [--target TARGET] [--state-dir DIR]",
	summary:  "bring the whole cluster back to a point in time from its backups",
	detail: `Restores the cluster from its pgBackRest repository to --time T (UTC unless T
names its zone: "2026-12-07 10:30:00", "2026-12-07T10:30:00+03:00") or, with
--latest, to the end of the WAL archive. Every write after the target is gone
afterwards, on every node: the command refuses to start without --discard-newer.

It first checks the target against the repository (not before the end of the
oldest backup, not after the archive) and changes nothing when it is out of reach.
Then: Patroni (and PostgreSQL) stops on every node, the leader last; the cluster's
state is removed from etcd; the leader's data is restored by pgBackRest and
replayed to the target by a PostgreSQL of its own, which promotes onto a new
timeline; Patroni starts there and leads; a full backup of the restored cluster is
taken; and the other nodes are emptied and rebuilt from that backup as replicas.
Each step is shown as it starts, pgBackRest's output below it.

The cluster takes no writes from the first step until its leader runs again. It
acts on the sandbox's cluster unless --target names another target.

Exits 0 when the cluster runs again, healthy, at the target; 2 on a bad command
line; 4 when the target is out of reach (nothing changed) or a step failed (the
message says which; the steps before it are done).`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addClusterFlags(fs)
		at := fs.String("time", "", "restore to `T`, a time in the archive")
		latest := fs.Bool("latest", false, "restore to the end of the WAL archive")
		discard := fs.Bool("discard-newer", false, "confirm that every write after the target is discarded")
		timeout := fs.Duration("timeout", time.Hour, "give up after `DURATION`")
		return func(c *cli, args []string) int {
			if len(args) != 0 {
				return c.usageError(lookup("restore"), "restore takes no arguments")
			}
			target := provision.RestoreTarget{Latest: *latest}
			switch {
			case (*at == "") == !*latest:
				return c.usageError(lookup("restore"), "give one of --time T and --latest")
			case *at != "":
				t, err := parseRestoreTime(*at)
				if err != nil {
					return c.usageError(lookup("restore"), err.Error())
				}
				target.Time = t
			}
			s, code, ok := c.clusterSite("restore", f)
			if !ok {
				return code
			}
			cl, code, ok := c.loadQuiet("restore", s)
			if !ok {
				return code
			}
			if cl.Backup == nil {
				return c.fail("restore", provision.ErrBackupsOff)
			}
			if err := provision.ReachJumpHost(c.ctx, s, cl); err != nil {
				return c.fail("restore", err)
			}
			fl := provision.Fleet{Site: s, Cluster: cl}
			ctx, cancel := context.WithTimeout(c.ctx, *timeout)
			defer cancel()
			_, err := fl.CheckRestore(ctx, target)
			if err != nil {
				fmt.Fprintf(c.stderr, "pghac restore: %v\nNothing was changed.\n", err)
				return exitRuntime
			}
			if !*discard {
				fmt.Fprintf(c.stderr, "pghac restore: restoring cluster %s to %s discards every write after it, on every node.\n"+
					"Nothing was changed. Run it again with --discard-newer to do it (pghac backup list shows what the repository holds).\n", cl.Name, target)
				return exitUsage
			}
			fmt.Fprintf(c.stdout, "Restoring cluster %s to %s:\n", cl.Name, target)
			done, err := fl.Restore(ctx, target, func(step string) {
				fmt.Fprintf(c.stdout, "  %s: %s\n", time.Now().UTC().Format("15:04:05"), step)
			}, &view.LinePrefixer{W: c.stderr, Prefix: "    "})
			if err != nil {
				fmt.Fprintf(c.stderr, "pghac restore: %v\n", err)
				return exitRuntime
			}
			fmt.Fprintf(c.stdout, "restored cluster %s to %s on %s in %.0fs; every node runs again, and backup %s holds the restored cluster\n",
				cl.Name, target, done.Node, done.Took.Seconds(), done.Backup)
			return exitOK
		}
	},
}

// parseRestoreTime reads a restore target: RFC 3339, or "YYYY-MM-DD HH:MM:SS" in UTC.
func parseRestoreTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--time %q: write a time like \"2026-12-07 10:30:00\" (UTC) or \"2026-12-07T10:30:00+03:00\"", s)
}
