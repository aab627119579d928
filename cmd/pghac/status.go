package main

import (
	"encoding/json"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var statusCommand = &command{
	name:     "status",
	synopsis: "[-f cluster.hcl] [--state-dir DIR] [--json]",
	summary:  "show the sandbox cluster's members, roles, replication lag, etcd and HAProxy",
	detail: `Asks the sandbox's nodes how the cluster is: Patroni's REST API (/cluster) for every
member's role, state, timeline and replication lag, as 'patronictl list' shows
them; etcd's /health on every member; and each node's HAProxy statistics page,
whether it routes the primary port to the leader and the replica port to the
replicas. With --json the same as one JSON object.

Exits 0 when the cluster is healthy (one leader, every replica streaming with lag
0, etcd healthy, every HAProxy routing right), 4 otherwise.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, false)
		asJSON := fs.Bool("json", false, "print the status as JSON")
		return func(c *cli, _ []string) int {
			s, code, ok := c.sandboxSite("status", f)
			if !ok {
				return code
			}
			return c.status(s, *asJSON)
		}
	},
}

func (c *cli) status(s site.Site, asJSON bool) int {
	l, code, ok := c.loadQuiet("status", s.File)
	if !ok {
		return code
	}
	p, err := provision.Prober(s, l, l.HAProxy.ReplicaMaxLagBytes)
	if err != nil {
		return c.fail("status", err)
	}
	st := p.Observe(c.ctx)
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return c.fail("status", err)
		}
	} else {
		view.Status(c.stdout, st)
	}
	if !st.Healthy {
		return exitRuntime
	}
	return exitOK
}

// loadQuiet compiles the cluster file for the sandbox, printing diagnostics only when it has
// errors (status and env read an existing sandbox; up has shown the warnings).
func (c *cli) loadQuiet(cmd, file string) (*model.Cluster, int, bool) {
	l, code, ok := c.load(cmd, file, model.TargetSandbox, false)
	if !ok {
		return nil, code, false
	}
	return l.cluster, exitOK, true
}
