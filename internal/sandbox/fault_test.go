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
	"slices"
	"strings"
	"testing"
	"time"
)

// The fault test's own sandbox: bridge, network and machine names differ from
// pghac's (pghac0, 10.213.0.0/24) and from the integration test's (pghact0), so
// it runs next to both. Its packages are the integration test's, so the two share
// one cached image.
const (
	faultBridge = "pghact2"
	faultCIDR   = "10.213.198.0/24"
)

// faultUserData is a bare machine: no packages, so cloud-init is done in seconds.
var faultUserData = []byte(`#cloud-config
locale: C.UTF-8
manage_etc_hosts: true
`)

func TestFaultParsePartitioned(t *testing.T) {
	out := []byte(`{"nftables": [{"metainfo": {"version": "1.0.6"}},
	 {"table": {"family": "bridge", "name": "pghac_x", "handle": 1}},
	 {"set": {"family": "bridge", "name": "other", "table": "pghac_x", "type": "ifname", "handle": 2, "elem": ["vb-zz"]}},
	 {"set": {"family": "bridge", "name": "partitioned", "table": "pghac_x", "type": "ifname", "handle": 1, "elem": ["vb-node2", "eth9", "vb-node0"]}},
	 {"chain": {"family": "bridge", "table": "pghac_x", "name": "partition_in", "handle": 5}}]}`)
	got, err := parsePartitioned(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"node0", "node2"}; !slices.Equal(got, want) {
		t.Errorf("parsePartitioned = %q, want %q", got, want)
	}
	empty := []byte(`{"nftables": [{"set": {"name": "partitioned", "type": "ifname"}}]}`)
	if got, err := parsePartitioned(empty); err != nil || len(got) != 0 {
		t.Errorf("parsePartitioned(empty set) = %q, %v; want none", got, err)
	}
	if _, err := parsePartitioned([]byte("table bridge x {")); err == nil {
		t.Errorf("parsePartitioned accepted nft's text output")
	}
}

func TestFaultArgs(t *testing.T) {
	cfg := Config{StateDir: t.TempDir(), CacheDir: t.TempDir(), Bridge: faultBridge, CIDR: netip.MustParsePrefix(faultCIDR)}
	for _, c := range []struct {
		op string
		f  func() error
	}{
		{"Kill", func() error { return Kill(cfg, "nosuch") }},
		{"Freeze", func() error { return Freeze(cfg, "nosuch") }},
		{"Thaw", func() error { return Thaw(cfg, "nosuch") }},
		{"Partition", func() error { return Partition(cfg, "nosuch") }},
		{"Start", func() error { return Start(context.Background(), cfg, "nosuch") }},
		{"Restart", func() error { return Restart(context.Background(), cfg, "nosuch") }},
		{"Stop", func() error { return Stop(cfg, "nosuch") }},
	} {
		if err := c.f(); err == nil || !strings.Contains(err.Error(), "nosuch") {
			t.Errorf("%s of a machine that does not exist: got %v, want an error naming it", c.op, err)
		}
	}
	if err := Heal(cfg, "Bad_Name"); err == nil || !strings.Contains(err.Error(), "Bad_Name") {
		t.Errorf("Heal of an invalid name: got %v, want an error naming it", err)
	}
}

