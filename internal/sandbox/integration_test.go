package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The integration test boots real machines. Its bridge, network and machine
// names differ from pghac's defaults (pghac0, 10.213.0.0/24, node0..) so that it
// can run next to a real sandbox, and its package list differs from pghac's, so
// its cached image does too.
const (
	testBridge = "pghact0"
	testCIDR   = "10.213.199.0/24"
)

var testUserData = []byte(`#cloud-config
locale: C.UTF-8
manage_etc_hosts: true
package_update: true
packages:
  - tree
runcmd:
  - [sh, -c, "echo runcmd-ok > /root/runcmd.txt"]
`)

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func integrationConfig(t *testing.T) Config {
	t.Helper()
	if testing.Short() {
		t.Skip("boots machines; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("boots machines with systemd-nspawn: needs root")
	}
	cfg := Config{
		StateDir: t.TempDir(),
		CacheDir: DefaultCacheDir(os.Getenv),
		Bridge:   testBridge,
		CIDR:     netip.MustParsePrefix(testCIDR),
		Packages: []string{"iputils-ping"},
		Log:      logWriter{t},
	}
	if err := Preflight(cfg); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	return cfg
}

func TestMachines(t *testing.T) {
	cfg := integrationConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	names := []string{"s1t-a", "s1t-b"}
	addrs := []netip.Addr{netip.MustParseAddr("10.213.199.11"), netip.MustParseAddr("10.213.199.12")}
	t.Cleanup(func() {
		if err := Cleanup(context.Background(), cfg); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		assertNothingLeft(t, cfg, names)
	})

	start := time.Now()
	if _, err := EnsureImage(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Logf("image ready after %s", time.Since(start).Round(time.Millisecond))
	for range 2 { // idempotent
		if err := NetworkUp(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if err := Preflight(cfg); err != nil {
		t.Errorf("preflight with the sandbox's own bridge up: %v", err)
	}
	other := cfg
	other.Bridge = "pghact1"
	if err := Preflight(other); err == nil || !strings.Contains(err.Error(), "is occupied") {
		t.Errorf("preflight of another bridge on the same network: got %v, want an occupied network", err)
	}

	boot := time.Now()
	for i, n := range names {
		if err := MachineUp(ctx, cfg, n, addrs[i], Boot{UserData: testUserData}); err != nil {
			t.Fatal(err)
		}
	}
	if err := MachineUp(ctx, cfg, names[0], addrs[0], Boot{UserData: testUserData}); err != nil {
		t.Errorf("second MachineUp of the same machine: %v", err)
	}
	// Another user-data is no new instance (cloud-init applied the first): left alone.
	before, _ := machine(cfg, names[0])
	if err := MachineUp(ctx, cfg, names[0], addrs[0], Boot{UserData: append([]byte("#changed\n"), testUserData...)}); err != nil {
		t.Errorf("MachineUp with other user-data over a running machine: %v", err)
	}
	if after, _ := machine(cfg, names[0]); after.NspawnPID != before.NspawnPID || before.NspawnPID == 0 {
		t.Errorf("MachineUp with other user-data restarted the machine: pid %d, was %d", after.NspawnPID, before.NspawnPID)
	}
	if err := MachineUp(ctx, cfg, "s1t-c", addrs[1], Boot{UserData: testUserData}); err == nil {
		t.Errorf("MachineUp with a used address succeeded")
	}
	for _, n := range names {
		st, err := WaitCloudInit(ctx, cfg, n)
		var me *MachineError
		if errors.As(err, &me) {
			t.Fatalf("%v\n%s", err, me.Logs)
		}
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != "done" {
			t.Errorf("%s: cloud-init status %q", n, st.Status)
		}
	}
	t.Logf("both machines: cloud-init done %s after boot", time.Since(boot).Round(time.Millisecond))
	for _, n := range names {
		if out, _, _ := Exec(ctx, cfg, n, "grep", "-h", "WARNING", "/var/log/cloud-init.log"); len(out) > 0 {
			t.Logf("%s: cloud-init warnings:\n%s", n, out)
		}
	}
	// The packages came through the apt proxy (the machines have no route out).
	acngLog, _ := os.ReadFile(filepath.Join(cfg.proxyDir(), "log", "apt-cacher.log"))
	if !strings.Contains(string(acngLog), "/tree_") {
		t.Errorf("the apt proxy's log has no download of tree:\n%s", acngLog)
	}

	ms, err := Machines(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("Machines: got %d, want 2: %+v", len(ms), ms)
	}
	for i, m := range ms {
		if m.Name != names[i] || m.Address != addrs[i] || !m.Running() || m.LeaderPID == 0 {
			t.Errorf("Machines[%d] = %+v, want %s at %s running", i, m, names[i], addrs[i])
		}
	}

	for i, n := range names {
		checkOutput(ctx, t, cfg, n, n, "hostname")
		checkOutput(ctx, t, cfg, n, "runcmd-ok", "cat", "/root/runcmd.txt")
		checkOutput(ctx, t, cfg, n, "tree v", "tree", "--version") // installed by cloud-init through the apt proxy
		checkOutput(ctx, t, cfg, n, addrs[i].String()+"/24", "ip", "-br", "-4", "addr", "show", "host0")
		checkOutput(ctx, t, cfg, n, "running", "systemctl", "is-system-running")
		if _, err := os.Stat(filepath.Join(cgroupRoot, "unified", cgroupTop, testBridge, n, "payload")); err != nil {
			t.Errorf("%s has no cgroup of its own: %v", n, err)
		}
		// A web server under the machine's systemd, serving /etc (hostname).
		if _, _, err := Exec(ctx, cfg, n, "systemd-run", "--unit=s1t-web", "python3", "-m", "http.server",
			"8080", "--bind", addrs[i].String(), "--directory", "/etc"); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range names {
		// A second or two; the margin is for a machine busy with other tests.
		if err := waitPort(ctx, addrs[i].String(), 8080, time.Minute); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	// Machine to machine: TCP both ways, and ICMP.
	for i, n := range names {
		peer := addrs[1-i]
		checkOutput(ctx, t, cfg, n, names[1-i], "python3", "-c",
			"import urllib.request; print(urllib.request.urlopen('http://"+peer.String()+":8080/hostname', timeout=5).read().decode())")
		checkOutput(ctx, t, cfg, n, "1 received", "ping", "-c", "1", "-W", "2", peer.String())
	}
	// Host to machine.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	for i, n := range names {
		resp, err := client.Get("http://" + addrs[i].String() + ":8080/hostname")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) != n {
			t.Errorf("host -> %s: got %q", n, body)
		}
	}

	// A clean MachineDown, twice.
	for range 2 {
		if err := MachineDown(ctx, cfg, names[0]); err != nil {
			t.Fatal(err)
		}
	}
	if ms, _ := Machines(cfg); len(ms) != 1 || ms[0].Name != names[1] {
		t.Errorf("after MachineDown %s: Machines = %+v", names[0], ms)
	}
	if _, err := net.InterfaceByName("vb-" + names[0]); err == nil {
		t.Errorf("vb-%s is left after MachineDown", names[0])
	}

	// SIGKILL of nspawn orphans the machine (notes §6a): MachineDown must still end it.
	m, _ := machine(cfg, names[1])
	leader := m.LeaderPID
	if err := syscall.Kill(m.NspawnPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(m.NspawnPID, 5*time.Second)
	if !alive(leader) {
		t.Logf("the machine died with its nspawn; the orphan case is not exercised")
	}
	if err := MachineDown(ctx, cfg, names[1]); err != nil {
		t.Fatal(err)
	}
	if alive(leader) {
		t.Errorf("%s: PID 1 (%d) survives MachineDown after nspawn was killed", names[1], leader)
	}
}

func checkOutput(ctx context.Context, t *testing.T, cfg Config, name, want string, argv ...string) {
	t.Helper()
	out, _, err := Exec(ctx, cfg, name, argv...)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if !strings.Contains(string(out), want) {
		t.Errorf("%s: %s: got %q, want it to contain %q", name, strings.Join(argv, " "), out, want)
	}
}

// assertNothingLeft checks the host for every kind of leftover a sandbox can have.
func assertNothingLeft(t *testing.T, cfg Config, names []string) {
	t.Helper()
	for _, l := range append([]string{cfg.Bridge}, "vb-"+names[0], "vb-"+names[1]) {
		if _, err := net.InterfaceByName(l); err == nil {
			t.Errorf("link %s is left", l)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, s := range []string{cfg.StateDir, cfg.CacheDir, "/run/systemd/nspawn"} {
		if strings.Contains(string(mounts), s) {
			t.Errorf("a mount with %q is left", s)
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		argv := strings.Join(cmdline(atoiOr0(e.Name())), " ")
		if strings.Contains(argv, "--machine=s1t-") || strings.Contains(argv, cfg.StateDir) {
			t.Errorf("process %s is left: %s", e.Name(), argv)
		}
	}
	for _, h := range []string{"systemd", "unified", "freezer"} {
		if _, err := os.Stat(filepath.Join(cgroupRoot, h, cgroupTop, cfg.Bridge)); err == nil {
			t.Errorf("cgroup %s/%s/%s is left", h, cgroupTop, cfg.Bridge)
		}
		for _, d := range []string{"payload", "supervisor"} {
			if _, err := os.Stat(filepath.Join(cgroupRoot, h, d)); err == nil {
				t.Errorf("cgroup %s/%s is left (an nspawn ran without a cgroup of its own)", h, d)
			}
		}
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("/run/systemd/nspawn/propagate", n)); err == nil {
			t.Errorf("/run/systemd/nspawn/propagate/%s is left", n)
		}
	}
	if root, err := ImageRoot(context.Background(), cfg); err == nil {
		var st syscall.Stat_t
		if syscall.Stat(root, &st) == nil {
			lock := fmt.Sprintf("/run/systemd/nspawn/locks/inode-%d:%d", st.Dev, st.Ino)
			sibling := filepath.Join(filepath.Dir(root), ".#"+filepath.Base(root)+".lck")
			for _, l := range []string{lock, sibling} {
				if _, err := os.Stat(l); err == nil {
					t.Errorf("nspawn's lock %s of the image is left", l)
				}
			}
		}
	}
	if out, err := exec.Command("nft", "list", "tables").Output(); err == nil && strings.Contains(string(out), cfg.nftTable()) {
		t.Errorf("nft table %s is left", cfg.nftTable())
	}
	if _, err := os.Stat(cfg.machinesDir()); err == nil {
		t.Errorf("%s is left", cfg.machinesDir())
	}
}

func atoiOr0(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
