package sandbox

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// tools are the host programs the sandbox runs, with the Debian package that has each.
var tools = []struct{ bin, pkg string }{
	{"systemd-nspawn", "systemd-container"},
	{"debootstrap", "debootstrap"},
	{"apt-cacher-ng", "apt-cacher-ng"},
	{"ip", "iproute2"},
	{"nsenter", "util-linux"},
	{"nft", "nftables"},
}

// HostPackages are the Debian packages the host needs for the sandbox (`make deps`).
func HostPackages() []string {
	var p []string
	for _, t := range tools {
		p = append(p, t.pkg)
	}
	return p
}

// Preflight checks what the sandbox needs from the host: root, the tools, cgroups,
// a valid config, and a sandbox network that no host address or route uses (the
// sandbox's own bridge excepted). Each problem is one sentence naming the fix;
// all of them are returned together (errors.Join).
func Preflight(cfg Config) error {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("the sandbox needs root (network namespaces, bridges, cgroups): run pghac with sudo"))
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t.bin); err != nil {
			if _, err := os.Stat("/usr/sbin/" + t.bin); err != nil {
				errs = append(errs, fmt.Errorf("%s is missing: install it with `apt-get install %s` (or `make deps`)", t.bin, t.pkg))
			}
		}
	}
	if _, err := hierarchies(); err != nil {
		errs = append(errs, fmt.Errorf("%v: mount cgroups (the sandbox gives every machine its own cgroup)", err))
	}
	if err := cfg.validate(); err != nil {
		errs = append(errs, err)
	} else if err := checkFree(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// hostNet is a network the host already uses: an interface address or a route.
type hostNet struct {
	prefix netip.Prefix
	dev    string
	what   string // "address" or "route"
}

// checkFree fails when the sandbox network overlaps a host address or route on any
// device but the sandbox's own bridge.
func checkFree(cfg Config) error {
	nets, err := hostNets()
	if err != nil {
		return err
	}
	return overlap(cfg, nets)
}

func overlap(cfg Config, nets []hostNet) error {
	want := cfg.CIDR.Masked()
	for _, n := range nets {
		if n.dev == cfg.Bridge || n.prefix.Bits() == 0 {
			continue // our own bridge; default routes overlap everything and do not count
		}
		if n.prefix.Overlaps(want) {
			return fmt.Errorf("the sandbox network %s is occupied: the host has %s %s on %s; pick another sandbox network in cluster.hcl", want, n.what, n.prefix, n.dev)
		}
	}
	if _, err := net.InterfaceByName(cfg.Bridge); err == nil && !isBridge(cfg.Bridge) {
		return fmt.Errorf("the sandbox bridge name %s is taken by a host interface that is not a bridge; pick another bridge name", cfg.Bridge)
	}
	return nil
}

// hostNets lists the host's IPv4 interface addresses and routes (all tables).
func hostNets() ([]hostNet, error) {
	var nets []hostNet
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err == nil && p.Addr().Is4() {
				nets = append(nets, hostNet{p.Masked(), ifc.Name, "address"})
			}
		}
	}
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nets, nil
	}
	return append(nets, parseProcRoute(b)...), nil
}

// parseProcRoute reads /proc/net/route (little-endian hex destination and mask).
func parseProcRoute(b []byte) []hostNet {
	var nets []hostNet
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, err1 := hex.DecodeString(f[1])
		mask, err2 := hex.DecodeString(f[7])
		if err1 != nil || err2 != nil || len(dst) != 4 || len(mask) != 4 {
			continue
		}
		bits := 0
		for m := binary.LittleEndian.Uint32(mask); m != 0; m >>= 1 {
			bits += int(m & 1)
		}
		a := netip.AddrFrom4([4]byte{dst[3], dst[2], dst[1], dst[0]}) // printed as a little-endian u32
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		nets = append(nets, hostNet{p, f[0], "route"})
	}
	return nets
}
