package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/site"
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
	st := health.NewProber(l, statsPassword(s), l.HAProxy.ReplicaMaxLagBytes).Observe(c.ctx)
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintf(c.stderr, "pghac status: %v\n", err)
			return exitRuntime
		}
	} else {
		printStatus(c.stdout, st)
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

// statsPassword is HAProxy's statistics password from the sandbox's secrets, "" when there are
// none (the HAProxy check is then skipped).
func statsPassword(s site.Site) string {
	vars, err := s.ReadSecrets()
	if err != nil {
		return ""
	}
	return vars[string(model.SecretStatsPassword)]
}

// printStatus writes st as a table like patronictl list's, then the verdict.
func printStatus(w io.Writer, st health.Report) {
	title := fmt.Sprintf("Cluster %s (%s", st.Cluster, st.Target)
	if st.Network != "" {
		title += ", " + st.Network
	}
	fmt.Fprintln(w, title+")")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "MEMBER\tADDRESS\tROLE\tSTATE\tTL\tLAG\tETCD\tHAPROXY"
	withBackend := len(st.Members) > 0 && st.Members[0].Backend != ""
	if withBackend {
		head += "\tBACKEND"
	}
	fmt.Fprintln(tw, head)
	for _, m := range st.Members {
		role := health.RoleText(m.Role)
		state, tl, lag := m.State, "", ""
		if state == "" {
			state = "-"
		}
		if m.Timeline > 0 {
			tl = strconv.Itoa(m.Timeline)
		}
		if m.State != "" && m.Role != patroni.RoleLeader {
			lag = "unknown"
			if m.LagBytes != nil {
				lag = strconv.FormatInt(*m.LagBytes, 10)
			}
		}
		haproxy := m.HAProxy
		if haproxy == "" {
			haproxy = "not checked"
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", m.Name, m.Address, dash(role), state, dash(tl), dash(lag), m.Etcd, haproxy)
		if withBackend {
			row += "\t" + m.Backend
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
	if st.Healthy {
		if withBackend {
			fmt.Fprintln(w, "Healthy: one leader, every replica streaming, etcd healthy, HAProxy routing and the backend ready on every node.")
		} else {
			fmt.Fprintln(w, "Healthy: one leader, every replica streaming, etcd healthy, HAProxy routing on every node.")
		}
		return
	}
	fmt.Fprintln(w, "Not healthy:")
	for _, p := range st.Problems {
		fmt.Fprintln(w, "  - "+strings.ReplaceAll(p, "\n", "\n    "))
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
