package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// aptProxyPort is apt-cacher-ng's port on the bridge address.
const aptProxyPort = 3142

var acngTmpl = template.Must(template.ParseFS(templates, "templates/acng.conf.tmpl"))

// bridgeMAC is the bridge's fixed MAC, derived from the host address: without an
// explicit one a bridge takes its ports' lowest MAC, which changes as machines come and go.
func (c Config) bridgeMAC() string {
	a := c.HostAddr().As4()
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
}

// NetworkUp creates the bridge (fixed MAC, the host address) and starts the apt
// proxy on it. It is idempotent: what is already up is checked and kept.
func NetworkUp(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	hostCIDR := netipPrefixString(cfg)
	if link, err := net.InterfaceByName(cfg.Bridge); err == nil {
		if !isBridge(cfg.Bridge) {
			return fmt.Errorf("%s exists and is not a bridge: pick another sandbox bridge name", cfg.Bridge)
		}
		if !hasAddr(link, hostCIDR) {
			return fmt.Errorf("bridge %s exists without the address %s: run `pghac down` to remove it, or pick another bridge name", cfg.Bridge, hostCIDR)
		}
	} else {
		if err := checkFree(cfg); err != nil {
			return err
		}
		cfg.logf("network: bridge %s with %s", cfg.Bridge, hostCIDR)
		steps := [][]string{
			{"link", "add", cfg.Bridge, "address", cfg.bridgeMAC(), "type", "bridge"},
			{"addr", "add", hostCIDR, "dev", cfg.Bridge},
			{"link", "set", cfg.Bridge, "up"},
		}
		for _, s := range steps {
			if _, err := run(ctx, "ip", s...); err != nil {
				return err
			}
		}
	}
	return startProxy(ctx, cfg)
}

func netipPrefixString(cfg Config) string {
	return fmt.Sprintf("%s/%d", cfg.HostAddr(), cfg.CIDR.Bits())
}

func isBridge(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name, "bridge"))
	return err == nil
}

func hasAddr(link *net.Interface, cidr string) bool {
	addrs, err := link.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.String() == cidr {
			return true
		}
	}
	return false
}

// NetworkRunning reports whether the sandbox's bridge exists (NetworkUp made it).
func NetworkRunning(cfg Config) bool {
	_, err := net.InterfaceByName(cfg.Bridge)
	return err == nil && isBridge(cfg.Bridge)
}

