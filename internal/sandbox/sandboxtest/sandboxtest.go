package sandboxtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/sandbox"
)

// Cluster is a running sandbox cluster.
type Cluster struct {
	Model   *model.Cluster
	Dir     string // the project directory: cluster.hcl, deploy/, .pghac/
	Pghac   string // the pghac binary
	Config  sandbox.Config
	Env     []string // PGPASSFILE and friends, from `pghac env`
	UpTwice string   // the output of a second `pghac up`
}

// repoRoot is the repository's top directory.
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Up builds pghac, brings the repository's cluster.hcl up in the sandbox and registers
// `pghac down --destroy-data` as the test's cleanup.
func Up(t testing.TB) *Cluster {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "cluster.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	_, cl, diags := compiler.CompileSource(src, "cluster.hcl", model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	// One sandbox per host: its bridge, apt proxy and machine names are fixed. A developer's
	// `make demo` cluster keeps running after the demo (the README's order is demo, then test),
	// and these tests must not take it down: skip, and say how to run them. In CI nothing else
	// may hold the bridge, so there it is a failure like any other.
	if _, err := net.InterfaceByName(cl.Sandbox.Bridge); err == nil && os.Getenv("CI") == "" {
		t.Skipf("bridge %s exists: another sandbox runs on this host (make demo's?) and these tests need the host's "+
			"sandbox to themselves; `bin/pghac down` in its project, then run them again", cl.Sandbox.Bridge)
	}
	c := &Cluster{Model: cl, Dir: dir, Pghac: filepath.Join(dir, "bin", "pghac")}
	// pghac up serves the backend binary beside it to the machines.
	build := exec.Command("go", "build", "-o", filepath.Dir(c.Pghac)+"/", "./cmd/pghac", "./cmd/pghac-backend")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c.Config = sandbox.Config{StateDir: filepath.Join(dir, ".pghac", "sandbox"), CacheDir: sandbox.DefaultCacheDir(os.Getenv),
		Bridge: cl.Sandbox.Bridge, CIDR: cl.Sandbox.CIDR, Packages: cl.OS.Packages}

	t.Cleanup(func() {
		if out, err := c.Run(context.Background(), "down", "--destroy-data"); err != nil {
			t.Errorf("pghac down: %v\n%s", err, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := c.Run(ctx, "up")
	if err != nil {
		t.Fatalf("pghac up: %v\n%s", err, out)
	}
	t.Logf("pghac up: healthy after %s", time.Since(start).Round(time.Second))
	if c.UpTwice, err = c.Run(ctx, "up"); err != nil {
		t.Fatalf("second pghac up: %v\n%s", err, c.UpTwice)
	}
	env, err := c.Run(ctx, "env")
	if err != nil {
		t.Fatalf("pghac env: %v\n%s", err, env)
	}
	for _, line := range strings.Split(env, "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			c.Env = append(c.Env, k+"="+strings.Trim(v, "'"))
		}
	}
	return c
}

// Run runs pghac with args in the project directory and returns its combined output.
func (c *Cluster) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Pghac, args...)
	cmd.Dir = c.Dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Addresses are the nodes' addresses, in node order.
func (c *Cluster) Addresses() []netip.Addr {
	var out []netip.Addr
	for _, n := range c.Model.Nodes {
		out = append(out, n.Address)
	}
	return out
}

// PSQL runs one SQL command with psql at addr:port, with the password from `pghac env`'s
// PGPASSFILE unless password is given, and returns its unaligned output. It connects as
// people would: to PostgreSQL's own port as the superuser, which that port alone admits and
// only from the admin path (in the sandbox, this host); to every other port (HAProxy's,
// PgBouncer's) as the cluster's client role. Either way to the client role's database.
func (c *Cluster) PSQL(ctx context.Context, addr netip.Addr, port int, password, sql string) (string, error) {
	user, database, ok := c.Model.ClientRole()
	if !ok {
		return "", model.ErrNoClientRole
	}
	if port == c.Model.Postgres.Port {
		user = model.SuperuserName
	}
	cmd := exec.CommandContext(ctx, "psql", "-X", "-w", "-At", "-h", addr.String(), "-p", fmt.Sprint(port),
		"-U", user, "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql)
	cmd.Env = append(os.Environ(), c.Env...)
	// One node's port, whatever it is: pghac env's read-write applies to its own host list.
	cmd.Env = append(cmd.Env, "PGHOST=", "PGPORT=", "PGCONNECT_TIMEOUT=5", "PGTARGETSESSIONATTRS=any")
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password, "PGPASSFILE=/dev/null")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// Exec runs argv inside machine name.
func (c *Cluster) Exec(ctx context.Context, name string, argv ...string) (string, error) {
	out, _, err := sandbox.Exec(ctx, c.Config, name, argv...)
	return string(out), err
}
