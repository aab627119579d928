package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/view"
)

var backupCommand = &command{
	name:     "backup",
	synopsis: "now [--type full|diff|incr] | list | verify  [-f cluster.hcl] [--target TARGET] [--state-dir DIR]",
	summary:  "take, list or verify the cluster's pgBackRest backups",
	maxArgs:  1,
	detail: `Backups run by themselves on the schedule of cluster.hcl's backup block, on
whichever node leads the cluster; these subcommands act on the leader now.

  now      takes a backup (--type full, the default; diff; incr) with the nodes' own
           backup script, showing pgBackRest's progress as it comes, then lists them.
  list     shows every backup in the repository (its size in the database and in the
           bucket), the window a point-in-time restore reaches, and the WAL archive's
           state; a bucket that cannot be reached or refuses the key, or WAL that fails
           to archive, is said plainly.
  verify   runs pgbackrest check (a WAL segment switched now must reach the bucket) and
           pgbackrest verify (the checksum of every file in the repository).

It acts on the sandbox's cluster unless --target names another target: then pghac
reaches the nodes as 'pghac status --target' does.

Exits 0 on success, 2 on a bad command line, 4 when the backup, the repository or
the check fails (list: when it has a problem to report).`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addClusterFlags(fs)
		typ := fs.String("type", "full", "now: the backup's `TYPE`: full, diff or incr")
		return func(c *cli, args []string) int {
			if len(args) != 1 || !strings.Contains(" now list verify ", " "+args[0]+" ") {
				return c.usageError(lookup("backup"), "want a subcommand: now, list or verify")
			}
			s, code, ok := c.clusterSite("backup", f)
			if !ok {
				return code
			}
			cl, code, ok := c.loadQuiet("backup", s)
			if !ok {
				return code
			}
			if err := provision.ReachJumpHost(c.ctx, s, cl); err != nil {
				return c.fail("backup", err)
			}
			fl := provision.Fleet{Site: s, Cluster: cl}
			if cl.Backup == nil {
				return c.fail("backup", provision.ErrBackupsOff)
			}
			b := cl.Backup
			where := fmt.Sprintf("cluster %s in s3://%s%s at %s", cl.Name, b.Bucket, b.Path, b.Addr())
			switch args[0] {
			case "now":
				start := time.Now()
				leader, err := fl.BackupNow(c.ctx, *typ, &view.LinePrefixer{W: c.stderr, Prefix: "  "})
				if err != nil && leader == "" {
					return c.fail("backup", err)
				}
				if err != nil {
					fmt.Fprintf(c.stderr, "pghac backup: the %s backup on %s failed: %v\n", *typ, leader, err)
					return exitRuntime
				}
				fmt.Fprintf(c.stdout, "%s backup taken on %s in %.1fs\n", *typ, leader, time.Since(start).Seconds())
				return c.backupList(fl, where)
			case "list":
				return c.backupList(fl, where)
			default:
				leader, err := fl.VerifyBackups(c.ctx, &view.LinePrefixer{W: c.stderr, Prefix: "  "})
				if err != nil {
					return c.fail("backup", err)
				}
				fmt.Fprintf(c.stdout, "verified on %s: WAL reaches the repository, and every backup and WAL file in it is intact\n", leader)
				return exitOK
			}
		}
	},
}

// backupList prints the repository's backups and the archive's state; a problem exits 4.
func (c *cli) backupList(fl provision.Fleet, where string) int {
	r, err := fl.Backups(c.ctx)
	if err != nil {
		return c.fail("backup", err)
	}
	view.Backups(c.stdout, where, r)
	if len(r.Problems()) > 0 {
		return exitRuntime
	}
	return exitOK
}