// NetworkDown stops the apt proxy, the stand-in jump host, the S3 server and the cloud API
// and deletes the bridge and pghac's nft tables;
// what is already gone is fine. Machines still attached lose their network.
func NetworkDown(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	var errs []error
	if err := stopProxy(cfg); err != nil {
		errs = append(errs, err)
	}
	if err := JumpDown(cfg); err != nil {
		errs = append(errs, err)
	}
	if err := S3Down(cfg); err != nil {
		errs = append(errs, err)
	}
	if err := CloudAPIDown(cfg); err != nil {
		errs = append(errs, err)
	}
	if _, err := os.Stat("/usr/sbin/nft"); err == nil {
		// Faults and the S3 guard use the bridge table, the metadata redirect the ip one:
		// delete them so no rule outlives the bridge.
		for _, family := range []string{"bridge", "ip"} {
			if out, err := run(ctx, "nft", "list", "tables", family); err == nil && bytes.Contains(out, []byte(" "+cfg.nftTable()+"\n")) {
				if _, err := run(ctx, "nft", "delete", "table", family, cfg.nftTable()); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if _, err := net.InterfaceByName(cfg.Bridge); err == nil && isBridge(cfg.Bridge) {
		cfg.logf("network: deleting bridge %s", cfg.Bridge)
		if _, err := run(ctx, "ip", "link", "del", cfg.Bridge); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// nftTable is the name of the sandbox's nft table (bridge family).
func (c Config) nftTable() string {
	return "pghac_" + strings.NewReplacer("-", "_", ".", "_").Replace(c.Bridge)
}

// acngRemap is one Remap- line: requests for Prefixes are served from Backend.
type acngRemap struct{ Name, Prefixes, Backend string }

func (c Config) acngConfig(m mirrors) ([]byte, error) {
	var remaps []acngRemap
	for _, s := range m.Sources {
		u, err := url.Parse(s.URI)
		if err != nil {
			return nil, fmt.Errorf("host apt source %q: %w", s.URI, err)
		}
		hostPath := u.Host + strings.TrimSuffix(u.Path, "/")
		name := "debrep"
		prefixes := "file:deb_mirror*.gz /debian " + hostPath
		if strings.HasSuffix(s.Suite, "-security") {
			name = "secdeb"
			prefixes = "security.debian.org security.debian.org/debian-security deb.debian.org/debian-security " + hostPath
		}
		dup := false
		for _, r := range remaps {
			dup = dup || r.Name == name
		}
		if !dup {
			remaps = append(remaps, acngRemap{name, prefixes, s.URI})
		}
	}
	var b bytes.Buffer
	err := acngTmpl.Execute(&b, struct {
		Dir, Addr string
		Port      int
		Remaps    []acngRemap
	}{c.proxyDir(), c.HostAddr().String(), aptProxyPort, remaps})
	return b.Bytes(), err
}

// proxyPID returns the running apt proxy's PID, or 0.
func (c Config) proxyPID() int {
	pid, err := readPID(filepath.Join(c.proxyDir(), "pid"))
	if err != nil || !alive(pid) {
		return 0
	}
	if argv := cmdline(pid); len(argv) == 0 || !strings.HasSuffix(argv[0], "apt-cacher-ng") {
		return 0
	}
	return pid
}

// proxyStartTimeout is how long apt-cacher-ng may take to listen: seconds on a loaded
// two-core host, so give it a minute rather than fail a bring-up.
const proxyStartTimeout = time.Minute

// startProxy runs apt-cacher-ng in the foreground of its own session with its own
// config dir under StateDir (the Debian package's config points at an upstream the
// host may not reach), bound to the bridge address only.
func startProxy(ctx context.Context, cfg Config) error {
	if cfg.proxyPID() != 0 {
		return waitPort(ctx, cfg.HostAddr().String(), aptProxyPort, proxyStartTimeout)
	}
	if l := tcpListener(cfg.HostAddr(), aptProxyPort); l != "" {
		return fmt.Errorf("port %d on %s is taken (a listener on %s), so the sandbox's apt proxy cannot start: stop that service (for the Debian apt-cacher-ng service: systemctl disable --now apt-cacher-ng)", aptProxyPort, cfg.HostAddr(), l)
	}
	m, err := hostMirrors("/")
	if err != nil {
		return err
	}
	conf, err := cfg.acngConfig(m)
	if err != nil {
		return err
	}
	dir := cfg.proxyDir()
	for _, d := range []string{"conf", "cache", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "conf", "acng.conf"), conf, 0o644); err != nil {
		return err
	}
	cfg.logf("network: apt proxy on %s:%d for %s", cfg.HostAddr(), aptProxyPort, m.Main())
	return cfg.proxy().start(ctx, []string{"/usr/sbin/apt-cacher-ng", "-c", filepath.Join(dir, "conf")},
		netip.AddrPortFrom(cfg.HostAddr(), aptProxyPort), proxyStartTimeout)
}

// tcpListener returns the local address of an IPv4 TCP listener on port that
// covers addr (bound to addr itself or to 0.0.0.0), or "".
func tcpListener(addr netip.Addr, port int) string {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return ""
	}
	a := addr.As4()
	own := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], port) // little-endian u32
	any := fmt.Sprintf("00000000:%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[3] == "0A" && (f[1] == own || f[1] == any) { // 0A: LISTEN
			if f[1] == any {
				return fmt.Sprintf("0.0.0.0:%d", port)
			}
			return fmt.Sprintf("%s:%d", addr, port)
		}
	}
	return ""
}

func stopProxy(cfg Config) error { return cfg.proxy().stop() }

// proxy is the apt proxy as a daemon.
func (c Config) proxy() daemon {
	return daemon{cfg: c, what: "apt proxy", cgroup: "apt-proxy", dir: c.proxyDir(),
		logPath: filepath.Join(c.proxyDir(), "apt-cacher-ng.out"), running: c.proxyPID}
}

// waitPort waits until addr:port accepts TCP connections.
func waitPort(ctx context.Context, addr string, port int, d time.Duration) error {
	target := net.JoinHostPort(addr, strconv.Itoa(port))
	deadline := time.Now().Add(d)
	for {
		var dl net.Dialer
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := dl.DialContext(cctx, "tcp", target)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s: %w", target, d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
