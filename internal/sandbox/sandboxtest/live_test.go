package sandboxtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/sandbox"
)

// checkLiveChange is the day-2 loop on the sandbox: one line of cluster.hcl changes
// (PgBouncer's default_pool_size, which also lowers the derived max_connections), `pghac plan
// --target sandbox` shows the change without making it, and `pghac up` rolls it out to the running machines, one node at a time: no machine is
// replaced, the data stays, every node runs the new configuration, and a second up has
// nothing left to do.
func checkLiveChange(ctx context.Context, t *testing.T, c *Cluster) {
	pids := machinePIDs(t, c)
	editCluster(t, c, func(src string) string {
		end := strings.LastIndex(src, "}")
		return src[:end] + "  pgbouncer {\n    default_pool_size = 50\n  }\n" + src[end:]
	})

	// plan shows the change first, and changes nothing.
	planned, err := c.Run(ctx, "plan", "--target", "sandbox")
	if err != nil {
		t.Fatalf("pghac plan --target sandbox with a changed cluster.hcl: %v\n%s", err, planned)
	}
	for _, want := range []string{
		"no machine to add, replace or remove",
		"Live changes (sandbox): 3 nodes, 2 settings",
		"+default_pool_size = 50",
		"Nothing was changed. The plan is saved in ",
	} {
		if !strings.Contains(planned, want) {
			t.Errorf("pghac plan's output lacks %q:\n%s", want, planned)
		}
	}
	if ini, err := c.Exec(ctx, "node0", "cat", "/etc/pgbouncer/pgbouncer.ini"); err != nil || !strings.Contains(ini, "default_pool_size = 100\n") {
		t.Errorf("node0's pgbouncer.ini after pghac plan: %v; want it unchanged (default_pool_size = 100)", err)
	}

	out, err := c.Run(ctx, "up")
	if err != nil {
		t.Fatalf("pghac up with a changed cluster.hcl: %v\n%s", err, out)
	}
	t.Logf("pghac up with default_pool_size = 50:\n%s", out)
	for _, want := range []string{
		"nothing to start",
		"Live changes (sandbox): 3 nodes, 2 settings",
		"postgresql.parameters.work_mem: 9532kB -> 17476kB",
		"changed  /etc/pgbouncer/pgbouncer.ini",
		"postgresql.parameters.max_connections: 220 -> 120",
		"-default_pool_size = 100",
		"+default_pool_size = 50",
		"Rolled out in",
		"Healthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac up's output lacks %q", want)
		}
	}
	secrets, err := os.ReadFile(filepath.Join(c.Config.StateDir, "secrets.tfvars"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(secrets), "\n") {
		if _, v, ok := strings.Cut(line, "= "); ok && len(strings.Trim(v, `"`)) > 8 && strings.Contains(out+planned, strings.Trim(v, `"`)) {
			t.Errorf("pghac plan or up printed a secret (%s)", strings.TrimSpace(strings.Split(line, "=")[0]))
		}
	}

	checkNotRestarted(t, c, pids)
	for i, n := range c.Model.Nodes {
		ini, err := c.Exec(ctx, n.Name, "cat", "/etc/pgbouncer/pgbouncer.ini")
		if err != nil || !strings.Contains(ini, "default_pool_size = 50\n") {
			t.Errorf("%s: pgbouncer.ini after the rollout: %v", n.Name, err)
		}
		addr := c.Addresses()[i]
		if got, err := c.PSQL(ctx, addr, c.Model.Postgres.Port, "", "SHOW max_connections"); err != nil || got != "120" {
			t.Errorf("%s: max_connections %q, %v; want 120", n.Name, got, err)
		}
		if got, err := c.PSQL(ctx, addr, c.Model.Postgres.Port, "", "SELECT note FROM seed WHERE id = 1"); err != nil || got != "written through the primary port" {
			t.Errorf("%s: the data written before the change: %q, %v", n.Name, got, err)
		}
	}

	out, err = c.Run(ctx, "up")
	if err != nil || !strings.Contains(out, "Live changes (sandbox): none") {
		t.Errorf("a second up after the rollout: %v\n%s", err, out)
	}
}

