package sandbox

// Faults (issue 6): what can happen to one machine of the sandbox, done from the
// host. Kill is a power loss, Freeze a machine that stops dead (a long GC or VM
// pause), Partition a machine cut off the network. All of them rely on the
// per-machine cgroups and the vb-NAME bridge ports MachineUp sets up (notes §3.2,
// §6).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Bounds of the fault operations. They are far above what was measured on an idle
// host (a kill completes in well under a second, a freeze in milliseconds) so
// that a loaded host does not make them fail.
const (
	killTimeout   = 15 * time.Second
	freezeTimeout = 10 * time.Second
	nftTimeout    = 10 * time.Second
)

// Names in the sandbox's nft table (cfg.nftTable(), bridge family) used by
// Partition. "fwd" is an nft keyword; these names are not.
const (
	partitionSet = "partitioned" // host-side ports (vb-NAME) of partitioned machines
	partitionIn  = "partition_in"
	partitionOut = "partition_out"
	partitionFwd = "partition_through"
)

// runningMachine returns machine name and its cgroup directories, or an error
// naming the machine when it does not exist or no process of it runs.
func runningMachine(cfg Config, name string) (Machine, []string, error) {
	if err := cfg.validate(); err != nil {
		return Machine{}, nil, err
	}
	m, err := machine(cfg, name)
	if err != nil {
		return Machine{}, nil, err
	}
	cgs, err := cfg.cgroupDirs(name)
	if err != nil {
		return Machine{}, nil, fmt.Errorf("machine %s: %w", name, err)
	}
	if !m.Running() && len(livePIDs(cgs)) == 0 {
		return Machine{}, nil, fmt.Errorf("machine %s is not running", name)
	}
	return m, cgs, nil
}

// livePIDs lists the processes (not zombies) in the cgroups dirs and below.
func livePIDs(dirs []string) []int {
	var pids []int
	for _, d := range dirs {
		pids = append(pids, cgroupPIDs(d)...)
	}
	slices.Sort(pids)
	return slices.DeleteFunc(slices.Compact(pids), func(pid int) bool { return !alive(pid) })
}

// Kill kills machine name at once, like a power loss: every process of it dies
// together, nspawn included (cgroup.kill on the machine's cgroup2 directory; per
// process SIGKILL where the kernel has no cgroup.kill). A frozen machine is
// killed too. Kill returns once no process of the machine is left and its veth
// is gone, after removing what nspawn would have cleaned up on its way out (its
// propagate dir, the image lock). The machine's disk is kept: Start (or
// MachineUp with the same arguments) boots it again, as after a crash. Killing a
// machine that does not run is an error.
func Kill(cfg Config, name string) error {
	m, cgs, err := runningMachine(cfg, name)
	if err != nil {
		return err
	}
	hs, err := hierarchies()
	if err != nil {
		return fmt.Errorf("machine %s: %w", name, err)
	}
	cfg.logf("%s: kill (power loss)", name)
	// cgroup.kill first, in the cgroup2 tree that holds nspawn and the machine:
	// one write kills them all, so nspawn cannot stop the machine cleanly.
	if u := cgroup2Hierarchy(hs); u != "" {
		kill := filepath.Join(u, cfg.cgroupRel(name), "cgroup.kill")
		if err := os.WriteFile(kill, []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("machine %s: %s: %w", name, kill, err)
		} // no cgroup.kill (Linux < 5.14): killCgroup sends SIGKILL to each process
	}
	// A machine frozen through the v1 freezer only dies when thawed; the SIGKILL
	// is already pending, so nothing runs before it dies.
	thawErr := thaw(cfg, name)
	if err := killCgroup(cgs, killTimeout); err != nil {
		return errors.Join(fmt.Errorf("machine %s: kill: %w", name, err), thawErr)
	}
	if m.NspawnPID != 0 && !waitGone(m.NspawnPID, killTimeout) {
		return fmt.Errorf("machine %s: nspawn (pid %d) still runs %s after the kill", name, m.NspawnPID, killTimeout)
	}
	// The host end of the veth goes when the machine's network namespace is freed,
	// which the kernel does asynchronously: with several machines killed at once that
	// took over 15 s here, and a Start meanwhile fails ("File exists"). Nothing of the
	// machine runs any more, so the veth is deleted rather than waited for.
	if waitLinkGone("vb-"+name, 2*time.Second) != nil {
		if _, err := run(context.Background(), "ip", "link", "del", "vb-"+name); err != nil {
			cfg.logf("%s: ip link del vb-%s: %v", name, name, err) // it may have gone meanwhile
		}
		if err := waitLinkGone("vb-"+name, killTimeout); err != nil {
			return fmt.Errorf("machine %s: %w", name, err)
		}
	}
	var errs []error
	if err := removeTree(filepath.Join("/run/systemd/nspawn/propagate", name)); err != nil {
		errs = append(errs, fmt.Errorf("machine %s: %w", name, err))
	}
	if rec, err := readRecord(cfg.machineDir(name)); err == nil && rec.Root != "" {
		removeImageLock(rec.Root)
	}
	return errors.Join(errs...)
}

