package artifact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func set(t *testing.T, files ...File) *Set {
	t.Helper()
	var s Set
	for _, f := range files {
		if err := s.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	return &s
}

func file(p, content string) File { return File{Path: p, Mode: 0o644, Bytes: []byte(content)} }

func TestSetSortsAndRejects(t *testing.T) {
	s := set(t, file("b/x", "1\n"), file("a", "2\n"), file("b/a", "3\n"))
	if diff := cmp.Diff([]string{"a", "b/a", "b/x"}, s.Paths()); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	for _, bad := range []File{
		file("a", "again\n"),       // duplicate
		file("/etc/passwd", "x\n"), // absolute
		file("a/../b", "x\n"),      // not clean
		file("../x", "x\n"),        // escapes
		file(".hidden", "x\n"),     // reserved
		file(`a\b`, "x\n"),         // backslash
		file("c", ""),              // empty
		file("d", "no newline"),    // no final newline
		file("e", "two\n\n"),       // two final newlines
		file("f", "crlf\r\n"),      // CR
	} {
		if err := s.Add(bad); err == nil {
			t.Errorf("Add(%q, %q) accepted a bad file", bad.Path, bad.Bytes)
		}
	}
	if got, ok := s.Get("b/a"); !ok || string(got.Bytes) != "3\n" {
		t.Errorf("Get(b/a) = %q, %v", got.Bytes, ok)
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteDirReplacesWholeTree(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "deploy", "yandex")
	if err := WriteDir(dir, set(t, file("old", "old\n"), file("keep/a", "1\n"))); err != nil {
		t.Fatal(err)
	}
	exe := File{Path: "keep/run.sh", Mode: 0o755, Bytes: []byte("#!/bin/sh\n")}
	if err := WriteDir(dir, set(t, file("keep/a", "2\n"), exe)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"keep/a": "2\n", "keep/run.sh": "#!/bin/sh\n"}
	if diff := cmp.Diff(want, readTree(t, dir)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	if st, _ := os.Stat(filepath.Join(dir, "keep/run.sh")); st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	// Nothing of the temporary or old trees is left beside the target.
	entries, _ := os.ReadDir(filepath.Join(root, "deploy"))
	if len(entries) != 1 {
		t.Errorf("leftovers beside the target: %v", entries)
	}
}

func TestWriteDirFailureLeavesPreviousTree(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "yandex")
	if err := WriteDir(dir, set(t, file("a", "1\n"))); err != nil {
		t.Fatal(err)
	}
	// A directory where a file must go makes the write fail half-way through.
	bad := set(t, file("b", "2\n"))
	bad.files = append(bad.files, File{Path: "b/c", Mode: 0o644, Bytes: []byte("x\n")})
	if err := WriteDir(dir, bad); err == nil {
		t.Fatal("WriteDir succeeded on a conflicting tree")
	}
	if diff := cmp.Diff(map[string]string{"a": "1\n"}, readTree(t, dir)); diff != "" {
		t.Errorf("previous tree changed (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("temporary tree left behind: %v", entries)
	}
}

func TestCompare(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "yandex")
	d, err := Compare(dir, set(t, file("a", "1\n")))
	if err != nil || !cmp.Equal(d.Missing, []string{"a"}) || d.Clean() {
		t.Fatalf("missing dir: %+v, %v", d, err)
	}
	if err := WriteDir(dir, set(t, file("a", "1\n"), file("b", "2\n"), file("x/extra", "3\n"))); err != nil {
		t.Fatal(err)
	}
	// Mode bits other than exec do not survive git, so they are not drift.
	if err := os.Chmod(filepath.Join(dir, "a"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := set(t, file("a", "1\n"), file("b", "changed\n"), file("c", "new\n"))
	d, err = Compare(dir, want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Drift{Stale: []string{"b"}, Missing: []string{"c"}, Extra: []string{"x/extra"}}, d); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	if err := os.Chmod(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, _ = Compare(dir, want)
	if !strings.Contains(strings.Join(d.Stale, ","), "a") {
		t.Errorf("a gained the exec bit but is not stale: %+v", d)
	}
}
