package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/pghac/pghac/internal/rollout"
)

// Live writes what a change does to the running cluster: per node the files that differ,
// with their diffs (secrets as placeholders) and the reloads and restarts they need; the
// dynamic configuration's settings that change; the nodes that could not be asked.
//
//	Live changes (sandbox): 3 nodes, 1 setting
//	  node0: 2 files: reload patroni, reload pgbouncer
//	    changed  /etc/pgbouncer/pgbouncer.ini
//	  dynamic configuration (PostgreSQL restarts, one node at a time):
//	    postgresql.parameters.max_connections: 220 -> 120
func Live(w io.Writer, title string, l rollout.Live, color bool) {
	if l.Empty() {
		fmt.Fprintf(w, "%s: none; the running cluster is what the generated tree says.\n", Ansi(color, "1", title))
		return
	}
	changed := 0
	for _, n := range l.Nodes {
		if len(n.Files) > 0 {
			changed++
		}
	}
	fmt.Fprintf(w, "%s: %s, %s\n", Ansi(color, "1", title), Plural(changed, "node"), Plural(len(l.Settings), "setting"))
	for _, n := range l.Nodes {
		if n.Err != nil {
			fmt.Fprintln(w, Ansi(color, "1;31", fmt.Sprintf("  %s: cannot be reached: %v", n.Node, n.Err)))
			continue
		}
		if len(n.Files) == 0 {
			continue
		}
		actions := make([]string, 0)
		for _, a := range n.Actions() {
			actions = append(actions, string(a))
		}
		then := "no reload needed"
		if len(actions) > 0 {
			then = strings.Join(actions, ", ")
		}
		fmt.Fprintf(w, "  %s: %s: %s\n", n.Node, Plural(len(n.Files), "file"), then)
		for _, f := range n.Files {
			fmt.Fprintf(w, "    %-8s %s\n", f.Kind, f.Path)
		}
	}
	for _, u := range l.Unsafe {
		fmt.Fprintln(w, Ansi(color, "1;31", "  !!! cannot be rolled out: "+u))
	}
	if l.PostBootstrap != nil {
		fmt.Fprintf(w, "  roles and databases: post-bootstrap.sh runs through the leader first (creates what is missing, sets passwords)\n")
	}
	if len(l.Settings) > 0 {
		how := "applied by Patroni on every node, no restart"
		if l.Restart {
			how = "PostgreSQL restarts, one node at a time"
		}
		fmt.Fprintf(w, "  dynamic configuration (%s):\n", how)
		for _, s := range l.Settings {
			fmt.Fprintf(w, "    %s: %s -> %s\n", s.Key, settingText(s.Have), settingText(s.Want))
		}
	}
	for _, n := range l.Nodes {
		for _, f := range n.Files {
			if f.Diff != "" {
				fmt.Fprintln(w)
				writeDiff(w, f.Diff, color)
			}
		}
	}
}

func settingText(v any) string {
	if v == nil {
		return "(unset)"
	}
	return rollout.ScalarText(v)
}
