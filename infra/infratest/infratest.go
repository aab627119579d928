package infratest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pghac/pghac/internal/fakeyandex"
)

// providerPackage is the main package of the offline provider.
const providerPackage = "github.com/pghac/pghac/internal/fakeyandex/cmd/terraform-provider-yandex"

// Env is what a test needs to run the real Terraform against the offline
// Yandex provider.
type Env struct {
	// Terraform is the path of the terraform binary.
	Terraform string
	// ProviderBinary is the built provider, shared by the tests of one
	// checkout; install copies of it (fakeyandex.WriteMirror), never
	// modify it.
	ProviderBinary string
	// CLIConfig is the Terraform CLI configuration that installs the
	// provider from a filesystem mirror private to the test.
	CLIConfig string
	// Vars are the environment variables to set on top of the inherited
	// environment (fakeyandex.TerraformEnv): TF_CLI_CONFIG_FILE,
	// CHECKPOINT_DISABLE and an empty TF_PLUGIN_CACHE_DIR. Pass them to
	// terraform-exec's SetEnv merged with os.Environ(), or use Environ.
	Vars map[string]string
}

// Provider builds the offline provider (once per test process; the first
// build on a machine takes about 30 s, later ones are up-to-date checks),
// installs it into a filesystem mirror in a directory removed after the
// test, and returns the environment for running Terraform against it.
// `terraform init` then works offline, as with the real registry. It fails
// the test, never skips it, when Terraform is missing: CI installs it.
func Provider(t testing.TB) Env {
	t.Helper()
	tf, err := terraformPath()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := providerBinary()
	if err != nil {
		t.Fatalf("building the offline Yandex provider: %v", err)
	}
	var cli string
	err = withLock(filepath.Dir(bin), unix.LOCK_SH, func() error {
		var err error
		cli, err = fakeyandex.WriteMirror(t.TempDir(), bin)
		return err
	})
	if err != nil {
		t.Fatalf("installing the offline Yandex provider: %v", err)
	}
	return Env{Terraform: tf, ProviderBinary: bin, CLIConfig: cli, Vars: fakeyandex.TerraformEnv(cli)}
}

// Environ returns the process environment with Vars applied and without the
// variables that would make Terraform behave differently from what a test
// expects (TF_CLI_ARGS*, TF_DATA_DIR, TF_WORKSPACE, TF_VAR_*).
func (e Env) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, overridden := e.Vars[name]; overridden || strings.HasPrefix(name, "TF_CLI_ARGS") ||
			strings.HasPrefix(name, "TF_VAR_") || name == "TF_DATA_DIR" || name == "TF_WORKSPACE" {
			continue
		}
		env = append(env, kv)
	}
	for _, name := range slices.Sorted(maps.Keys(e.Vars)) {
		env = append(env, name+"="+e.Vars[name])
	}
	return env
}

// Command returns `terraform args...` to run in dir with Environ.
func (e Env) Command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(e.Terraform, args...)
	cmd.Dir = dir
	cmd.Env = e.Environ()
	return cmd
}

// Run runs `terraform args...` in dir and returns its standard output. A
// non-zero exit fails the test with both output streams.
func (e Env) Run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := e.Try(dir, args...)
	if err != nil {
		t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// Try runs `terraform args...` in dir and returns its standard output. The
// error of a non-zero exit (an *ExitError) includes standard error.
func (e Env) Try(dir string, args ...string) (string, error) {
	cmd := e.Command(dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &ExitError{Err: err, Stdout: stdout.String(), Stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// ExitError is a failed terraform command with its output.
type ExitError struct {
	Err            error
	Stdout, Stderr string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%v\nstdout:\n%s\nstderr:\n%s", e.Err, e.Stdout, e.Stderr)
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the command's exit status, or -1 when it did not run.
func (e *ExitError) ExitCode() int {
	var ee *exec.ExitError
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// CopyDir copies the directory tree src (a testdata fixture) into a new
// temporary directory and returns that directory, so that Terraform's
// .terraform, lock file and state stay out of the source tree.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	return dst
}

// Terraform is the path of the terraform binary, for tests that need Terraform itself and no
// provider (templatefile, say). It fails the test when there is none: CI installs it.
func Terraform(t testing.TB) string {
	t.Helper()
	tf, err := terraformPath()
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

// terraformPath finds terraform on PATH, else at /usr/local/bin/terraform.
func terraformPath() (string, error) {
	if p, err := exec.LookPath("terraform"); err == nil {
		return filepath.Abs(p)
	}
	const fallback = "/usr/local/bin/terraform"
	if _, err := os.Stat(fallback); err == nil {
		return fallback, nil
	}
	return "", errors.New("terraform not found on PATH or at /usr/local/bin/terraform: install Terraform >= 1.11 (CI does)")
}

var build struct {
	once sync.Once
	path string
	err  error
}

// providerBinary builds the provider into a per-checkout directory of the
// user cache and returns its path. cmd/go leaves an up-to-date binary alone,
// so only the first build on a machine pays for compiling gRPC. A file lock
// serialises the packages `go test ./...` runs in parallel.
func providerBinary() (string, error) {
	build.once.Do(func() { build.path, build.err = buildProvider() })
	return build.path, build.err
}

func buildProvider() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(cache, "pghac-test", "fakeyandex-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "terraform-provider-yandex")
	err = withLock(dir, unix.LOCK_EX, func() error {
		cmd := exec.Command(goTool(), "build", "-o", out, providerPackage)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", providerPackage, err, msg)
		}
		return nil
	})
	return out, err
}

// withLock runs f holding a flock of dir/lock in mode how.
func withLock(dir string, how int, f func() error) error {
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), how); err != nil {
		return err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN) //nolint:errcheck // closing releases it anyway
	return f()
}

// moduleRoot is the directory holding go.mod, found upwards from the test's
// working directory (its package directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// goTool is the go command of the toolchain running the tests: go test
// puts its GOROOT/bin first on PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go" // exec reports it missing
}
