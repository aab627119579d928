package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
)

// TestSeedChecks brings the cluster up and repeats what the seed checked by hand, then takes
// it down and checks that nothing of it is left.
func TestSeedChecks(t *testing.T) {
	c := Up(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cl := c.Model
	addrs := c.Addresses()
	primary, replica := cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort

	if !strings.Contains(c.UpTwice, "nothing to start") || !strings.Contains(c.UpTwice, "Healthy") {
		t.Errorf("second up is not a no-op reporting the cluster:\n%s", c.UpTwice)
	}

	if out, err := c.PSQL(ctx, addrs[0], primary, "", "CREATE TABLE seed (id int primary key, note text)"); err != nil {
		t.Fatalf("CREATE TABLE through :%d: %v\n%s", primary, err, out)
	}
	out, err := c.PSQL(ctx, addrs[1], replica, "", "CREATE TABLE seed2 (id int)")
	if err == nil || !strings.Contains(out, "cannot execute CREATE TABLE in a read-only transaction") {
		t.Errorf("CREATE TABLE through :%d: want the read-only error, got %v\n%s", replica, err, out)
	}
	if out, err := c.PSQL(ctx, addrs[2], primary, "", "INSERT INTO seed VALUES (1, 'written through the primary port')"); err != nil {
		t.Fatalf("INSERT: %v\n%s", err, out)
	}
	for _, a := range addrs {
		var got string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if got, _ = c.PSQL(ctx, a, replica, "", "SELECT note FROM seed WHERE id = 1"); got == "written through the primary port" {
				break
			}
		}
		if got != "written through the primary port" {
			t.Errorf("%s:%d: row not read back: %q", a, replica, got)
		}
	}

	for _, n := range cl.Nodes {
		st, err := c.Exec(ctx, n.Name, "cloud-init", "status")
		if err != nil || !strings.Contains(st, "status: done") {
			t.Errorf("%s: cloud-init status: %v %q", n.Name, err, st)
		}
		// Patroni's etcd3 backport is made for one package version: the node keeps it.
		if held, err := c.Exec(ctx, n.Name, "apt-mark", "showhold"); err != nil || !strings.Contains(held, "patroni\n") {
			t.Errorf("%s: apt-mark showhold: %v %q; want patroni held", n.Name, err, held)
		}
	}
	checkSecretsFromLockbox(ctx, t, c)
	list, err := c.Exec(ctx, cl.Nodes[0].Name, "patronictl", "-c", "/etc/patroni/config.yml", "list")
	if err != nil {
		t.Fatalf("patronictl list: %v\n%s", err, list)
	}
	members, leaders := 0, 0
	for _, line := range strings.Split(list, "\n") {
		for _, n := range cl.Nodes {
			if strings.HasPrefix(strings.TrimLeft(line, "| "), n.Name+" ") {
				members++
				if strings.Contains(line, "| Leader ") {
					leaders++
				}
			}
		}
	}
	if members != 3 || leaders != 1 {
		t.Errorf("patronictl list: %d members, %d leaders; want 3 and 1:\n%s", members, leaders, list)
	}

	resp, err := c.httpsClient(t, 30*time.Second).Get(fmt.Sprintf("https://%s:%d/", addrs[0], cl.HAProxy.StatsPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("HAProxy stats without credentials: HTTP %d, want 401", resp.StatusCode)
	}
	// The statistics page and the backend serve HTTPS only.
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	for _, port := range []int{cl.HAProxy.StatsPort, cl.Backend.Port} {
		url := fmt.Sprintf("http://%s:%d/", addrs[0], port)
		if resp, err := plain.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("plain HTTP %s: HTTP %d; want no answer or a 400", url, resp.StatusCode)
			}
		}
	}

	for _, port := range []int{cl.Postgres.Port, cl.PgBouncer.Port, primary} {
		out, err := c.PSQL(ctx, addrs[1], port, "WrongPasswordWrongPassword", "SELECT 1")
		// PostgreSQL says "password authentication failed", PgBouncer "SASL authentication failed".
		if err == nil || !strings.Contains(out, "authentication failed") {
			t.Errorf(":%d accepted a wrong password (or failed otherwise): %v %s", port, err, out)
		}
		if out, err := c.PSQL(ctx, addrs[1], port, "", "SELECT 1"); err != nil || out != "1" {
			t.Errorf(":%d refused the right password: %v %s", port, err, out)
		}
	}

	// pghac env's settings work as they are, and keep the password in a 0600 file.
	cmd := exec.CommandContext(ctx, "psql", "-X", "-w", "-At", "-c", "SELECT count(*) FROM seed")
	cmd.Env = append(os.Environ(), c.Env...)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Errorf("psql with pghac env's settings: %v %s", err, out)
	}
	info, err := os.Stat(filepath.Join(c.Config.StateDir, "pgpass"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("pgpass: %v %v", err, info)
	}
	if out, err := c.Run(ctx, "status"); err != nil || !strings.Contains(out, "Healthy") {
		t.Errorf("pghac status: %v\n%s", err, out)
	}

	checkSSH(ctx, t, c)
	checkBackend(ctx, t, c)
	checkRoles(ctx, t, c)
	checkAccess(ctx, t, c)
	checkTLS(ctx, t, c)
	checkNoCleartext(ctx, t, c) // runs checkClients while it captures
	checkRoleParameters(ctx, t, c)
	checkBackups(ctx, t, c)
	checkDrills(t, c)
	checkLiveChange(ctx, t, c)
	checkBackendBuild(ctx, t, c)
	checkBackupsOffOn(ctx, t, c)
	checkMend(ctx, t, c)
	checkUnpatchedPatroni(ctx, t, c)
	checkRenameRefused(ctx, t, c)
	checkJumpHost(ctx, t, c)
	checkRotate(ctx, t, c)
	checkReplace(ctx, t, c)
	checkReplaceReviewed(ctx, t, c)
	checkScaleOut(ctx, t, c)

	checkDownKeepsData(ctx, t, c)
	checkScaleIn(ctx, t, c)

	// Down with --destroy-data, and nothing is left; down again succeeds.
	if out, err := c.Run(ctx, "down", "--destroy-data"); err != nil {
		t.Fatalf("pghac down --destroy-data: %v\n%s", err, out)
	}
	checkNothingLeft(t, c)
	if out, err := c.Run(ctx, "down"); err != nil || !strings.Contains(out, "The sandbox is down") {
		t.Errorf("pghac down with nothing up: %v\n%s", err, out)
	}
}

