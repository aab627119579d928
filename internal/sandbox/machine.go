package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
)

// Boot is what a machine is given as the cloud gives a VM: its user-data, and its metadata's
// public keys and attributes (served by the sandbox's metadata service, cloudapi.go).
type Boot struct {
	UserData []byte
	SSHKeys  []string
	Metadata map[string]string
}

// Machine is one machine of a sandbox as its state dir and the process table show it.
type Machine struct {
	Name       string
	Address    netip.Addr
	InstanceID string // cloud-init's instance-id: changes with the user-data
	// NspawnPID is the systemd-nspawn process, LeaderPID the machine's PID 1 (its
	// systemd) as seen from the host; both are 0 when the machine does not run.
	NspawnPID int
	LeaderPID int
}

// Running reports whether the machine's nspawn process runs.
func (m Machine) Running() bool { return m.NspawnPID != 0 }

// machineRecord is machine.json in a machine's state dir.
type machineRecord struct {
	Name       string   `json:"name"`
	Address    string   `json:"address"`
	InstanceID string   `json:"instance_id"`
	Root       string   `json:"root"`
	SSHKeys    []string `json:"ssh_keys,omitempty"`
	// Metadata are the machine's metadata attributes (Boot.Metadata).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Files in a machine's state dir (StateDir/machines/NAME).
const (
	recordFile  = "machine.json"
	pidFile     = "nspawn.pid"
	consoleFile = "console.log"
	upperDir    = "upper" // the overlay's upper dir: everything the machine writes
)

// instanceID names one incarnation of a machine: a new address is a new instance, which
// cloud-init runs from scratch. A new user-data is not, as in the cloud: cloud-init applies
// user-data once, and pghac rolls later changes out over SSH.
func instanceID(name string, addr netip.Addr) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\n%s\n", name, addr))
	return name + "-" + hex.EncodeToString(h[:])[:12]
}

