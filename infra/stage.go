package infra

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Names of pghac's own files in a working directory.
const (
	planFile = "pghac.tfplan"
	metaFile = "pghac.tfplan.json"
)

// ownFile reports whether a top-level name in a working directory belongs to Terraform or to
// the Workdir rather than to the staged configuration: Stage keeps these, and a source tree
// must not contain them.
func ownFile(name string) bool {
	switch name {
	case ".terraform", ".terraform.lock.hcl", "terraform.tfstate.d", ".terraform.tfstate.lock.info",
		"crash.log", planFile, metaFile:
		return true
	}
	// terraform.tfstate, its .backup, errored.tfstate, timestamped backups.
	return strings.HasSuffix(name, ".tfstate") || strings.Contains(name, ".tfstate.")
}

// sourceFiles lists the regular files under src, relative and slash-separated, sorted. Symlinks
// and other special files are refused: a generated tree has none, and copying them would let
// the staged tree reach outside itself.
func sourceFiles(src string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src {
			if !e.IsDir() {
				return fmt.Errorf("%s is not a directory", src)
			}
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !strings.Contains(rel, "/") && ownFile(rel) {
			return fmt.Errorf("%s: %s is a name Terraform keeps its own data under; a configuration must not contain it", src, rel)
		}
		switch {
		case e.IsDir():
			return nil
		case !e.Type().IsRegular():
			return fmt.Errorf("%s: %s is not a regular file", src, rel)
		}
		files = append(files, rel)
		return nil
	})
	sort.Strings(files)
	return files, err
}

// stage makes dst hold the files of src (bytes and permissions), removing every other file and
// directory except Terraform's and the Workdir's own (ownFile).
func stage(src, dst string) error {
	files, err := sourceFiles(src)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(files))
	for _, rel := range files {
		want[rel] = true
		for d := filepath.ToSlash(filepath.Dir(rel)); d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
			want[d+"/"] = true
		}
		if err := makeDirs(dst, filepath.Dir(rel)); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(src, rel), filepath.Join(dst, rel)); err != nil {
			return err
		}
	}
	// Remove what the source no longer has. Walk bottom-up through a list so that removing a
	// directory does not disturb the walk.
	var stale []string
	err = filepath.WalkDir(dst, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dst {
			return nil
		}
		rel, _ := filepath.Rel(dst, p)
		rel = filepath.ToSlash(rel)
		if !strings.Contains(rel, "/") && ownFile(rel) {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		key := rel
		if e.IsDir() {
			key += "/"
		}
		if !want[key] {
			stale = append(stale, p)
			if e.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// makeDirs creates root/rel and its parents below root, replacing whatever non-directory is in
// the way (a file an earlier configuration had where this one has a directory).
func makeDirs(root, rel string) error {
	if rel == "." {
		return nil
	}
	p := root
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		if err == nil && st.IsDir() {
			continue
		}
		if err == nil {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src to dst with src's permissions, leaving dst alone when it is equal.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	perm := st.Mode().Perm()
	if cur, err := os.Lstat(dst); err == nil {
		if cur.Mode().IsRegular() {
			if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
				return os.Chmod(dst, perm)
			}
		}
		// A directory or symlink where a file goes: replace it.
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".stage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// HashTree returns a hex SHA-256 of the regular files under dir: their relative paths,
// executable bits and bytes. Other permission bits do not count, as a git checkout does not
// keep them either. A missing dir is an error.
func HashTree(dir string) (string, error) {
	files, err := sourceFiles(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, rel := range files {
		p := filepath.Join(dir, rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		exec := "-"
		if st.Mode()&0o111 != 0 {
			exec = "x"
		}
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00", rel, exec, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