// checkDownKeepsData: a plain down stops everything and loses nothing; up starts the same
// machines again with their data.
func checkDownKeepsData(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	before, err := sandbox.Machines(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range before {
		names = append(names, m.Name)
	}
	out, err := c.Run(ctx, "down")
	if err != nil || !strings.Contains(out, "The sandbox is stopped; the disks of "+strings.Join(names, ", ")+" (the data) are kept.") {
		t.Fatalf("pghac down: %v\n%s", err, out)
	}
	checkNothingRuns(t, c, "down")
	ms, err := sandbox.Machines(c.Config)
	if err != nil || len(ms) != len(before) {
		t.Errorf("after down: machines %v (%v); want every machine kept", ms, err)
	}
	out, err = c.Run(ctx, "up")
	if err != nil || !strings.Contains(out, "starting them again with their disks") || !strings.Contains(out, "Healthy") {
		t.Fatalf("pghac up after down: %v\n%s", err, out)
	}
	for i, n := range c.Model.Nodes {
		if got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT note FROM seed WHERE id = 1"); err != nil || got != "written through the primary port" {
			t.Errorf("%s after down and up: the data written before: %q, %v", n.Name, got, err)
		}
	}
}

func checkNothingLeft(t *testing.T, c *Cluster) {
	t.Helper()
	checkNothingRuns(t, c, "down --destroy-data")
	// The next up makes machines with new host keys: a pin left here would refuse them.
	s, err := site.Sandbox(filepath.Join(c.Dir, "cluster.hcl"), filepath.Join(c.Dir, "deploy"), "", c.Config.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.KnownHosts()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("left after down: the machines' pinned host keys (%v)", err)
	}
	ms, err := sandbox.Machines(c.Config)
	if err != nil || len(ms) > 0 {
		t.Errorf("left after down: machines %v (%v)", ms, err)
	}
}