// cgroup2Hierarchy is the cgroup2 hierarchy among hs, or "". (The root of a
// cgroup2 hierarchy has cgroup.controllers but no cgroup.kill or cgroup.freeze.)
func cgroup2Hierarchy(hs []string) string {
	for _, h := range hs {
		if fileExists(filepath.Join(h, "cgroup.controllers")) {
			return h
		}
	}
	return ""
}

// waitLinkGone waits until the network interface link no longer exists.
func waitLinkGone(link string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if _, err := net.InterfaceByName(link); err != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still exists %s after the machine died", link, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Start boots machine name again with the address and user-data it was last
// started with (its machine.json and its NoCloud seed), keeping its disk: after a
// Kill it is a crashed machine's restart (cloud-init does not run again, the
// instance is the same). A machine that runs is left alone (as MachineUp).
func Start(ctx context.Context, cfg Config, name string) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	dir := cfg.machineDir(name)
	rec, err := readRecord(dir)
	if err != nil {
		return fmt.Errorf("machine %s cannot be started again: %w", name, err)
	}
	addr, err := netip.ParseAddr(rec.Address)
	if err != nil {
		return fmt.Errorf("machine %s: address %q in %s: %w", name, rec.Address, recordFile, err)
	}
	userData, err := os.ReadFile(filepath.Join(dir, upperDir, "var/lib/cloud/seed/nocloud/user-data"))
	if err != nil {
		return fmt.Errorf("machine %s cannot be started again: its user-data: %w", name, err)
	}
	if id := instanceID(name, addr); id != rec.InstanceID {
		// MachineUp would discard the disk of another instance: refuse instead.
		return fmt.Errorf("machine %s: its record is not that of instance %s: start it with MachineUp", name, rec.InstanceID)
	}
	return MachineUp(ctx, cfg, name, addr, Boot{UserData: userData, SSHKeys: rec.SSHKeys, Metadata: rec.Metadata})
}

// Restart stops machine name cleanly (Stop) and boots it again with its disk
// (Start). A machine that does not run is only started.
func Restart(ctx context.Context, cfg Config, name string) error {
	if err := Stop(cfg, name); err != nil {
		return err
	}
	return Start(ctx, cfg, name)
}

// stopTimeout bounds a clean shutdown. Machines stopped together lose etcd's quorum on
// the way, and Patroni's shutdown then waits on the DCS for a while (retry_timeout): 20 s
// was too short for the last of five.
const stopTimeout = time.Minute

// Stop shuts machine name down cleanly (SIGTERM to nspawn, which halts the
// machine's systemd, as MachineDown does) and keeps its disk: Start boots it again
// as it was. A machine that does not run is left as it is. A machine that does not
// stop within stopTimeout is an error and is left running.
func Stop(cfg Config, name string) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	m, err := machine(cfg, name)
	if err != nil {
		return err
	}
	if !m.Running() {
		return nil
	}
	if frozen, _ := Frozen(cfg, name); frozen {
		return fmt.Errorf("machine %s is frozen: thaw it before a clean shutdown", name)
	}
	cfg.logf("%s: shutting down, keeping its disk (pid %d)", name, m.NspawnPID)
	if err := signal(m.NspawnPID, syscall.SIGTERM); err != nil {
		return fmt.Errorf("machine %s: %w", name, err)
	}
	if !waitGone(m.NspawnPID, stopTimeout) {
		return fmt.Errorf("machine %s did not shut down within %v of SIGTERM to nspawn (pid %d)", name, stopTimeout, m.NspawnPID)
	}
	if err := waitLinkGone("vb-"+name, killTimeout); err != nil {
		return fmt.Errorf("machine %s: %w", name, err)
	}
	return nil
}

