package infra

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func write(t *testing.T, root, rel, content string, perm fs.FileMode) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

// listTree maps every file under root to "mode content" and every directory to "dir".
func listTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if e.IsDir() {
			out[filepath.ToSlash(rel)] = "dir"
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = info.Mode().Perm().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStage(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write(t, src, "main.tf", "new main\n", 0o644)
	write(t, src, "nodes/node0/user-data.yaml", "node0\n", 0o644)
	write(t, src, "bin/run.sh", "#!/bin/sh\n", 0o755)

	// What an earlier stage and Terraform left behind.
	write(t, dst, "main.tf", "old main\n", 0o600)
	write(t, dst, "old.tf", "removed from the source\n", 0o644)
	write(t, dst, "nodes/node9/user-data.yaml", "gone node\n", 0o644)
	write(t, dst, "nodes/node0/stale.yaml", "stale\n", 0o644)
	write(t, dst, "bin", "a file where the source has a directory\n", 0o644)
	write(t, dst, ".terraform/providers/p", "provider\n", 0o755)
	write(t, dst, ".terraform.lock.hcl", "lock\n", 0o644)
	write(t, dst, "terraform.tfstate", "state\n", 0o600)
	write(t, dst, "terraform.tfstate.backup", "backup\n", 0o600)
	write(t, dst, "errored.tfstate", "errored\n", 0o600)
	write(t, dst, planFile, "plan\n", 0o600)
	write(t, dst, metaFile, "{}\n", 0o600)

	if err := stage(src, dst); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"main.tf":                    "-rw-r--r-- new main\n",
		"nodes":                      "dir",
		"nodes/node0":                "dir",
		"nodes/node0/user-data.yaml": "-rw-r--r-- node0\n",
		"bin":                        "dir",
		"bin/run.sh":                 "-rwxr-xr-x #!/bin/sh\n",
		".terraform":                 "dir",
		".terraform/providers":       "dir",
		".terraform/providers/p":     "-rwxr-xr-x provider\n",
		".terraform.lock.hcl":        "-rw-r--r-- lock\n",
		"terraform.tfstate":          "-rw------- state\n",
		"terraform.tfstate.backup":   "-rw------- backup\n",
		"errored.tfstate":            "-rw------- errored\n",
		planFile:                     "-rw------- plan\n",
		metaFile:                     "-rw------- {}\n",
	}
	if diff := cmp.Diff(want, listTree(t, dst)); diff != "" {
		t.Errorf("staged tree (-want +got):\n%s", diff)
	}

	// Staging again changes nothing.
	if err := stage(src, dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, listTree(t, dst)); diff != "" {
		t.Errorf("second stage (-want +got):\n%s", diff)
	}
}

func TestStageRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, src string)
		want  string
	}{
		{"state in source", func(t *testing.T, src string) { write(t, src, "terraform.tfstate", "{}\n", 0o644) }, "terraform.tfstate is a name Terraform keeps its own data under"},
		{".terraform in source", func(t *testing.T, src string) { write(t, src, ".terraform/x", "x\n", 0o644) }, ".terraform is a name"},
		{"symlink", func(t *testing.T, src string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(src, "link.tf")); err != nil {
				t.Fatal(err)
			}
		}, "link.tf is not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			write(t, src, "main.tf", "x\n", 0o644)
			tt.setup(t, src)
			err := stage(src, dst)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("stage error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if err := stage(filepath.Join(t.TempDir(), "missing"), t.TempDir()); err == nil {
		t.Error("staging a missing directory succeeded")
	}
}

func TestHashTree(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.tf", "a\n", 0o644)
	write(t, dir, "nodes/n/x", "b\n", 0o644)
	h0, err := HashTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	same := t.TempDir()
	write(t, same, "nodes/n/x", "b\n", 0o600) // only the executable bit counts
	write(t, same, "main.tf", "a\n", 0o644)
	if h, _ := HashTree(same); h != h0 {
		t.Errorf("equal trees hash differently")
	}
	for _, change := range []func(){
		func() { write(t, dir, "main.tf", "A\n", 0o644) },
		func() { write(t, dir, "main.tf", "a\n", 0o755) },
		func() { write(t, dir, "extra", "", 0o644) },
		func() { os.Rename(filepath.Join(dir, "extra"), filepath.Join(dir, "extra2")) },
	} {
		change()
		h, err := HashTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		if h == h0 {
			t.Errorf("hash did not change")
		}
		h0 = h
	}
}