// checkNothingRuns: no interface, mount or process of the sandbox is left after cmd.
func checkNothingRuns(t *testing.T, c *Cluster, cmd string) {
	t.Helper()
	links, _ := exec.Command("ip", "-br", "link").Output()
	for _, line := range strings.Split(string(links), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (strings.HasPrefix(f[0], c.Config.Bridge) || strings.HasPrefix(f[0], "vb-")) {
			t.Errorf("left after %s: interface %s", cmd, f[0])
		}
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	if strings.Contains(string(mounts), c.Dir) {
		t.Errorf("left after %s: a mount under %s", cmd, c.Dir)
	}
	procs, _ := exec.Command("ps", "-eo", "stat=,args=").Output()
	for _, line := range strings.Split(string(procs), "\n") {
		if strings.Contains(line, "systemd-nspawn") && !strings.HasPrefix(line, "Z") || strings.Contains(line, "apt-cacher-ng -c "+c.Config.StateDir) {
			t.Errorf("left after %s: process %s", cmd, line)
		}
	}
}

// checkSecretsFromLockbox checks that the machines got their secrets from the sandbox's
// Lockbox and from nowhere else: no secret value in what they were given (user-data) or in
// Terraform's state and saved files, the fill line in each cloud-init log, and the metadata
// service (which hands out the token that reads them) closed to every user but root.
func checkSecretsFromLockbox(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	s, err := site.Sandbox(filepath.Join(c.Dir, "cluster.hcl"), filepath.Join(c.Dir, "deploy"), "", c.Config.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := s.ReadSecrets()
	if err != nil || len(secrets) == 0 {
		t.Fatalf("secrets: %v (%d)", err, len(secrets))
	}
	leaks := func(what, text string) {
		for name, v := range secrets {
			if strings.Contains(text, v) {
				t.Errorf("%s holds the value of %s", what, name)
			}
		}
	}
	filepath.WalkDir(filepath.Join(c.Dir, ".pghac", "sandbox", "terraform"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, "/.terraform/") {
			b, _ := os.ReadFile(p)
			leaks(p, string(b))
		}
		return nil
	})
	const token = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"
	for _, n := range c.Model.Nodes {
		ud, err := c.Exec(ctx, n.Name, "cat", "/var/lib/cloud/seed/nocloud/user-data", "/var/lib/cloud/instance/user-data.txt")
		if err != nil || !strings.Contains(ud, "${postgres_superuser_password}") {
			t.Errorf("%s: user-data: %v; want the placeholders", n.Name, err)
		}
		leaks(n.Name+"'s user-data", ud)
		if log, err := c.Exec(ctx, n.Name, "cat", "/var/log/cloud-init-output.log"); err != nil || !strings.Contains(log, "pghac-secrets: filled ") {
			t.Errorf("%s: cloud-init-output.log: %v; no line of the secrets' fill", n.Name, err)
		} else {
			leaks(n.Name+"'s cloud-init-output.log", log)
		}
		if out, err := c.Exec(ctx, n.Name, "curl", "-sS", "-m", "5", "-H", "Metadata-Flavor: Google", token); err != nil || !strings.Contains(out, `"access_token"`) {
			t.Errorf("%s: root reading the metadata token: %v %q", n.Name, err, out)
		}
		out, err := c.Exec(ctx, n.Name, "runuser", "-u", "postgres", "--", "curl", "-sS", "-m", "5", "-H", "Metadata-Flavor: Google", token)
		if err == nil || strings.Contains(out, "access_token") {
			t.Errorf("%s: user postgres reads the metadata token: %v %q", n.Name, err, out)
		}
	}
	checkBackendDownload(ctx, t, c)
}

// checkBackendDownload: the backend's build is a private object, as in the cloud: served
// from the host as pghac up serves it, a download without the machine's token is refused, one
// with it gets the build, and the token the node's cloud-init used shows nowhere in its logs.
func checkBackendDownload(ctx context.Context, t *testing.T, c *Cluster) {
	a, err := sandbox.NewArtifact(c.Config, filepath.Join(filepath.Dir(c.Pghac), "pghac-backend"), "pghac-backend")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(serveCtx) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serving the backend's build: %v", err)
		}
	}()
	node := c.Model.Nodes[0].Name
	// The server may take a moment to listen: curl retries a refused connection.
	const get = `set -o pipefail; curl -sS --retry 5 --retry-connrefused --retry-delay 1 -m 5 -o /dev/null -w '%{http_code}' "$1"`
	if out, err := c.Exec(ctx, node, "bash", "-c", get, "bash", a.URL); err != nil || out != "403" {
		t.Errorf("%s: the backend's build without a token: %v, HTTP %q; want 403", node, err, out)
	}
	const withToken = `set -o pipefail; tok=$(curl -sS --fail -m 5 -H 'Metadata-Flavor: Google' ` +
		`http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') && ` +
		`curl -sS --fail -m 5 -H "X-YaCloud-SubjectToken: $tok" "$1" | sha256sum`
	if out, err := c.Exec(ctx, node, "bash", "-c", withToken, "bash", a.URL); err != nil || !strings.HasPrefix(out, a.SHA256+" ") {
		t.Errorf("%s: the backend's build with the machine's token: %v %q, want sha256 %s", node, err, out, a.SHA256)
	}
	if log, err := c.Exec(ctx, node, "cat", "/var/log/cloud-init-output.log", "/var/log/cloud-init.log"); err != nil || strings.Contains(log, "sandbox-node.") {
		t.Errorf("%s: cloud-init's logs show a node token (or cannot be read: %v)", node, err)
	}
}
