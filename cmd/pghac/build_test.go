package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/view"
)

// tree is a snapshot of a directory: every entry's relative path, with the bytes and mode of
// files ("dir" for directories).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := e.Info()
		if err != nil {
			return err
		}
		if e.IsDir() {
			out[rel] = "dir " + info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = info.Mode().String() + "\n" + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// setup writes the repository's cluster.hcl into a temporary directory and builds it there.
func setup(t *testing.T) (file, out, target string) {
	t.Helper()
	dir := t.TempDir()
	file = writeFile(t, dir, "cluster.hcl", rootCluster(t))
	out = filepath.Join(dir, "deploy")
	code, stdout, stderr := pghac(t, "", "build", "-f", file, "-o", out)
	if code != exitOK {
		t.Fatalf("build: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	return file, out, filepath.Join(out, string(model.TargetYandex))
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	out := filepath.Join(dir, "deploy")
	target := filepath.Join(out, "yandex")

	code, stdout, stderr := pghac(t, "", "build", "-f", file, "-o", out)
	if code != exitOK || stderr != "" {
		t.Fatalf("build: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	got := tree(t, target)
	var nfiles int
	for p, v := range got {
		if !strings.HasPrefix(v, "dir ") {
			nfiles++
			if strings.HasPrefix(filepath.Base(p), ".") {
				t.Errorf("hidden file %s left in the output", p)
			}
		}
	}
	if nfiles == 0 {
		t.Fatal("build wrote no files")
	}
	first := strings.SplitN(stdout, "\n", 2)[0]
	if want := fmt.Sprintf("%s: %d files (%d added, 0 changed, 0 removed)", target, nfiles, nfiles); first != want {
		t.Errorf("summary line %q, want %q", first, want)
	}
	for _, want := range []string{"\n  nodes/node0/ ", "\n  nodes/node1/ ", "\n  nodes/node2/ "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 || entries[0].Name() != "yandex" {
		t.Errorf("output directory holds %v, want only yandex", entries)
	}

	// Building again changes nothing and says so.
	code, stdout, _ = pghac(t, "", "build", "-f", file, "-o", out)
	if code != exitOK || !strings.HasPrefix(stdout, target+": "+view.Plural(nfiles, "file")+" (unchanged)\n") {
		t.Errorf("rebuild: exit %d\n%s", code, stdout)
	}
	if diff := cmp.Diff(got, tree(t, target)); diff != "" {
		t.Errorf("rebuild changed the tree (-before +after):\n%s", diff)
	}

	// A file no longer generated is removed; a changed one is rewritten.
	writeFile(t, target, "old.tf", []byte("# gone\n"))
	some := firstFile(t, target)
	writeFile(t, target, some, []byte("edited\n"))
	code, stdout, _ = pghac(t, "", "build", "-f", file, "-o", out)
	if code != exitOK || !strings.Contains(stdout, "(0 added, 1 changed, 1 removed)\n") {
		t.Errorf("build over an edited tree: exit %d\n%s", code, stdout)
	}
	if diff := cmp.Diff(got, tree(t, target)); diff != "" {
		t.Errorf("build did not restore the tree (-want +got):\n%s", diff)
	}
}

// firstFile returns the relative path of the first regular file under dir.
func firstFile(t *testing.T, dir string) string {
	t.Helper()
	var found string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && found == "" {
			found, _ = filepath.Rel(dir, p)
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no file under %s", dir)
	}
	return found
}

func TestBuildCheck(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, target string) string // returns the path it made differ
		label  string
	}{
		{name: "clean"},
		{name: "stale", label: "stale", change: func(t *testing.T, target string) string {
			p := firstFile(t, target)
			writeFile(t, target, p, []byte("edited\n"))
			return p
		}},
		{name: "mode", label: "stale", change: func(t *testing.T, target string) string {
			p := firstFile(t, target)
			st, _ := os.Stat(filepath.Join(target, p))
			if err := os.Chmod(filepath.Join(target, p), st.Mode()^0o111); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "missing", label: "missing", change: func(t *testing.T, target string) string {
			p := firstFile(t, target)
			if err := os.Remove(filepath.Join(target, p)); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "extra", label: "extra", change: func(t *testing.T, target string) string {
			if err := os.MkdirAll(filepath.Join(target, "nodes", "node9"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, target, "nodes/node9/user-data.yaml", []byte("#cloud-config\n"))
			return "nodes/node9/user-data.yaml"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, out, target := setup(t)
			var changed string
			if tt.change != nil {
				changed = tt.change(t, target)
			}
			before := tree(t, filepath.Dir(target))
			code, stdout, stderr := pghac(t, "", "build", "--check", "-f", file, "-o", out)
			if diff := cmp.Diff(before, tree(t, filepath.Dir(target))); diff != "" {
				t.Errorf("build --check changed files (-before +after):\n%s", diff)
			}
			if tt.change == nil {
				if code != exitOK || !strings.HasPrefix(stdout, target+": up to date (") || stderr != "" {
					t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
				return
			}
			want := target + ": not up to date with " + file + " (1 file differ)\n" +
				"  " + tt.label + strings.Repeat(" ", 9-len(tt.label)) + filepath.ToSlash(changed) + "\n" +
				"run `pghac build` to regenerate it\n"
			if code != exitInvalid || stdout != "" || stderr != want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr (-want +got):\n%s", code, exitInvalid, stdout, cmp.Diff(want, stderr))
			}
		})
	}
}

func TestBuildCheckNothingBuilt(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	out := filepath.Join(dir, "deploy")
	code, _, stderr := pghac(t, "", "build", "--check", "-f", file, "-o", out)
	if code != exitInvalid || !strings.Contains(stderr, "\n  missing  ") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("build --check created %s: %v", out, err)
	}
}

// TestBuildAtomic checks that a build that fails leaves the previous tree as it was.
func TestBuildAtomic(t *testing.T) {
	file, out, _ := setup(t)
	before := tree(t, out)

	t.Run("invalid", func(t *testing.T) {
		writeFile(t, filepath.Dir(file), "cluster.hcl", []byte(syntaxError))
		code, stdout, stderr := pghac(t, "", "build", "-f", file, "-o", out)
		if code != exitInvalid || stdout != "" || !strings.Contains(stderr, "Error: ") {
			t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInvalid, stdout, stderr)
		}
		if diff := cmp.Diff(before, tree(t, out)); diff != "" {
			t.Errorf("failed build changed the output (-before +after):\n%s", diff)
		}
	})
	writeFile(t, filepath.Dir(file), "cluster.hcl", rootCluster(t))

	for name, fn := range map[string]func(*model.Cluster) (*artifact.Set, error){
		"error": func(*model.Cluster) (*artifact.Set, error) { return nil, errors.New("patroni: boom") },
		"panic": func(*model.Cluster) (*artifact.Set, error) { panic("boom") },
		"nil":   func(*model.Cluster) (*artifact.Set, error) { return nil, nil },
		"emit.Error": func(*model.Cluster) (*artifact.Set, error) {
			return nil, &emit.Error{Family: "patroni", Path: "nodes/node0", Err: errors.New("boom")}
		},
	} {
		t.Run("emit "+name, func(t *testing.T) {
			old := provision.EmitBuild
			provision.EmitBuild = fn
			t.Cleanup(func() { provision.EmitBuild = old })
			code, stdout, stderr := pghac(t, "", "build", "-f", file, "-o", out)
			if code != exitInternal || stdout != "" || !strings.HasPrefix(stderr, "pghac build: internal error") ||
				strings.Count(stderr, "(a pghac bug)") != 1 {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInternal, stdout, stderr)
			}
			if diff := cmp.Diff(before, tree(t, out)); diff != "" {
				t.Errorf("failed build changed the output (-before +after):\n%s", diff)
			}
		})
	}
}
