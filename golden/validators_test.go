package golden

import (
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/golden/realcheck"
)

// validators are the real programs that judge emitted files: each runs on every file whose
// path matches, after the file is rendered as a node would receive it.
var validators = []struct {
	bin   string // must be installed (make deps)
	match func(p string) bool
	check func(ctx context.Context, path string) error
}{
	{"patroni", func(p string) bool { return strings.HasSuffix(p, "/files/etc/patroni/config.yml") }, realcheck.Patroni},
	{"haproxy", func(p string) bool { return path.Base(p) == "haproxy.cfg" }, realcheck.HAProxy},
	{"cloud-init", func(p string) bool { return path.Base(p) == "user-data.yaml" }, realcheck.CloudInit},
}

// TestValidators runs patroni --validate-config, haproxy -c and cloud-init schema on the
// files of every valid case. A missing validator fails the test (CI installs them with make
// deps); PGHAC_SKIP_VALIDATORS=1 skips it on machines without them.
func TestValidators(t *testing.T) {
	if os.Getenv("PGHAC_SKIP_VALIDATORS") == "1" {
		t.Skip("PGHAC_SKIP_VALIDATORS=1")
	}
	for _, v := range validators {
		if _, err := exec.LookPath(v.bin); err != nil {
			t.Fatalf("%s is not installed: run `make deps` (or set PGHAC_SKIP_VALIDATORS=1 to skip): %v", v.bin, err)
		}
	}
	for _, c := range validCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // the validators are separate processes, mostly Python start-up
			for _, b := range buildValid(t, c) {
				dir := t.TempDir()
				for _, f := range b.set.Files() {
					name := filepath.Join(dir, filepath.FromSlash(f.Path))
					if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(name, realcheck.Render(f.Bytes), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				for _, v := range validators {
					n := 0
					for _, f := range b.set.Files() {
						if !v.match("/" + f.Path) {
							continue
						}
						n++
						if err := v.check(t.Context(), filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
							t.Errorf("%s/%s: %v", b.target, f.Path, err)
						}
					}
					if n == 0 {
						t.Errorf("%s: no file for %s to check", b.target, v.bin)
					}
				}
			}
		})
	}
}
