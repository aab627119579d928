package view

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/pghac/pghac/emit/artifact"
)

// FileChanges writes which generated files change, one line each, then their unified diffs
// (coloured when color is set). A tree that did not exist yet gets the line count only: a
// diff of everything against nothing helps nobody.
//
//	Generated files (deploy/yandex): 1 changed, 1 added, 0 removed, 39 unchanged
//	  changed  nodes/node0/user-data.yaml  +3 -1
//	  added    nlb.tf                      +40
func FileChanges(w io.Writer, dir string, set *artifact.Set, d artifact.Drift, color bool) error {
	title := Ansi(color, "1", fmt.Sprintf("Generated files (%s)", dir))
	if d.Clean() {
		fmt.Fprintf(w, "%s: unchanged (%s)\n", title, Plural(set.Len(), "file"))
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "%s: new, %s\n", title, Plural(set.Len(), "file"))
		return nil
	}
	changes, err := artifact.Diffs(dir, set, d)
	if err != nil {
		return err
	}
	unchanged := set.Len() - len(d.Stale) - len(d.Missing)
	fmt.Fprintf(w, "%s: %d changed, %d added, %d removed, %d unchanged\n", title,
		len(d.Stale), len(d.Missing), len(d.Extra), unchanged)
	width := 0
	for _, fc := range changes {
		width = max(width, len(fc.Path))
	}
	for _, fc := range changes {
		var counts []string
		if fc.Ins > 0 {
			counts = append(counts, Ansi(color, "32", fmt.Sprintf("+%d", fc.Ins)))
		}
		if fc.Del > 0 {
			counts = append(counts, Ansi(color, "31", fmt.Sprintf("-%d", fc.Del)))
		}
		fmt.Fprintf(w, "  %-8s %-*s  %s\n", fc.Kind, width, fc.Path, strings.Join(counts, " "))
	}
	for _, fc := range changes {
		fmt.Fprintln(w)
		writeDiff(w, fc.Diff, color)
	}
	return nil
}

// writeDiff writes a unified diff, colouring its lines like git does.
func writeDiff(w io.Writer, diff string, color bool) {
	if !color {
		io.WriteString(w, diff)
		return
	}
	for _, line := range strings.SplitAfter(diff, "\n") {
		if line == "" {
			continue
		}
		body := strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "--- "), strings.HasPrefix(line, "+++ "):
			body = Ansi(true, "1", body)
		case strings.HasPrefix(line, "@@"):
			body = Ansi(true, "36", body)
		case strings.HasPrefix(line, "+"):
			body = Ansi(true, "32", body)
		case strings.HasPrefix(line, "-"):
			body = Ansi(true, "31", body)
		}
		io.WriteString(w, body)
		if strings.HasSuffix(line, "\n") {
			io.WriteString(w, "\n")
		}
	}
}

// Written writes what build wrote: totals, what changed against the tree before, and the
// files per node (nodes/<name>/) and per other top-level directory.
//
//	deploy/yandex: 41 files (3 added, 2 changed, 1 removed)
//	  .             9 files
//	  loadtest/     3 files
//	  nodes/node0/ 13 files
func Written(w io.Writer, dir string, set *artifact.Set, d artifact.Drift) {
	changes := "unchanged"
	if !d.Clean() {
		changes = fmt.Sprintf("%d added, %d changed, %d removed", len(d.Missing), len(d.Stale), len(d.Extra))
	}
	fmt.Fprintf(w, "%s: %s (%s)\n", dir, Plural(set.Len(), "file"), changes)
	var groups []string
	counts := map[string]int{}
	width := 0
	for _, p := range set.Paths() {
		g := group(p)
		if counts[g] == 0 {
			groups = append(groups, g)
			width = max(width, len(g))
		}
		counts[g]++
	}
	sort.Strings(groups) // "." first
	for _, g := range groups {
		fmt.Fprintf(w, "  %-*s %s\n", width, g, Plural(counts[g], "file"))
	}
}

// group is the summary line a path is counted in: "nodes/<name>/", another top-level
// directory, or "." for top-level files.
func group(p string) string {
	parts := strings.SplitN(p, "/", 3)
	switch {
	case len(parts) == 1:
		return "."
	case parts[0] == "nodes" && len(parts) == 3:
		return "nodes/" + parts[1] + "/"
	}
	return parts[0] + "/"
}

// Drift writes to w which files of dir differ from set, for build --check.
func Drift(w io.Writer, dir, name string, d artifact.Drift) {
	n := len(d.Stale) + len(d.Missing) + len(d.Extra)
	fmt.Fprintf(w, "%s: not up to date with %s (%s differ)\n", dir, name, Plural(n, "file"))
	for _, g := range []struct {
		label string
		paths []string
	}{{"stale", d.Stale}, {"missing", d.Missing}, {"extra", d.Extra}} {
		for _, p := range g.paths {
			fmt.Fprintf(w, "  %-8s %s\n", g.label, p)
		}
	}
}
