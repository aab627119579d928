package artifact

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// WriteDir makes dir hold exactly the files of s: new and changed files are written, files no
// longer generated are removed. The switch is atomic: the whole tree is written to a temporary
// sibling directory first and then exchanged with dir in one rename, so a failure at any point
// leaves the previous tree as it was and readers never see a mix of old and new files.
func WriteDir(dir string, s *Set) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer func() {
		// After a successful exchange tmp holds the old tree; either way it goes.
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for _, f := range s.files {
		if err := writeFile(filepath.Join(tmp, filepath.FromSlash(f.Path)), f); err != nil {
			return err
		}
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	switch _, statErr := os.Lstat(dir); {
	case errors.Is(statErr, fs.ErrNotExist):
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		return syncDir(parent)
	case statErr != nil:
		return statErr
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	return syncDir(parent)
}

func writeFile(name string, f File) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	fh, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.Mode.Perm())
	if err != nil {
		return err
	}
	if _, err := fh.Write(f.Bytes); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	// The umask may have narrowed the mode; the artifact's mode is part of its contract.
	return os.Chmod(name, f.Mode.Perm())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Drift is how a directory differs from a Set. Each list is sorted.
type Drift struct {
	Stale   []string // in both, with other bytes or executable bit
	Missing []string // in the set, not on disk
	Extra   []string // on disk, not in the set
}

// Clean reports whether the directory matches the set.
func (d Drift) Clean() bool { return len(d.Stale)+len(d.Missing)+len(d.Extra) == 0 }

// Compare reads dir and reports how it differs from s. A missing dir is not an error: every
// file of s is then missing.
func Compare(dir string, s *Set) (Drift, error) {
	var d Drift
	onDisk := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		onDisk[filepath.ToSlash(rel)] = true
		return nil
	})
	if err != nil {
		return d, err
	}
	for _, f := range s.files {
		if !onDisk[f.Path] {
			d.Missing = append(d.Missing, f.Path)
			continue
		}
		delete(onDisk, f.Path)
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		got, err := os.ReadFile(name)
		if err != nil {
			return d, err
		}
		st, err := os.Stat(name)
		if err != nil {
			return d, err
		}
		// Only the executable bit survives a git checkout, so only it counts as drift.
		if !bytes.Equal(got, f.Bytes) || st.Mode()&0o111 != f.Mode&0o111 {
			d.Stale = append(d.Stale, f.Path)
		}
	}
	for p := range onDisk {
		d.Extra = append(d.Extra, p)
	}
	sort.Strings(d.Extra)
	return d, nil
}
