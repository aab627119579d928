package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

const unformatted = "cluster \"main\" {\nnode \"node0\" {\n  zone=\"ru-central1-a\"\n      address = \"10.128.0.16\"\n}\n}\n"

const formatted = "cluster \"main\" {\n  node \"node0\" {\n    zone    = \"ru-central1-a\"\n    address = \"10.128.0.16\"\n  }\n}\n"

func TestFmt(t *testing.T) {
	if got := string(hclwrite.Format([]byte(unformatted))); got != formatted {
		t.Fatalf("fixture: hclwrite.Format gives\n%s", got)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "cluster.hcl")
	if err := os.WriteFile(file, []byte(unformatted), 0o600); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := pghac(t, "", "fmt", "--check", "-f", file)
	if code != exitInvalid || stdout != "" || stderr != file+": not formatted; run `pghac fmt`\n" {
		t.Errorf("fmt --check: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	assertFile(t, file, unformatted, 0o600)

	code, stdout, stderr = pghac(t, "", "fmt", "-f", file)
	if code != exitOK || stdout != file+"\n" || stderr != "" {
		t.Errorf("fmt: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	assertFile(t, file, formatted, 0o600) // the mode is kept
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("fmt left files behind: %v", entries)
	}

	for _, args := range [][]string{{"fmt", "--check"}, {"fmt"}} {
		code, stdout, stderr = pghac(t, "", append(args, "-f", file)...)
		if code != exitOK || stdout != "" || stderr != "" {
			t.Errorf("%v on a formatted file: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
}

func TestFmtSyntaxError(t *testing.T) {
	file := writeFile(t, t.TempDir(), "cluster.hcl", []byte(syntaxError))
	for _, args := range [][]string{{"fmt"}, {"fmt", "--check"}} {
		code, stdout, stderr := pghac(t, "", append(args, "-f", file)...)
		if code != exitInvalid || stdout != "" || !strings.Contains(stderr, "Error: ") || !strings.Contains(stderr, "  on "+file+" line 1") {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
		assertFile(t, file, syntaxError, 0o644)
	}
}

func TestFmtStdin(t *testing.T) {
	code, stdout, stderr := pghac(t, unformatted, "fmt", "-f", "-")
	if code != exitOK || stdout != formatted || stderr != "" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = pghac(t, unformatted, "fmt", "--check", "-f", "-")
	if code != exitInvalid || stdout != "" || !strings.HasPrefix(stderr, "<stdin>: not formatted") {
		t.Errorf("--check: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestFmtSymlink(t *testing.T) {
	dir := t.TempDir()
	real := writeFile(t, dir, "real.hcl", []byte(unformatted))
	link := filepath.Join(dir, "cluster.hcl")
	if err := os.Symlink("real.hcl", link); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := pghac(t, "", "fmt", "-f", link); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi, err)
	}
	assertFile(t, real, formatted, 0o644)
}

func TestFmtMissing(t *testing.T) {
	code, _, stderr := pghac(t, "", "fmt", "-f", filepath.Join(t.TempDir(), "nope.hcl"))
	if code != exitInvalid || !strings.Contains(stderr, "no such file") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

func assertFile(t *testing.T, name, want string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("%s holds\n%s\nwant\n%s", name, b, want)
	}
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want %v", name, st.Mode().Perm(), mode)
	}
}