// machinePIDs are the running machines' nspawn PIDs, by name.
func machinePIDs(t *testing.T, c *Cluster) map[string]int {
	t.Helper()
	ms, err := sandbox.Machines(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, m := range ms {
		pids[m.Name] = m.NspawnPID
	}
	return pids
}

// checkNotRestarted: every machine of before (machinePIDs) still runs as the same process.
func checkNotRestarted(t *testing.T, c *Cluster, before map[string]int) {
	t.Helper()
	now := machinePIDs(t, c)
	for name, pid := range before {
		if now[name] != pid {
			t.Errorf("machine %s was restarted or replaced (pid %d, was %d)", name, now[name], pid)
		}
	}
}

// editCluster rewrites the test's cluster.hcl with edit.
func editCluster(t *testing.T, c *Cluster, edit func(string) string) {
	t.Helper()
	file := filepath.Join(c.Dir, "cluster.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(edit(string(src))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkMend: a node broken by hand (node1's HAProxy configuration made invalid and HAProxy
// restarted, so that it does not run) is mended by `pghac up`, which rolls the generated file
// out to it first instead of waiting for a health only that file can bring.
func checkMend(ctx context.Context, t *testing.T, c *Cluster) {
	const node, cfg = "node1", "/etc/haproxy/haproxy.cfg"
	if out, err := c.Exec(ctx, node, "sh", "-c", "echo 'this is not haproxy' >> "+cfg+"; systemctl restart haproxy; systemctl is-active haproxy"); err == nil {
		t.Fatalf("%s: HAProxy still runs with a broken configuration:\n%s", node, out)
	}
	if out, err := c.Run(ctx, "status"); err == nil || !strings.Contains(out, node+": HAProxy") {
		t.Errorf("pghac status with %s's HAProxy down: %v; want it named\n%s", node, err, out)
	}
	// Before, up waited for a healthy cluster first: it gave up after its timeout.
	out, err := c.Run(ctx, "up", "--timeout", "3m")
	t.Logf("pghac up with %s's HAProxy broken:\n%s", node, out)
	if err != nil {
		t.Fatalf("pghac up did not mend %s: %v", node, err)
	}
	for _, want := range []string{
		"changed  " + cfg,
		"Problems on " + node + ", which the change touches: it goes there first.",
		node + ": reload haproxy",
		"Healthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac up's output lacks %q", want)
		}
	}
	if out, err := c.Exec(ctx, node, "systemctl", "is-active", "haproxy"); err != nil || strings.TrimSpace(out) != "active" {
		t.Errorf("%s: HAProxy after up: %v %s", node, err, out)
	}
}

// checkRenameRefused: renaming the cluster (Patroni's scope) cannot be rolled out to a
// running cluster; up refuses it and changes nothing, and the old name back leaves nothing
// to do.
func checkRenameRefused(ctx context.Context, t *testing.T, c *Cluster) {
	file := filepath.Join(c.Dir, "cluster.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	editCluster(t, c, func(s string) string { return strings.Replace(s, `cluster "main"`, `cluster "billing"`, 1) })
	out, err := c.Run(ctx, "up")
	if err == nil || !strings.Contains(out, `The cluster's name changes from "main" to "billing"`) || !strings.Contains(out, "Nothing was changed") ||
		!strings.Contains(out, "cluster.hcl line 4") {
		t.Errorf("pghac up with the cluster renamed: %v; want a refusal naming the change and the line\n%s", err, out)
	}
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Model.Nodes {
		if cfg, err := c.Exec(ctx, n.Name, "cat", "/etc/patroni/config.yml"); err != nil || !strings.Contains(cfg, "scope: main\n") {
			t.Errorf("%s: Patroni's configuration after the refused rename: %v", n.Name, err)
		}
	}
	if out, err := c.Run(ctx, "up"); err != nil || !strings.Contains(out, "Live changes (sandbox): none") {
		t.Errorf("up with the old name back: %v\n%s", err, out)
	}
}

// checkJumpHost: with network.jump_host set, the sandbox stands in a jump host of its own
// (sshd on the host's bridge) and pghac reaches the machines only through it, as it reaches
// cloud VMs without public addresses. The change goes through the cloud's loop: plan saves
// the live change, apply refuses it once a node differs from what plan saw (a hand edit),
// and after a new plan rolls it out (SSH sessions, and Patroni's REST API tunnelled). status
// asks through it and fails without it; taking jump_host out stops the stand-in.
func checkJumpHost(ctx context.Context, t *testing.T, c *Cluster) {
	file := filepath.Join(c.Dir, "cluster.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	jumpLog := filepath.Join(c.Config.StateDir, "jump-host", "sshd.log")
	logins := func() int {
		b, _ := os.ReadFile(jumpLog)
		return strings.Count(string(b), "Accepted publickey for root from 10.213.0.1 ")
	}
	editCluster(t, c, func(s string) string {
		s = strings.Replace(s, "  network {", "  network {\n    jump_host = \"debian@bastion.example.com\"", 1)
		return strings.Replace(s, "default_pool_size = 50", "default_pool_size = 60", 1)
	})
	plan := func() string {
		t.Helper()
		out, err := c.Run(ctx, "plan", "--target", "sandbox")
		if err != nil || !strings.Contains(out, "+default_pool_size = 60") || !strings.Contains(out, "`pghac apply --target sandbox` carries out") {
			t.Fatalf("pghac plan --target sandbox with a jump host and a change: %v\n%s", err, out)
		}
		return out
	}
	plan()
	if logins() == 0 {
		t.Errorf("the stand-in jump host let nobody in during plan; its log:\n%s", readTail(jumpLog))
	}
	const ini = "/etc/pgbouncer/pgbouncer.ini"
	if _, err := c.Exec(ctx, "node1", "sh", "-c", "echo '; edited by hand' >> "+ini); err != nil {
		t.Fatal(err)
	}
	out, err := c.Run(ctx, "apply", "--target", "sandbox", "--auto-approve")
	if err == nil || !strings.Contains(out, "differ from what the plan saw") || !strings.Contains(out, "Run `pghac plan --target sandbox` again") {
		t.Errorf("pghac apply after a hand edit since the plan: %v, want a refusal\n%s", err, out)
	}
	if b, err := c.Exec(ctx, "node0", "cat", ini); err != nil || !strings.Contains(b, "default_pool_size = 50\n") {
		t.Errorf("node0's %s after a refused apply: %v; want it unchanged", ini, err)
	}

	plan()
	before := logins()
	out, err = c.Run(ctx, "apply", "--target", "sandbox", "--auto-approve")
	if err != nil || !strings.Contains(out, "Rolling out the live changes") || !strings.Contains(out, "Rolled out in") {
		t.Fatalf("pghac apply --target sandbox through the jump host: %v\n%s", err, out)
	}
	for _, n := range c.Model.Nodes {
		if b, err := c.Exec(ctx, n.Name, "cat", ini); err != nil || !strings.Contains(b, "default_pool_size = 60\n") || strings.Contains(b, "edited by hand") {
			t.Errorf("%s: %s after apply: %v", n.Name, ini, err)
		}
	}
	after := logins()
	if after <= before {
		t.Errorf("apply did not go through the jump host (%d logins, %d before)", after, before)
	}
	if out, err := c.Run(ctx, "status"); err != nil || !strings.Contains(out, "Healthy") || logins() <= after {
		t.Errorf("pghac status through the jump host: %v (logins %d, before %d)\n%s", err, logins(), after, out)
	}
	// Without it, nothing reaches the nodes: they are not asked directly behind its back.
	if err := sandbox.JumpDown(c.Config); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Run(ctx, "status"); err == nil || !strings.Contains(out, "10.213.0.1:2222") {
		t.Errorf("pghac status with the jump host down: %v, want it to fail naming the jump host\n%s", err, out)
	}

	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = c.Run(ctx, "up")
	if err != nil || !strings.Contains(out, "+default_pool_size = 50") || !strings.Contains(out, "Healthy") {
		t.Errorf("pghac up without the jump host again: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(c.Config.StateDir, "jump-host", "pid")); err == nil {
		t.Error("the stand-in jump host still runs after jump_host was taken out")
	}
}

// readTail is the last lines of file, for a failure's message.
func readTail(file string) string {
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
