package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/pghac/pghac/emit/artifact"
)

// fileChange is one generated file that differs from what is on disk.
type fileChange struct {
	path     string // relative to the tree
	kind     string // changed, added, removed
	diff     string // unified diff
	ins, del int    // lines inserted and deleted
}

// fileChanges computes how set differs from the tree in dir, given their drift.
func fileChanges(dir string, set *artifact.Set, d artifact.Drift) ([]fileChange, error) {
	var out []fileChange
	read := func(p string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		return string(b), err
	}
	add := func(p, kind, old, new string) error {
		fc := fileChange{path: p, kind: kind}
		label := path.Join(filepath.ToSlash(dir), p)
		oldLabel, newLabel := path.Join("a", label), path.Join("b", label)
		switch kind {
		case "added":
			oldLabel = "/dev/null"
		case "removed":
			newLabel = "/dev/null"
		}
		u, err := udiff.ToUnifiedDiff(oldLabel, newLabel, old, udiff.Lines(old, new), udiff.DefaultContextLines)
		if err != nil {
			return fmt.Errorf("diff %s: %w", p, err)
		}
		for _, h := range u.Hunks {
			for _, l := range h.Lines {
				switch l.Kind {
				case udiff.Insert:
					fc.ins++
				case udiff.Delete:
					fc.del++
				}
			}
		}
		fc.diff = u.String()
		out = append(out, fc)
		return nil
	}
	for _, p := range d.Stale {
		old, err := read(p)
		if err != nil {
			return nil, err
		}
		f, _ := set.Get(p)
		if err := add(p, "changed", old, string(f.Bytes)); err != nil {
			return nil, err
		}
	}
	for _, p := range d.Missing {
		f, _ := set.Get(p)
		if err := add(p, "added", "", string(f.Bytes)); err != nil {
			return nil, err
		}
	}
	for _, p := range d.Extra {
		old, err := read(p)
		if err != nil {
			return nil, err
		}
		if err := add(p, "removed", old, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

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
	changes, err := fileChanges(dir, set, d)
	if err != nil {
		return err
	}
	unchanged := set.Len() - len(d.Stale) - len(d.Missing)
	fmt.Fprintf(w, "%s: %d changed, %d added, %d removed, %d unchanged\n", title,
		len(d.Stale), len(d.Missing), len(d.Extra), unchanged)
	width := 0
	for _, fc := range changes {
		width = max(width, len(fc.path))
	}
	for _, fc := range changes {
		var counts []string
		if fc.ins > 0 {
			counts = append(counts, ansi(color, "32", fmt.Sprintf("+%d", fc.ins)))
		}
		if fc.del > 0 {
			counts = append(counts, ansi(color, "31", fmt.Sprintf("-%d", fc.del)))
		}
		fmt.Fprintf(w, "  %-8s %-*s  %s\n", fc.kind, width, fc.path, strings.Join(counts, " "))
	}
	for _, fc := range changes {
		fmt.Fprintln(w)
		writeDiff(w, fc.diff, color)
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
