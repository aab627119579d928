package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/pghac/pghac/emit/artifact"
)

// printFileChanges prints which generated files change, one line each, then their unified
// diffs (coloured when color is set). A tree that did not exist yet gets the line count only:
// a diff of everything against nothing helps nobody.
//
//	Generated files (deploy/yandex): 1 changed, 1 added, 0 removed, 39 unchanged
//	  changed  nodes/node0/user-data.yaml  +3 -1
//	  added    nlb.tf                      +40
func printFileChanges(w io.Writer, dir string, set *artifact.Set, d artifact.Drift, color bool) error {
	title := ansi(color, "1", fmt.Sprintf("Generated files (%s)", dir))
	if d.Clean() {
		fmt.Fprintf(w, "%s: unchanged (%s)\n", title, plural(set.Len(), "file"))
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "%s: new, %s\n", title, plural(set.Len(), "file"))
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
			counts = append(counts, ansi(color, "32", fmt.Sprintf("+%d", fc.Ins)))
		}
		if fc.Del > 0 {
			counts = append(counts, ansi(color, "31", fmt.Sprintf("-%d", fc.Del)))
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
			body = ansi(true, "1", body)
		case strings.HasPrefix(line, "@@"):
			body = ansi(true, "36", body)
		case strings.HasPrefix(line, "+"):
			body = ansi(true, "32", body)
		case strings.HasPrefix(line, "-"):
			body = ansi(true, "31", body)
		}
		io.WriteString(w, body)
		if strings.HasSuffix(line, "\n") {
			io.WriteString(w, "\n")
		}
	}
}