// TestFaultMachines boots two bare machines on their own bridge and applies
// every fault to one of them, checking it from the other machine and the host.
func TestFaultMachines(t *testing.T) {
	if testing.Short() {
		t.Skip("boots machines; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("boots machines with systemd-nspawn: needs root")
	}
	cfg := Config{
		StateDir: t.TempDir(),
		CacheDir: DefaultCacheDir(os.Getenv),
		Bridge:   faultBridge,
		CIDR:     netip.MustParsePrefix(faultCIDR),
		Packages: []string{"iputils-ping"},
		Log:      logWriter{t},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Leftovers of an interrupted earlier run on this test's own bridge.
	if err := Cleanup(ctx, cfg); err != nil {
		t.Fatalf("cleanup before the test: %v", err)
	}
	if err := Preflight(cfg); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if _, err := EnsureImage(ctx, cfg); err != nil {
		t.Skipf("no sandbox image (it is neither cached nor buildable here): %v", err)
	}
	names := []string{"flt-a", "flt-b"}
	addrs := []netip.Addr{netip.MustParseAddr("10.213.198.11"), netip.MustParseAddr("10.213.198.12")}
	a, b := names[0], names[1]
	url := "http://" + addrs[1].String() + ":8080/hostname"
	t.Cleanup(func() {
		for _, n := range names {
			_ = Thaw(cfg, n) // a frozen machine would not stop cleanly
		}
		if err := Cleanup(context.Background(), cfg); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		assertNothingLeft(t, cfg, names)
	})

	if err := NetworkUp(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	boot := time.Now()
	for i, n := range names {
		if err := MachineUp(ctx, cfg, n, addrs[i], Boot{UserData: faultUserData}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		waitCloudInit(ctx, t, cfg, n)
	}
	t.Logf("two machines up, cloud-init done, in %s", since(boot))
	startWeb(ctx, t, cfg, b, addrs[1])

	// Every probe must work before each fault, or its failure during the fault proves nothing.
	// Each gets 30 s: one attempt (2 s) can miss on a machine busy with other tests, and the
	// tests log how long recovery took rather than assert it.
	const settle = 30 * time.Second
	reachable := func(what string) {
		t.Helper()
		if err := eventually(settle, func() error { return fromMachine(ctx, cfg, a, url) }); err != nil {
			t.Fatalf("%s: %s -> %s over HTTP: %v", what, a, b, err)
		}
		if err := eventually(settle, func() error { return fromHost(url) }); err != nil {
			t.Fatalf("%s: host -> %s over HTTP: %v", what, b, err)
		}
		if err := eventually(settle, func() error { return ping(ctx, cfg, a, addrs[1]) }); err != nil {
			t.Fatalf("%s: %s -> %s ping: %v", what, a, b, err)
		}
	}
	reachable("before the faults")

	t.Run("Freeze", func(t *testing.T) {
		start := time.Now()
		if err := Freeze(cfg, b); err != nil {
			t.Fatal(err)
		}
		t.Logf("Freeze returned after %s", since(start))
		if err := Freeze(cfg, b); err != nil {
			t.Errorf("second Freeze: %v", err)
		}
		if frozen, err := Frozen(cfg, b); err != nil || !frozen {
			t.Errorf("Frozen(%s) = %v, %v after Freeze", b, frozen, err)
		}
		if frozen, err := Frozen(cfg, a); err != nil || frozen {
			t.Errorf("Frozen(%s) = %v, %v: the other machine", a, frozen, err)
		}
		checkFrozenByKernel(t, cfg, b, true)
		if m, _ := machine(cfg, b); !m.Running() {
			t.Errorf("%s does not run while frozen: %+v", b, m)
		}
		start = time.Now()
		err := fromMachine(ctx, cfg, a, url)
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("%s -> frozen %s over HTTP: got %v, want a timeout", a, b, err)
		}
		t.Logf("%s -> frozen %s over HTTP failed after %s: %v", a, b, since(start), firstLine(err))
		if err := fromHost(url); err == nil {
			t.Errorf("host -> frozen %s over HTTP worked", b)
		}
		// The frozen machine's kernel still answers (notes §6b): not a fault of Freeze.
		t.Logf("%s -> frozen %s ping: %v (the kernel answers)", a, b, ping(ctx, cfg, a, addrs[1]))

		start = time.Now()
		if err := Thaw(cfg, b); err != nil {
			t.Fatal(err)
		}
		t.Logf("Thaw returned after %s", since(start))
		if frozen, err := Frozen(cfg, b); err != nil || frozen {
			t.Errorf("Frozen(%s) = %v, %v after Thaw", b, frozen, err)
		}
		checkFrozenByKernel(t, cfg, b, false)
		if err := Thaw(cfg, b); err != nil {
			t.Errorf("second Thaw: %v", err)
		}
		reachable("after Thaw")
		t.Logf("reachable %s after Thaw", since(start))
	})

	t.Run("Partition", func(t *testing.T) {
		hostProxy := netip.AddrPortFrom(cfg.HostAddr(), aptProxyPort).String()
		if err := eventually(settle, func() error { return tcpFromMachine(ctx, cfg, b, hostProxy) }); err != nil {
			t.Fatalf("%s -> host %s before the partition: %v", b, hostProxy, err)
		}
		start := time.Now()
		for range 2 { // idempotent
			if err := Partition(cfg, b); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("Partition (twice) took %s", since(start))
		if got, err := Partitioned(cfg); err != nil || !slices.Equal(got, []string{b}) {
			t.Errorf("Partitioned = %q, %v; want [%s]", got, err, b)
		}
		for _, n := range names {
			if m, _ := machine(cfg, n); !m.Running() {
				t.Errorf("%s does not run during the partition", n)
			}
		}
		if err := ping(ctx, cfg, a, addrs[1]); err == nil {
			t.Errorf("%s -> partitioned %s: ping answered", a, b)
		}
		if err := ping(ctx, cfg, b, addrs[0]); err == nil {
			t.Errorf("partitioned %s -> %s: ping answered", b, a)
		}
		if err := fromMachine(ctx, cfg, a, url); err == nil {
			t.Errorf("%s -> partitioned %s over HTTP worked", a, b)
		}
		if err := fromHost(url); err == nil {
			t.Errorf("host -> partitioned %s over HTTP worked", b)
		}
		if err := tcpFromMachine(ctx, cfg, b, hostProxy); err == nil {
			t.Errorf("partitioned %s -> host %s: TCP connected", b, hostProxy)
		}
		// Only b is cut off: a still reaches the host.
		if err := eventually(settle, func() error { return tcpFromMachine(ctx, cfg, a, hostProxy) }); err != nil {
			t.Errorf("%s -> host %s while %s is partitioned: %v", a, hostProxy, b, err)
		}

		// Heal removes exactly one machine's partition.
		if err := Partition(cfg, a); err != nil {
			t.Fatal(err)
		}
		if got, err := Partitioned(cfg); err != nil || !slices.Equal(got, names) {
			t.Errorf("Partitioned = %q, %v; want %q", got, err, names)
		}
		if err := Heal(cfg, a); err != nil {
			t.Fatal(err)
		}
		if got, err := Partitioned(cfg); err != nil || !slices.Equal(got, []string{b}) {
			t.Errorf("after Heal(%s): Partitioned = %q, %v; want [%s]", a, got, err, b)
		}
		if err := eventually(settle, func() error { return tcpFromMachine(ctx, cfg, a, hostProxy) }); err != nil {
			t.Errorf("%s -> host after its Heal: %v", a, err)
		}
		if err := fromHost(url); err == nil {
			t.Errorf("host -> %s over HTTP worked after healing only %s", b, a)
		}

		start = time.Now()
		for range 2 { // idempotent
			if err := Heal(cfg, b); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := Partitioned(cfg); err != nil || len(got) != 0 {
			t.Errorf("after healing all: Partitioned = %q, %v; want none", got, err)
		}
		if err := eventually(10*time.Second, func() error { return fromHost(url) }); err != nil {
			t.Fatalf("host -> %s after Heal: %v", b, err)
		}
		t.Logf("host reaches %s %s after Heal", b, since(start))
		reachable("after Heal")
	})

	t.Run("Kill", func(t *testing.T) {
		if _, _, err := Exec(ctx, cfg, b, "sh", "-c", "echo written-before-the-crash > /root/marker"); err != nil {
			t.Fatal(err)
		}
		before, _ := machine(cfg, b)
		start := time.Now()
		if err := Kill(cfg, b); err != nil {
			t.Fatal(err)
		}
		t.Logf("Kill returned after %s", since(start))
		if err := eventually(settle, func() error {
			if m, _ := machine(cfg, b); m.Running() {
				return fmt.Errorf("Machines shows %s running: %+v", b, m)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s not running %s after the kill", b, since(start))
		checkDead(t, cfg, b, before)
		if m, _ := machine(cfg, a); !m.Running() {
			t.Errorf("%s stopped when %s was killed", a, b)
		}
		if err := Kill(cfg, b); err == nil || !strings.Contains(err.Error(), b) {
			t.Errorf("Kill of a dead machine: got %v, want an error naming it", err)
		}

		// The crashed machine boots again on its disk, with MachineUp's own arguments.
		start = time.Now()
		if err := MachineUp(ctx, cfg, b, addrs[1], Boot{UserData: faultUserData}); err != nil {
			t.Fatal(err)
		}
		t.Logf("MachineUp after the kill returned after %s", since(start))
		if err := eventually(30*time.Second, func() error { return ping(ctx, cfg, a, addrs[1]) }); err != nil {
			t.Fatalf("%s -> restarted %s: %v", a, b, err)
		}
		t.Logf("%s answers ping %s after MachineUp started", b, since(start))
		waitCloudInit(ctx, t, cfg, b)
		checkOutput(ctx, t, cfg, b, "written-before-the-crash", "cat", "/root/marker")
		startWeb(ctx, t, cfg, b, addrs[1])
		reachable("after the restart")
		t.Logf("%s serves HTTP again %s after MachineUp started", b, since(start))
	})

	t.Run("Restart", func(t *testing.T) {
		before, _ := machine(cfg, b)
		start := time.Now()
		if err := Restart(ctx, cfg, b); err != nil {
			t.Fatal(err)
		}
		t.Logf("Restart returned after %s", since(start))
		after, _ := machine(cfg, b)
		if !after.Running() || after.NspawnPID == before.NspawnPID || alive(before.LeaderPID) {
			t.Errorf("Restart did not boot %s anew: before %+v, after %+v", b, before, after)
		}
		if err := eventually(30*time.Second, func() error { return ping(ctx, cfg, a, addrs[1]) }); err != nil {
			t.Fatalf("%s -> restarted %s: %v", a, b, err)
		}
		checkOutput(ctx, t, cfg, b, "written-before-the-crash", "cat", "/root/marker")
		t.Logf("%s answers ping %s after Restart started", b, since(start))
	})

	t.Run("KillFrozen", func(t *testing.T) {
		if err := Freeze(cfg, b); err != nil {
			t.Fatal(err)
		}
		before, _ := machine(cfg, b)
		start := time.Now()
		if err := Kill(cfg, b); err != nil {
			t.Fatal(err)
		}
		t.Logf("Kill of the frozen machine returned after %s", since(start))
		checkDead(t, cfg, b, before)
		if frozen, err := Frozen(cfg, b); err != nil || frozen {
			t.Errorf("Frozen(%s) = %v, %v after Kill", b, frozen, err)
		}
		start = time.Now()
		if err := Start(ctx, cfg, b); err != nil {
			t.Fatal(err)
		}
		if err := eventually(30*time.Second, func() error { return ping(ctx, cfg, a, addrs[1]) }); err != nil {
			t.Fatalf("%s -> %s started again: %v", a, b, err)
		}
		t.Logf("%s answers ping %s after Start", b, since(start))
	})

	// NetworkDown (through Cleanup) must delete the table Partition created.
	if out, err := exec.Command("nft", "list", "tables", "bridge").Output(); err != nil || !strings.Contains(string(out), cfg.nftTable()+"\n") {
		t.Errorf("nft table %s is missing before cleanup (%v): %s", cfg.nftTable(), err, out)
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func waitCloudInit(ctx context.Context, t *testing.T, cfg Config, name string) {
	t.Helper()
	_, err := WaitCloudInit(ctx, cfg, name)
	var me *MachineError
	if errors.As(err, &me) {
		t.Fatalf("%v\n%s", err, me.Logs)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// startWeb runs a web server serving /etc under the machine's systemd (in its
// cgroup, so that Freeze and Kill reach it) and waits until the host reaches it.
func startWeb(ctx context.Context, t *testing.T, cfg Config, name string, addr netip.Addr) {
	t.Helper()
	if _, _, err := Exec(ctx, cfg, name, "systemd-run", "--unit=flt-web", "python3", "-m", "http.server",
		"8080", "--bind", addr.String(), "--directory", "/etc"); err != nil {
		t.Fatal(err)
	}
	// A second or two; the margin is for a machine busy with other tests.
	if err := waitPort(ctx, addr.String(), 8080, time.Minute); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// fromMachine fetches url inside machine name, with a 2 s timeout.
func fromMachine(ctx context.Context, cfg Config, name, url string) error {
	_, _, err := Exec(ctx, cfg, name, "python3", "-c",
		"import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2).read()", url)
	return err
}

// tcpFromMachine opens a TCP connection to addrPort inside machine name, with a 2 s timeout.
func tcpFromMachine(ctx context.Context, cfg Config, name, addrPort string) error {
	host, port, _ := net.SplitHostPort(addrPort)
	_, _, err := Exec(ctx, cfg, name, "python3", "-c",
		"import sys, socket; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()", host, port)
	return err
}

func ping(ctx context.Context, cfg Config, name string, addr netip.Addr) error {
	_, _, err := Exec(ctx, cfg, name, "ping", "-c", "1", "-W", "1", addr.String())
	return err
}

// fromHost fetches url from the host, with a 2 s timeout and no proxy.
func fromHost(url string) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return err
}

// eventually calls f until it succeeds or d has passed, and returns its last error.
func eventually(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkFrozenByKernel reads the kernel's view of the machine's cgroup2 freezer
// and of each of its processes, independently of Frozen.
func checkFrozenByKernel(t *testing.T, cfg Config, name string, want bool) {
	t.Helper()
	hs, err := hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	u := cgroup2Hierarchy(hs)
	if u == "" {
		t.Logf("no cgroup2 hierarchy: the kernel's freezer state is not checked")
		return
	}
	dir := filepath.Join(u, cfg.cgroupRel(name))
	events, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Contains(string(events), "frozen 1"); got != want {
		t.Errorf("%s: cgroup.events says frozen=%v, want %v:\n%s", name, got, want, events)
	}
	pids := livePIDs([]string{dir})
	if len(pids) < 3 {
		t.Errorf("%s: only %d processes in %s, want nspawn, systemd and its services", name, len(pids), dir)
	}
	for _, pid := range pids {
		// A process stopped by the cgroup2 freezer sleeps in do_freezer_trap,
		// which the kernel reports as its caller get_signal (seen on 6.18).
		wchan, err := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
		if err != nil || string(wchan) == "0" || string(wchan) == "" {
			continue // no symbol names here
		}
		if got := string(wchan) == "do_freezer_trap" || string(wchan) == "get_signal"; got != want {
			t.Errorf("%s: process %d (%s) waits in %s; frozen=%v, want %v", name, pid, strings.Join(cmdline(pid), " "), wchan, got, want)
		}
	}
}

// checkDead checks that nothing of the machine m was is left on the host.
func checkDead(t *testing.T, cfg Config, name string, m Machine) {
	t.Helper()
	for _, pid := range []int{m.NspawnPID, m.LeaderPID} {
		if alive(pid) {
			t.Errorf("%s: process %d (%s) survives the kill", name, pid, strings.Join(cmdline(pid), " "))
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid := atoiOr0(e.Name())
		if argv := cmdline(pid); len(argv) > 0 && filepath.Base(argv[0]) == "systemd-nspawn" && slices.Contains(argv, "--machine="+name) && alive(pid) {
			t.Errorf("%s: nspawn process %d survives the kill", name, pid)
		}
	}
	cgs, _ := cfg.cgroupDirs(name)
	if pids := livePIDs(cgs); len(pids) > 0 {
		t.Errorf("%s: processes %v are left in its cgroups", name, pids)
	}
	if _, err := net.InterfaceByName("vb-" + name); err == nil {
		t.Errorf("%s: vb-%s is left after the kill", name, name)
	}
	if _, err := os.Stat(filepath.Join(cfg.machineDir(name), upperDir, "root/marker")); err != nil {
		t.Errorf("%s: its disk lost /root/marker: %v", name, err)
	}
}
