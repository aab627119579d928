package sandbox

import (
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"regexp"
)

// Config says where a sandbox keeps its state and which network it owns. The same
// Config must be passed to every call for one sandbox: names of bridges, cgroups
// and state files all derive from it.
type Config struct {
	// StateDir holds the sandbox's runtime state (machines' overlay upper dirs,
	// pid files, console logs, the apt proxy). pghac uses .pghac/sandbox; other
	// files there (secrets, Terraform state) are not the sandbox's and are left alone.
	StateDir string
	// CacheDir holds the cached base roots, shared by every checkout on the host
	// (DefaultCacheDir).
	CacheDir string
	// Bridge is the host bridge the machines attach to (at most 15 characters).
	Bridge string
	// CIDR is the sandbox network (IPv4). The host's bridge gets its first address.
	CIDR netip.Prefix
	// Packages are baked into the cached root (model.OS.Packages); they are part
	// of the image's cache key.
	Packages []string
	// Log receives one line per step; nil discards.
	Log io.Writer
}

// MaxNameLen is the longest machine name: nspawn names the host end of a
// machine's veth "vb-NAME" and Linux interface names have at most 15 characters.
const MaxNameLen = 12

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	bridgeRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

// DefaultCacheDir is $XDG_CACHE_HOME/pghac, or ~/.cache/pghac when it is unset.
// getenv is os.Getenv in the CLI (the only place that reads the environment).
func DefaultCacheDir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "pghac")
	}
	home := getenv("HOME")
	if home == "" {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "pghac")
}

// HostAddr is the bridge's (the host's) address in the sandbox network: the
// first address after the network address.
func (c Config) HostAddr() netip.Addr { return c.CIDR.Masked().Addr().Next() }

// ProxyURL is the apt proxy the machines use: apt-cacher-ng on the bridge address.
func (c Config) ProxyURL() string { return fmt.Sprintf("http://%s:%d", c.HostAddr(), aptProxyPort) }

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "sandbox: "+format+"\n", args...)
	}
}

func (c Config) machinesDir() string           { return filepath.Join(c.StateDir, "machines") }
func (c Config) machineDir(name string) string { return filepath.Join(c.machinesDir(), name) }
func (c Config) proxyDir() string              { return filepath.Join(c.StateDir, "apt-proxy") }

// validate checks the fields every operation relies on; the messages name the field.
func (c Config) validate() error {
	switch {
	case c.StateDir == "" || !filepath.IsAbs(c.StateDir):
		return fmt.Errorf("sandbox state dir %q must be an absolute path", c.StateDir)
	case c.CacheDir == "" || !filepath.IsAbs(c.CacheDir):
		return fmt.Errorf("sandbox cache dir %q must be an absolute path", c.CacheDir)
	case len(c.Bridge) == 0 || len(c.Bridge) > 15 || !bridgeRE.MatchString(c.Bridge):
		return fmt.Errorf("sandbox bridge name %q must be 1 to 15 letters, digits, '-', '_' or '.'", c.Bridge)
	case !c.CIDR.IsValid() || !c.CIDR.Addr().Is4():
		return fmt.Errorf("sandbox network %s must be an IPv4 prefix such as 10.213.0.0/24", c.CIDR)
	case c.CIDR.Bits() < 16 || c.CIDR.Bits() > 29:
		return fmt.Errorf("sandbox network %s must be between a /16 and a /29", c.CIDR)
	}
	return nil
}

// checkName rejects machine names nspawn or the kernel would mangle.
func checkName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLen || !nameRE.MatchString(name) {
		return fmt.Errorf("machine name %q must be 1 to %d lower-case letters, digits or '-' (the host-side veth is vb-NAME)", name, MaxNameLen)
	}
	return nil
}

// checkAddr rejects addresses outside the sandbox network and the reserved ones in it.
func (c Config) checkAddr(addr netip.Addr) error {
	p := c.CIDR.Masked()
	last := lastAddr(p)
	switch {
	case !p.Contains(addr):
		return fmt.Errorf("machine address %s is outside the sandbox network %s", addr, p)
	case addr == p.Addr() || addr == last:
		return fmt.Errorf("machine address %s is the network or broadcast address of %s", addr, p)
	case addr == c.HostAddr():
		return fmt.Errorf("machine address %s is the host's (bridge) address in %s", addr, p)
	}
	return nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= (1 << hostBits) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
