package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pghac runs the CLI with stdin and returns its exit code and output.
func pghac(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// rootCluster is the repository's own cluster.hcl, the one valid file every version of the
// schema must accept.
func rootCluster(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "cluster.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring; "" means stdout must be empty
		stderr   string // substring; "" means stderr must be empty
		noStdout bool
	}{
		{name: "no command", args: nil, code: exitUsage, stderr: "pghac: no command given"},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, stderr: `unknown command "frobnicate"`},
		{name: "unknown global flag", args: []string{"--nope", "validate"}, code: exitUsage, stderr: "unknown flag: --nope"},
		{name: "unknown command flag", args: []string{"build", "--nope"}, code: exitUsage, stderr: "Usage: pghac build"},
		{name: "extra argument", args: []string{"validate", "cluster.hcl"}, code: exitUsage, stderr: `unexpected argument "cluster.hcl"`},
		{name: "bad colour", args: []string{"--color", "sometimes", "version"}, code: exitUsage, stderr: `invalid --color "sometimes"`},
		{name: "bad command colour", args: []string{"version", "--color=pink"}, code: exitUsage, stderr: `invalid --color "pink"`},
		{name: "unknown target", args: []string{"validate", "--target", "aws"}, code: exitUsage, stderr: `unknown --target "aws": want one of yandex`},
		{name: "unknown build target", args: []string{"build", "--target=aws", "--check"}, code: exitUsage, stderr: "Usage: pghac build"},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "Commands:\n  validate"},
		{name: "--help", args: []string{"--help"}, code: exitOK, stdout: "Exit codes: 0 ok"},
		{name: "-h", args: []string{"-h"}, code: exitOK, stdout: "Usage: pghac [--color"},
		{name: "help build", args: []string{"help", "build"}, code: exitOK, stdout: "Usage: pghac build"},
		{name: "build --help", args: []string{"build", "--help"}, code: exitOK, stdout: "  -o, --out DIR"},
		{name: "fmt -h", args: []string{"fmt", "-h"}, code: exitOK, stdout: "      --check "},
		{name: "validate -h", args: []string{"--color=never", "validate", "-h"}, code: exitOK, stdout: "      --strict "},
		{name: "help unknown", args: []string{"help", "nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{name: "help too many", args: []string{"help", "build", "fmt"}, code: exitUsage, stderr: `unexpected argument "fmt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pghac(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, s := range []struct{ name, got, want string }{{"stdout", stdout, tt.stdout}, {"stderr", stderr, tt.stderr}} {
				if s.want == "" && s.got != "" {
					t.Errorf("%s not empty:\n%s", s.name, s.got)
				}
				if !strings.Contains(s.got, s.want) {
					t.Errorf("%s does not contain %q:\n%s", s.name, s.want, s.got)
				}
			}
			if tt.code == exitUsage && !strings.Contains(stderr, "Usage: pghac") {
				t.Errorf("usage error without usage:\n%s", stderr)
			}
		})
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	_, stdout, _ := pghac(t, "", "help")
	for _, cmd := range commands {
		if !strings.Contains(stdout, "\n  "+cmd.name+" ") {
			t.Errorf("help does not list %q:\n%s", cmd.name, stdout)
		}
		code, out, errOut := pghac(t, "", "help", cmd.name)
		if code != exitOK || !strings.HasPrefix(out, "Usage: pghac "+cmd.name) || errOut != "" {
			t.Errorf("help %s: exit %d\nstdout:\n%s\nstderr:\n%s", cmd.name, code, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := pghac(t, "", "version")
	// A test binary has no module version.
	if code != exitOK || stdout != "pghac dev\n" {
		t.Errorf("version: exit %d, stdout %q; want 0, %q", code, stdout, "pghac dev\n")
	}
	old := version
	version = "v1.2.3"
	t.Cleanup(func() { version = old })
	if _, stdout, _ := pghac(t, "", "version"); stdout != "pghac v1.2.3\n" {
		t.Errorf("version with -ldflags: stdout %q", stdout)
	}
}
