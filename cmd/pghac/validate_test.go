package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syntaxError is a cluster file every schema rejects: the block is never closed.
const syntaxError = "cluster \"main\" {\n  network {\n  }\n"

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	valid := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	invalid := writeFile(t, dir, "broken.hcl", []byte(syntaxError))

	t.Run("valid", func(t *testing.T) {
		code, stdout, stderr := pghac(t, "", "validate", "-f", valid)
		if code != exitOK || stdout != valid+": valid (3 nodes, 0 warnings)\n" || stderr != "" {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		code, stdout, stderr := pghac(t, string(rootCluster(t)), "validate", "-f", "-", "--strict")
		if code != exitOK || stdout != "<stdin>: valid (3 nodes, 0 warnings)\n" {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		code, stdout, stderr := pghac(t, "", "validate", "-f", invalid)
		if code != exitInvalid || stdout != "" {
			t.Errorf("exit %d, want %d\nstdout:\n%s", code, exitInvalid, stdout)
		}
		// file:line and the source snippet: the files map reached the writer.
		for _, want := range []string{"Error: ", "  on " + invalid + " line 1", `   1: cluster "main" {`, invalid + ": invalid (1 error, 0 warnings)\n"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if strings.Contains(stderr, "\x1b[") {
			t.Errorf("colour written to a non-terminal:\n%q", stderr)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		code, _, stderr := pghac(t, "", "validate", "-f", filepath.Join(dir, "nope.hcl"))
		if code != exitInvalid || !strings.Contains(stderr, "no such file") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

func TestValidateColor(t *testing.T) {
	invalid := writeFile(t, t.TempDir(), "broken.hcl", []byte(syntaxError))
	tests := []struct {
		args    []string
		noColor string
		want    bool
	}{
		{args: []string{"validate"}, want: false}, // auto: a buffer is no terminal
		{args: []string{"validate", "--color=always"}, want: true},
		{args: []string{"--color=always", "validate"}, want: true},
		{args: []string{"--color=always", "validate", "--color=never"}, want: false},
		{args: []string{"validate", "--color=always"}, noColor: "1", want: true}, // a flag beats NO_COLOR
		{args: []string{"validate", "--color=never"}, want: false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" NO_COLOR="+tt.noColor, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			code, _, stderr := pghac(t, "", append(tt.args, "-f", invalid)...)
			if code != exitInvalid {
				t.Fatalf("exit %d, want %d\n%s", code, exitInvalid, stderr)
			}
			if got := strings.Contains(stderr, "\x1b[31m"); got != tt.want {
				t.Errorf("colour %v, want %v:\n%q", got, tt.want, stderr)
			}
		})
	}
}

func TestColorAuto(t *testing.T) {
	for _, tt := range []struct {
		tty, noColor, want bool
	}{{true, false, true}, {true, true, false}, {false, false, false}} {
		c := &cli{colorMode: "auto", tty: tt.tty, noColor: tt.noColor}
		if got := c.color(); got != tt.want {
			t.Errorf("auto with tty=%v NO_COLOR=%v: colour %v, want %v", tt.tty, tt.noColor, got, tt.want)
		}
	}
}

// goldenCases returns the golden fixture directories whose cluster.hcl contains marker.
func goldenCases(t *testing.T, marker string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "golden", "testdata", "*", "cluster.hcl"))
	var dirs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	return dirs
}

// TestValidateMatchesGolden checks that the CLI prints exactly the diagnostics the golden
// tests keep in want/diagnostics.txt, so those files show what users see.
func TestValidateMatchesGolden(t *testing.T) {
	dirs := goldenCases(t, "# ERROR: ")
	if len(dirs) == 0 {
		t.Skip("no invalid golden cases yet")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "want", "diagnostics.txt"))
			if err != nil {
				t.Skipf("no want/diagnostics.txt (run: make golden): %v", err)
			}
			t.Chdir(dir)
			code, _, stderr := pghac(t, "", "validate", "--color=never")
			if code != exitInvalid {
				t.Errorf("exit %d, want %d", code, exitInvalid)
			}
			// The golden file holds the diagnostics with one final newline; the CLI follows
			// them with a blank line and a summary.
			got := stderr
			if i := strings.LastIndex(got, "cluster.hcl: invalid ("); i >= 0 {
				got = strings.TrimRight(got[:i], "\n") + "\n"
			}
			if got != string(want) {
				t.Errorf("validate prints other diagnostics than want/diagnostics.txt\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestValidateStrict(t *testing.T) {
	var dirs []string
	for _, d := range goldenCases(t, "# WARNING: ") {
		b, _ := os.ReadFile(filepath.Join(d, "cluster.hcl"))
		if !bytes.Contains(b, []byte("# ERROR: ")) {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		t.Skip("no golden case with warnings only yet")
	}
	file := filepath.Join(dirs[0], "cluster.hcl")
	code, stdout, stderr := pghac(t, "", "validate", "-f", file)
	if code != exitOK || !strings.Contains(stderr, "Warning: ") || !strings.Contains(stdout, ": valid (") {
		t.Errorf("without --strict: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = pghac(t, "", "validate", "--strict", "-f", file)
	if code != exitInvalid || !strings.Contains(stderr, "fatal with --strict") || stdout != "" {
		t.Errorf("with --strict: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out := t.TempDir()
	if code, _, stderr := pghac(t, "", "build", "--strict", "-f", file, "-o", out); code != exitInvalid {
		t.Errorf("build --strict: exit %d\n%s", code, stderr)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("build --strict with warnings wrote %v", entries)
	}
}

func TestValidateExplain(t *testing.T) {
	src, err := os.ReadFile("../../golden/testdata/custom-params/cluster.hcl")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pghac(t, string(src), "validate", "-f", "-", "--explain")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"  ttl: 20\n",                                // a Patroni default
		"  pool_mode: transaction\n",                 // set in the file
		"    - work_mem = 64MB  (cluster.hcl)\n",     // a user parameter, marked
		"    - shared_buffers = 2048MB  (derived)\n", // derived from 8 GB
		"  check_inter: 1s\n",
		"  heartbeat_interval: 50ms\n",
		"  election_timeout: 500ms\n",
		"<stdin>: valid (3 nodes, 1 warning)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--explain output lacks %q:\n%s", want, stdout)
		}
	}
}
