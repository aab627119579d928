package artifact

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// File is one generated file of a deploy tree.
type File struct {
	// Path is slash-separated and relative to the target's directory, e.g. "nodes/node0/user-data.yaml".
	Path  string
	Mode  fs.FileMode
	Bytes []byte
	// Wire marks bytes in a wire format with CRLF line ends (raw HTTP requests in load-test
	// ammo): they keep them, and need only a final newline.
	Wire bool
}

// NodeFile is a file that cloud-init writes on a node: an absolute path there, its owner
// ("user:group") and mode.
type NodeFile struct {
	Path  string
	Owner string
	Mode  fs.FileMode
	Bytes []byte
}

// NodePart is what one emitter family contributes to a node: the files it writes there and its
// steps of the node's boot sequence. The node's user-data writes every family's Files, then
// every family's BootFiles, and runs every family's Boot lines, each in the families' order.
type NodePart struct {
	// Files are the family's configuration files; the deploy tree also shows each one on its own.
	Files []NodeFile
	// BootFiles are written by the user-data only, after every family's Files: tools that the
	// Boot lines run, like Patroni's etcd3 fix script, rather than configuration to review.
	BootFiles []NodeFile
	// Boot are runcmd lines, one shell line each, that patch, enable and start the family's
	// services once the packages are installed and the files written.
	Boot []string
}

// Set is a set of files sorted by path. The zero value is empty and ready to use.
type Set struct {
	files []File
}

// Add adds f, rejecting a path that is not clean and relative, or that is already in the set
// (both mean an emitter bug). Bytes are checked for the conventions every artifact follows:
// LF line endings and exactly one final newline.
func (s *Set) Add(f File) error {
	if err := checkPath(f.Path); err != nil {
		return err
	}
	if err := checkBytes(f.Bytes, f.Wire); err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	i := sort.Search(len(s.files), func(i int) bool { return s.files[i].Path >= f.Path })
	if i < len(s.files) && s.files[i].Path == f.Path {
		return fmt.Errorf("%s: emitted twice", f.Path)
	}
	s.files = append(s.files, File{})
	copy(s.files[i+1:], s.files[i:])
	s.files[i] = f
	return nil
}

// Files returns the files in path order. The slice must not be modified.
func (s *Set) Files() []File { return s.files }

// Len is the number of files.
func (s *Set) Len() int { return len(s.files) }

// Get returns the file at p.
func (s *Set) Get(p string) (File, bool) {
	i := sort.Search(len(s.files), func(i int) bool { return s.files[i].Path >= p })
	if i < len(s.files) && s.files[i].Path == p {
		return s.files[i], true
	}
	return File{}, false
}

// Paths returns every path, sorted.
func (s *Set) Paths() []string {
	out := make([]string, len(s.files))
	for i, f := range s.files {
		out[i] = f.Path
	}
	return out
}

func checkPath(p string) error {
	switch {
	case p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`):
		return fmt.Errorf("invalid artifact path %q: want a relative slash path", p)
	case path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("invalid artifact path %q: not clean", p)
	}
	for _, part := range strings.Split(p, "/") {
		if strings.HasPrefix(part, ".") {
			// Dot names are reserved for WriteDir's temporary and backup directories.
			return fmt.Errorf("invalid artifact path %q: hidden names are reserved", p)
		}
	}
	return nil
}

func checkBytes(b []byte, wire bool) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("empty file")
	case wire:
		if b[len(b)-1] != '\n' {
			return fmt.Errorf("want a final newline")
		}
		return nil
	case bytes.Contains(b, []byte("\r")):
		return fmt.Errorf("carriage return in output")
	case b[len(b)-1] != '\n' || bytes.HasSuffix(b, []byte("\n\n")):
		return fmt.Errorf("want exactly one final newline")
	}
	return nil
}