// MachineUp boots machine name with address addr and the given cloud-init
// user-data, and returns once its PID 1 runs (cloud-init then runs inside: see
// WaitCloudInit). The machine boots the cached image (EnsureImage, built first if
// needed) through an overlay whose upper dir keeps its writes, gets its NoCloud
// seed and an apt proxy setting in that upper dir, and starts in cgroups of its
// own. It is idempotent: the same machine (name and address) already running is left
// alone, whatever user-data it is given now: as in the cloud, cloud-init applied the first
// one, and pghac rolls changes out over SSH. The same name running with another address is
// an error (MachineDown first). A stopped machine boots again with its disk as it was. sshKeys
// are public keys the machine's metadata carries, as a cloud's does: cloud-init authorizes
// them for the image's default user.
func MachineUp(ctx context.Context, cfg Config, name string, addr netip.Addr, boot Boot) error {
	userData, sshKeys := boot.UserData, boot.SSHKeys
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	if err := cfg.checkAddr(addr); err != nil {
		return err
	}
	if _, err := net.InterfaceByName(cfg.Bridge); err != nil {
		return fmt.Errorf("the sandbox network is not up (no bridge %s): bring it up first (pghac up)", cfg.Bridge)
	}
	id := instanceID(name, addr)
	ms, err := Machines(cfg)
	if err != nil {
		return err
	}
	for _, m := range ms {
		switch {
		case m.Name == name && m.Running() && m.InstanceID == id:
			cfg.logf("%s: already running (pid %d)", name, m.NspawnPID)
			return nil
		case m.Name == name && m.Running():
			return fmt.Errorf("machine %s already runs another instance (%s): take it down first", name, m.InstanceID)
		case m.Name != name && m.Running() && m.Address == addr:
			return fmt.Errorf("address %s is already used by machine %s", addr, m.Name)
		}
	}
	root, err := EnsureImage(ctx, cfg)
	if err != nil {
		return err
	}
	dir := cfg.machineDir(name)
	if rec, err := readRecord(dir); err == nil && (rec.InstanceID != id || rec.Root != root) {
		cfg.logf("%s: discarding the disk of instance %s", name, rec.InstanceID)
		if err := removeTree(dir); err != nil {
			return err
		}
	}
	if err := removeStaleWorkdirs(dir); err != nil {
		return err
	}
	upper := filepath.Join(dir, upperDir)
	if err := os.MkdirAll(upper, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(upper, 0o755); err != nil { // the overlay's / takes the upper dir's mode
		return err
	}
	files, err := cfg.seedFiles(name, addr, id, userData, sshKeys)
	if err != nil {
		return err
	}
	// The sandbox CA, trusted from the first boot (s3TrustFiles), whether or not the cluster
	// has backups yet: turning them on later must not need the machines made again.
	if err := cfg.ensureS3CA(); err != nil {
		return err
	}
	trust, err := cfg.s3TrustFiles(root)
	if err != nil {
		return err
	}
	files = append(files, trust...)
	for _, f := range files {
		if err := writeInUpper(root, upper, f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	// Its metadata, before it boots and asks for it.
	if err := cfg.registerMachine(addr, boot.Metadata); err != nil {
		return err
	}
	rec := machineRecord{Name: name, Address: addr.String(), InstanceID: id, Root: root, SSHKeys: sshKeys, Metadata: boot.Metadata}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, recordFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	cgs, err := cfg.cgroupDirs(name)
	if err != nil {
		return err
	}
	for _, d := range cgs {
		if pids := cgroupPIDs(d); len(pids) > 0 {
			return fmt.Errorf("machine %s: processes %v are left in %s from an earlier run: take it down first", name, pids, d)
		}
		_ = removeCgroupTree(d) // empty payload/supervisor dirs of an earlier run
	}
	argv := []string{"/usr/bin/systemd-nspawn", "-D", root, "--overlay=" + root + ":" + upper + ":/",
		"-b", "--register=no", "--keep-unit", "--machine=" + name, "--network-bridge=" + cfg.Bridge,
		"--console=read-only", "--link-journal=no"}
	cfg.logf("%s: booting %s on %s", name, addr, cfg.Bridge)
	_ = os.Remove(filepath.Join(dir, pidFile))
	pid, err := startDetached(cgs, filepath.Join(dir, consoleFile), argv)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if leaderPID(pid) != 0 {
			return nil
		}
		if !alive(pid) || time.Now().After(deadline) || ctx.Err() != nil {
			console, _ := os.ReadFile(filepath.Join(dir, consoleFile))
			stopErr := stopMachine(cfg, name, pid, cgs)
			return errors.Join(fmt.Errorf("machine %s did not start:%s", name, indentTail(string(console), 15)), stopErr, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seedFile is a file written into a machine's upper dir before it boots.
type seedFile struct {
	path string // inside the machine
	data []byte
	mode os.FileMode
}

// seedFiles are the NoCloud seed (user-data as given, meta-data with the public keys,
// network-config with the static address on host0 and no gateway: machines have no route
// out, but one to the metadata service's link-local address through the host, which serves
// it as the cloud does) and the apt proxy setting (the bridge address is per sandbox, so it is
// not baked).
func (c Config) seedFiles(name string, addr netip.Addr, id string, userData []byte, sshKeys []string) ([]seedFile, error) {
	meta, err := yaml.Marshal(struct {
		InstanceID    string   `yaml:"instance-id"`
		LocalHostname string   `yaml:"local-hostname"`
		PublicKeys    []string `yaml:"public-keys,omitempty"`
	}{id, name, sshKeys})
	if err != nil {
		return nil, err
	}
	type route struct {
		To  string `yaml:"to"`
		Via string `yaml:"via"`
	}
	type ethernet struct {
		Addresses []string `yaml:"addresses"`
		Routes    []route  `yaml:"routes"`
	}
	netcfg, err := yaml.Marshal(struct {
		Version   int                 `yaml:"version"`
		Ethernets map[string]ethernet `yaml:"ethernets"`
	}{2, map[string]ethernet{"host0": {
		Addresses: []string{fmt.Sprintf("%s/%d", addr, c.CIDR.Bits())},
		Routes:    []route{{To: model.MetadataAddr + "/32", Via: c.HostAddr().String()}},
	}}})
	if err != nil {
		return nil, err
	}
	proxy := fmt.Sprintf("// Written by pghac: the sandbox's apt proxy on the bridge.\nAcquire::http::Proxy %q;\n", c.ProxyURL())
	seed := "/var/lib/cloud/seed/nocloud/"
	return []seedFile{
		{seed + "user-data", userData, 0o600},
		{seed + "meta-data", meta, 0o644},
		{seed + "network-config", netcfg, 0o644},
		{"/etc/apt/apt.conf.d/01pghac-proxy", []byte(proxy), 0o644},
	}, nil
}

// writeInUpper writes a file at path inside the machine into its upper dir. Parent
// directories take the mode and owner of the image's, since an upper dir's own
// directory attributes replace the lower ones in the merged view.
func writeInUpper(root, upper, path string, data []byte, mode os.FileMode) error {
	parts := strings.Split(strings.Trim(filepath.Dir(path), "/"), "/")
	lower, up := root, upper
	for _, p := range parts {
		lower, up = filepath.Join(lower, p), filepath.Join(up, p)
		fi, err := os.Stat(lower)
		perm, uid, gid := os.FileMode(0o755), 0, 0
		if err == nil {
			perm = fi.Mode().Perm()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid, gid = int(st.Uid), int(st.Gid)
			}
		}
		if err := os.Mkdir(up, perm); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := os.Chmod(up, perm); err != nil {
			return err
		}
		if err := os.Lchown(up, uid, gid); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(upper, path), data, mode)
}

// removeStaleWorkdirs removes the overlay workdirs (.#upper<hex>) a hard-killed
// nspawn leaves next to the upper dir.
func removeStaleWorkdirs(dir string) error {
	stale, _ := filepath.Glob(filepath.Join(dir, ".#"+upperDir+"*"))
	for _, s := range stale {
		if err := removeTree(s); err != nil {
			return err
		}
	}
	return nil
}

func readRecord(dir string) (machineRecord, error) {
	var rec machineRecord
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", filepath.Join(dir, recordFile), err)
	}
	return rec, nil
}

// nspawnPID is the PID in a machine's pid file if that process is its nspawn.
func nspawnPID(dir, name string) int {
	pid, err := readPID(filepath.Join(dir, pidFile))
	if err != nil || !alive(pid) {
		return 0
	}
	argv := cmdline(pid)
	if len(argv) == 0 || filepath.Base(argv[0]) != "systemd-nspawn" || !slices.Contains(argv, "--machine="+name) {
		return 0 // the pid was reused by another process
	}
	return pid
}

// leaderPID is the machine's PID 1 (systemd, a child of nspawn in a PID namespace
// of its own), or 0 while it has not started.
func leaderPID(nspawn int) int {
	if nspawn == 0 {
		return 0
	}
	self, _ := os.Readlink("/proc/self/ns/pid")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); !ok || st.ppid != nspawn || st.state == 'Z' {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		ns, _ := os.Readlink("/proc/" + e.Name() + "/ns/pid")
		if strings.TrimSpace(string(comm)) == "systemd" && ns != self {
			return pid
		}
	}
	return 0
}

// Machines lists the sandbox's machines (running or not), sorted by name.
func Machines(cfg Config) ([]Machine, error) {
	ents, err := os.ReadDir(cfg.machinesDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ms []Machine
	for _, e := range ents {
		if !e.IsDir() || checkName(e.Name()) != nil {
			continue
		}
		dir := cfg.machineDir(e.Name())
		rec, err := readRecord(dir)
		if err != nil {
			continue
		}
		m := Machine{Name: e.Name(), InstanceID: rec.InstanceID, NspawnPID: nspawnPID(dir, e.Name())}
		m.Address, _ = netip.ParseAddr(rec.Address)
		m.LeaderPID = leaderPID(m.NspawnPID)
		ms = append(ms, m)
	}
	return ms, nil
}

func machine(cfg Config, name string) (Machine, error) {
	if err := checkName(name); err != nil {
		return Machine{}, err
	}
	ms, err := Machines(cfg)
	if err != nil {
		return Machine{}, err
	}
	for _, m := range ms {
		if m.Name == name {
			return m, nil
		}
	}
	return Machine{}, fmt.Errorf("no sandbox machine %s", name)
}

// MachineDown stops machine name and removes everything it had: processes,
// cgroups, veth, nspawn's leftovers, and its state dir with its disk. It stops the
// machine cleanly (SIGTERM to nspawn halts it in about 2 s) and kills what is left
// after 20 s through the machine's PID 1 and its cgroups (SIGKILL of nspawn alone
// would orphan the machine). Nothing to stop is success.
func MachineDown(ctx context.Context, cfg Config, name string) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	dir := cfg.machineDir(name)
	cgs, err := cfg.cgroupDirs(name)
	if err != nil {
		return err
	}
	rec, _ := readRecord(dir)
	pid := nspawnPID(dir, name)
	if pid != 0 {
		cfg.logf("%s: shutting down (pid %d)", name, pid)
	}
	errs := []error{stopMachine(cfg, name, pid, cgs)}
	if _, err := net.InterfaceByName("vb-" + name); err == nil {
		if _, err := run(ctx, "ip", "link", "del", "vb-"+name); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, removeTree(filepath.Join("/run/systemd/nspawn/propagate", name)))
	if rec.Root != "" {
		removeImageLock(rec.Root)
	}
	if addr, err := netip.ParseAddr(rec.Address); err == nil {
		errs = append(errs, cfg.forgetMachine(addr))
	}
	if err := removeTree(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stopMachine stops nspawn pid (0: not running) and whatever is left in the
// machine's cgroups, then removes the cgroups.
func stopMachine(cfg Config, name string, pid int, cgs []string) error {
	if pid != 0 {
		_ = signal(pid, syscall.SIGTERM)
		if !waitGone(pid, 20*time.Second) {
			cfg.logf("%s: no clean shutdown after 20 s, killing it", name)
			if l := leaderPID(pid); l != 0 {
				_ = signal(l, syscall.SIGKILL) // nspawn then cleans up after itself
			}
			waitGone(pid, 5*time.Second)
		}
	}
	var errs []error
	if err := killCgroup(cgs, 10*time.Second); err != nil {
		errs = append(errs, err)
	}
	if pid != 0 && alive(pid) {
		_ = signal(pid, syscall.SIGKILL)
		waitGone(pid, 5*time.Second)
	}
	for _, d := range cgs {
		if err := removeCgroupTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeImageLock removes the lock files nspawn keeps for an image root
// (/run/systemd/nspawn/locks/inode-DEV:INO and .#NAME.lck next to the root) when
// no nspawn uses that root any more: a killed nspawn leaves them behind.
func removeImageLock(root string) {
	var st syscall.Stat_t
	if err := syscall.Stat(root, &st); err != nil {
		return
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		argv := cmdline(pid)
		if len(argv) > 0 && filepath.Base(argv[0]) == "systemd-nspawn" && slices.Contains(argv, root) && alive(pid) {
			return
		}
	}
	_ = os.Remove(fmt.Sprintf("/run/systemd/nspawn/locks/inode-%d:%d", st.Dev, st.Ino))
	_ = os.Remove(filepath.Join(filepath.Dir(root), ".#"+filepath.Base(root)+".lck"))
}