// Freeze stops every process of machine name, nspawn included, and returns once
// the kernel reports the machine frozen. It uses the cgroup2 freezer
// (cgroup.freeze on the machine's cgroup; cgroup.events reads "frozen 1"), whose
// frozen processes can still be killed (Kill, MachineDown); hosts without it use
// the v1 freezer (freezer.state FROZEN). A frozen machine's kernel still answers
// pings and completes TCP handshakes, but no process of it runs: requests hang
// until Thaw. Freezing a frozen machine is a no-op; a machine that does not reach
// the frozen state within 10 s is thawed again and the error says so.
func Freeze(cfg Config, name string) error {
	if _, _, err := runningMachine(cfg, name); err != nil {
		return err
	}
	f, err := cfg.freezer(name)
	if err != nil {
		return err
	}
	if b, err := os.ReadFile(f.ctl); err != nil || strings.TrimSpace(string(b)) != f.freeze {
		cfg.logf("%s: freeze", name)
	}
	if err := os.WriteFile(f.ctl, []byte(f.freeze), 0); err != nil {
		return fmt.Errorf("machine %s: freeze (%s): %w", name, f.ctl, err)
	}
	deadline := time.Now().Add(freezeTimeout)
	for {
		frozen, err := f.frozen()
		if err != nil {
			return fmt.Errorf("machine %s: %w", name, err)
		}
		if frozen {
			return nil
		}
		if time.Now().After(deadline) {
			undo := os.WriteFile(f.ctl, []byte(f.thaw), 0)
			return errors.Join(fmt.Errorf("machine %s did not freeze within %s (a process in uninterruptible sleep?); it was thawed again", name, freezeTimeout), undo)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Thaw resumes every process of machine name that Freeze stopped, and returns
// once the kernel reports it thawed. Thawing a machine that is not frozen is a
// no-op.
func Thaw(cfg Config, name string) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if _, err := machine(cfg, name); err != nil {
		return err
	}
	if frozen, err := Frozen(cfg, name); err != nil || frozen {
		cfg.logf("%s: thaw", name)
	}
	return thaw(cfg, name)
}

// thaw thaws the machine in every freezer it has (cgroup2 and v1), whichever
// froze it, and waits until both say so. Missing cgroups are fine.
func thaw(cfg Config, name string) error {
	hs, err := hierarchies()
	if err != nil {
		return fmt.Errorf("machine %s: %w", name, err)
	}
	var fs []freezer
	for _, h := range hs {
		if f, ok := freezerIn(h, cfg.cgroupRel(name)); ok {
			fs = append(fs, f)
		}
	}
	for _, f := range fs {
		if err := os.WriteFile(f.ctl, []byte(f.thaw), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("machine %s: thaw (%s): %w", name, f.ctl, err)
		}
	}
	deadline := time.Now().Add(freezeTimeout)
	for _, f := range fs {
		for {
			frozen, err := f.frozen()
			if errors.Is(err, os.ErrNotExist) || err == nil && !frozen {
				break
			}
			if err != nil {
				return fmt.Errorf("machine %s: %w", name, err)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("machine %s is still frozen %s after thawing (%s)", name, freezeTimeout, f.ctl)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// Frozen reports whether machine name is frozen (or freezing) in any freezer.
func Frozen(cfg Config, name string) (bool, error) {
	if err := cfg.validate(); err != nil {
		return false, err
	}
	if err := checkName(name); err != nil {
		return false, err
	}
	hs, err := hierarchies()
	if err != nil {
		return false, fmt.Errorf("machine %s: %w", name, err)
	}
	for _, h := range hs {
		f, ok := freezerIn(h, cfg.cgroupRel(name))
		if !ok {
			continue
		}
		b, err := os.ReadFile(f.ctl)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("machine %s: %w", name, err)
		}
		// A freeze asked for counts, even before the kernel completed it.
		if s := strings.TrimSpace(string(b)); s == f.freeze || s == "FREEZING" {
			return true, nil
		}
	}
	return false, nil
}

// freezer is one way to freeze a cgroup: the control file, what to write to it,
// and how to read back the state reached.
type freezer struct {
	ctl          string // cgroup.freeze or freezer.state
	freeze, thaw string
	frozen       func() (bool, error)
}

// freezerIn is the freezer of hierarchy h for the cgroup rel, if h has one.
func freezerIn(h, rel string) (freezer, bool) {
	dir := filepath.Join(h, rel)
	switch {
	case fileExists(filepath.Join(h, "cgroup.controllers")): // cgroup2
		events := filepath.Join(dir, "cgroup.events")
		return freezer{filepath.Join(dir, "cgroup.freeze"), "1", "0", func() (bool, error) {
			b, err := os.ReadFile(events)
			if err != nil {
				return false, err
			}
			return bytes.Contains(b, []byte("\nfrozen 1")) || bytes.HasPrefix(b, []byte("frozen 1")), nil
		}}, true
	case filepath.Base(h) == "freezer": // cgroup v1 (freezer.state is not on the root)
		state := filepath.Join(dir, "freezer.state")
		return freezer{state, "FROZEN", "THAWED", func() (bool, error) {
			b, err := os.ReadFile(state)
			if err != nil {
				return false, err
			}
			return strings.TrimSpace(string(b)) == "FROZEN", nil
		}}, true
	}
	return freezer{}, false
}

// freezer picks the freezer Freeze uses for machine name: cgroup2's where the
// host has it (frozen processes stay killable), the v1 freezer otherwise.
func (c Config) freezer(name string) (freezer, error) {
	hs, err := hierarchies()
	if err != nil {
		return freezer{}, fmt.Errorf("machine %s: %w", name, err)
	}
	var v1 *freezer
	for _, h := range hs {
		f, ok := freezerIn(h, c.cgroupRel(name))
		if !ok || !fileExists(f.ctl) {
			continue
		}
		if f.freeze == "1" {
			return f, nil
		}
		v1 = &f
	}
	if v1 == nil {
		return freezer{}, fmt.Errorf("machine %s has no freezer cgroup (no cgroup.freeze or freezer.state under %s)", name, c.cgroupRel(name))
	}
	return *v1, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Partition cuts machine name off from every other machine and from the host at
// the bridge: frames from and to its bridge port vb-NAME are dropped in the
// sandbox's nft table (bridge family; forward for machine to machine, input and
// output for the host), ARP included, so the machine cannot even resolve a peer.
// Its processes and addresses are untouched (its link keeps its carrier), so
// connections hang rather than fail. The rules match the port by name: a
// partitioned machine that is killed and started again stays partitioned. It is
// idempotent; Heal undoes it, NetworkDown and Cleanup delete the whole table.
func Partition(cfg Config, name string) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if _, err := machine(cfg, name); err != nil {
		return err
	}
	t := cfg.nftTable()
	// One transaction: the table, set and chains are (re)declared, the chains
	// flushed and filled again (so a repeat does not add duplicate rules), and the
	// port added to the set. "add" of what exists is no error in nft.
	var b strings.Builder
	fmt.Fprintf(&b, "add table bridge %s\n", t)
	fmt.Fprintf(&b, "add set bridge %s %s { type ifname; }\n", t, partitionSet)
	for _, ch := range []struct{ name, hook, match string }{
		{partitionFwd, "forward", "iifname @%[1]s drop\noifname @%[1]s drop"},
		{partitionIn, "input", "iifname @%[1]s drop"},
		{partitionOut, "output", "oifname @%[1]s drop"},
	} {
		fmt.Fprintf(&b, "add chain bridge %s %s { type filter hook %s priority 0; policy accept; }\n", t, ch.name, ch.hook)
		fmt.Fprintf(&b, "flush chain bridge %s %s\n", t, ch.name)
		for _, r := range strings.Split(fmt.Sprintf(ch.match, partitionSet), "\n") {
			fmt.Fprintf(&b, "add rule bridge %s %s %s\n", t, ch.name, r)
		}
	}
	fmt.Fprintf(&b, "add element bridge %s %s { %q }\n", t, partitionSet, "vb-"+name)
	cfg.logf("%s: partition (drop vb-%s in nft table bridge %s)", name, name, t)
	if err := nftScript(b.String()); err != nil {
		return fmt.Errorf("machine %s: partition: %w", name, err)
	}
	return nil
}

// Heal removes the partition of machine name (its port from the set Partition
// fills); other machines' partitions stay. A machine that is not partitioned is
// a no-op.
func Heal(cfg Config, name string) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	parted, err := Partitioned(cfg)
	if err != nil {
		return fmt.Errorf("machine %s: heal: %w", name, err)
	}
	if !slices.Contains(parted, name) {
		return nil
	}
	cfg.logf("%s: heal", name)
	script := fmt.Sprintf("delete element bridge %s %s { %q }\n", cfg.nftTable(), partitionSet, "vb-"+name)
	if err := nftScript(script); err != nil {
		return fmt.Errorf("machine %s: heal: %w", name, err)
	}
	return nil
}

// Partitioned lists the partitioned machines of the sandbox, sorted by name.
func Partitioned(cfg Config) ([]string, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), nftTimeout)
	defer cancel()
	tables, err := run(ctx, "nft", "list", "tables", "bridge")
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(tables, []byte(" "+cfg.nftTable()+"\n")) {
		return nil, nil
	}
	out, err := run(ctx, "nft", "-j", "list", "table", "bridge", cfg.nftTable())
	if err != nil {
		return nil, err
	}
	return parsePartitioned(out)
}

// parsePartitioned reads the partitioned machines from `nft -j list table` output.
func parsePartitioned(out []byte) ([]string, error) {
	var doc struct {
		Nftables []struct {
			Set *struct {
				Name string            `json:"name"`
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("nft -j list table: %w", err)
	}
	var names []string
	for _, o := range doc.Nftables {
		if o.Set == nil || o.Set.Name != partitionSet {
			continue
		}
		for _, e := range o.Set.Elem {
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return nil, fmt.Errorf("nft set %s: element %s is not an interface name", partitionSet, e)
			}
			if n, ok := strings.CutPrefix(s, "vb-"); ok {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// nftScript runs an nft script as one transaction.
func nftScript(script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), nftTimeout)
	defer cancel()
	cmd := command(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft -f: %w%s", err, indentTail(string(out), 10))
	}
	return nil
}
