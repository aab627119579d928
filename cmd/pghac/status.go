package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/backup"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var statusCommand = &command{
	name:     "status",
	synopsis: "[-f cluster.hcl] [--target TARGET] [--state-dir DIR] [--json]",
	summary:  "show the cluster's members, roles, replication lag, etcd and HAProxy",
	detail: `Asks the nodes how the cluster is: Patroni's REST API (/cluster) for every
member's role, state, timeline and replication lag, as 'patronictl list' shows
them; etcd's /health on every member; and each node's HAProxy statistics page,
whether it routes the primary port to the leader and the replica port to the
replicas. With --json the same as one JSON object.

It asks the sandbox's machines unless --target names another target: then it asks
the nodes at their addresses in cluster.hcl, through network.jump_host when the
file has one (SSH with the operator key, the endpoints tunnelled over it), with
the passwords from .pghac/<target>/secrets.tfvars.

For a node with a problem it also asks the node itself, over SSH, why it does not
serve, and shows the one line that says so: a boot that failed (its secrets could
not be read from Lockbox, say) or still waits for its secrets, or a Patroni whose
unit cannot start (its etcd3 backport refusing a Patroni it was not made for).

Exits 0 when the cluster is healthy (one leader, every replica streaming with lag
0, etcd healthy, every HAProxy routing right), 4 otherwise.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addClusterFlags(fs)
		asJSON := fs.Bool("json", false, "print the status as JSON")
		return func(c *cli, _ []string) int {
			s, code, ok := c.clusterSite("status", f)
			if !ok {
				return code
			}
			return c.status(s, *asJSON)
		}
	},
}

func (c *cli) status(s site.Site, asJSON bool) int {
	l, code, ok := c.loadQuiet("status", s)
	if !ok {
		return code
	}
	if s.Target != model.TargetSandbox { // a sandbox that is not up says so in the report
		if err := provision.CanReach(s); err != nil {
			return c.fail("status", err)
		}
	}
	if err := provision.ReachJumpHost(c.ctx, s, l); err != nil {
		return c.fail("status", err)
	}
	p, err := provision.Prober(s, l, l.HAProxy.ReplicaMaxLagBytes)
	if err != nil {
		return c.fail("status", err)
	}
	st := p.Observe(c.ctx)
	if !st.Healthy {
		// Why a node does not serve, when it says: a boot that failed or waits for its
		// secrets, a Patroni its unit cannot start.
		if dial, err := provision.Dialer(s, l); err == nil {
			provision.Diagnose(c.ctx, dial, &st)
		}
	}
	var backups *backup.Report
	if l.Backup != nil && hasLeader(st) {
		r, err := provision.Fleet{Site: s, Cluster: l}.Backups(c.ctx)
		if err != nil {
			r.InfoErr = err
		}
		backups = &r
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(statusJSON{Report: st, Backups: view.BackupJSON(backups, time.Now())}); err != nil {
			return c.fail("status", err)
		}
	} else {
		view.Status(c.stdout, st)
		if backups != nil {
			view.BackupSummary(c.stdout, *backups, time.Now())
		}
		if s.RotatingCA() {
			if step, err := s.NextCAStep(l, time.Now()); err == nil {
				fmt.Fprintf(c.stdout, "Certificate authority: a rotation is under way; `pghac secrets rotate ca` takes its %s.\n", step)
			}
		}
	}
	if !st.Healthy || (backups != nil && len(backups.Problems()) > 0) {
		return exitRuntime
	}
	return exitOK
}

// statusJSON is status --json: the health report, and the backups' state when the cluster
// has backups and a leader to ask.
type statusJSON struct {
	health.Report
	Backups *view.BackupStatus `json:"backups,omitempty"`
}

// loadQuiet compiles the cluster file for s's target, printing diagnostics only when it has
// errors (status and env read an existing cluster; up and plan have shown the warnings).
func (c *cli) loadQuiet(cmd string, s site.Site) (*model.Cluster, int, bool) {
	l, code, ok := c.load(cmd, s.File, s.Target, false)
	if !ok {
		return nil, code, false
	}
	return l.cluster, exitOK, true
}

// hasLeader reports whether st has a leader, which backups are asked on.
func hasLeader(st health.Report) bool {
	for _, m := range st.Members {
		if m.Role == patroni.RoleLeader {
			return true
		}
	}
	return false
}
