package artifact

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	udiff "github.com/aymanbagabas/go-udiff"
)

// FileDiff is how one file of a set differs from the tree on disk.
type FileDiff struct {
	Path     string // relative to the tree
	Kind     string // "changed", "added" or "removed"
	Diff     string // unified diff, labelled a/<dir>/<path> and b/<dir>/<path> like git's
	Ins, Del int    // lines inserted and deleted
}

// Diffs returns the unified diffs of d, the drift of set against the tree in dir: the stale
// files, then the missing (added) ones, then the extra (removed) ones.
func Diffs(dir string, set *Set, d Drift) ([]FileDiff, error) {
	var out []FileDiff
	read := func(p string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		return string(b), err
	}
	add := func(p, kind, old, new string) error {
		fd := FileDiff{Path: p, Kind: kind}
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
					fd.Ins++
				case udiff.Delete:
					fd.Del++
				}
			}
		}
		fd.Diff = u.String()
		out = append(out, fd)
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
