package sandbox

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testConfig() Config {
	return Config{
		StateDir: "/state",
		CacheDir: "/cache",
		Bridge:   "pghac0",
		CIDR:     netip.MustParsePrefix("10.213.0.0/24"),
	}
}

func TestHostMirrors(t *testing.T) {
	m, err := hostMirrors("testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	want := []aptSource{
		{URI: "http://mirror.example/debian/", Suite: "bookworm", Components: []string{"main", "contrib"}},
		{URI: "http://second.example/debian/", Suite: "bookworm-updates", Components: []string{"main"}},
		{URI: "http://security.example/debian-security/", Suite: "bookworm-security", Components: []string{"main", "non-free-firmware"}},
	}
	if diff := cmp.Diff(want, m.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if m.Main() != "http://mirror.example/debian/" {
		t.Errorf("Main() = %q", m.Main())
	}
	wantList := `# Written by pghac: the host's Debian sources, fetched through the sandbox's apt proxy.
deb http://mirror.example/debian/ bookworm main contrib
deb http://second.example/debian/ bookworm-updates main
deb http://security.example/debian-security/ bookworm-security main non-free-firmware
`
	if diff := cmp.Diff(wantList, string(m.sourcesList())); diff != "" {
		t.Errorf("sources.list (-want +got):\n%s", diff)
	}

	_, err = hostMirrors("testdata/nomirror")
	if err == nil || !strings.Contains(err.Error(), "no Debian bookworm mirror") {
		t.Errorf("without a bookworm source: got %v", err)
	}
}

func TestImageKey(t *testing.T) {
	m, err := hostMirrors("testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	base := image{mirrors: m, packages: []string{"haproxy", "patroni"}}
	other := m
	other.Sources = append([]aptSource{{URI: "http://elsewhere.example/debian/", Suite: "bookworm"}}, m.Sources[1:]...)
	tests := []struct {
		name string
		im   image
		same bool
	}{
		{"same", image{mirrors: m, packages: []string{"haproxy", "patroni"}}, true},
		{"more packages", image{mirrors: m, packages: []string{"haproxy", "patroni", "tree"}}, false},
		{"no packages", image{mirrors: m}, false},
		{"other mirror", image{mirrors: other, packages: []string{"haproxy", "patroni"}}, false},
		{"valid-until off", image{mirrors: m, packages: []string{"haproxy", "patroni"}, noValidUntil: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.im.key() == base.key(); got != tt.same {
				t.Errorf("key equal = %v, want %v", got, tt.same)
			}
		})
	}
	if k := base.key(); len(k) != 16 {
		t.Errorf("key %q: want 16 hex digits", k)
	}
}

func TestImagePackages(t *testing.T) {
	cfg := testConfig()
	cfg.Packages = []string{"patroni", "haproxy", "patroni"}
	im, err := cfg.image(t.Context())
	if err != nil {
		t.Skipf("host has no bookworm source: %v", err)
	}
	if diff := cmp.Diff([]string{"haproxy", "patroni"}, im.packages); diff != "" {
		t.Errorf("packages sorted and deduplicated (-want +got):\n%s", diff)
	}
	cfg.Packages = []string{"tree; rm -rf /"}
	if _, err := cfg.image(t.Context()); err == nil || !strings.Contains(err.Error(), "not a Debian package name") {
		t.Errorf("bad package name: got %v", err)
	}
}

func TestBakeScript(t *testing.T) {
	var b strings.Builder
	if err := bakeTmpl.Execute(&b, struct{ Packages []string }{[]string{"haproxy", "postgresql-15"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"apt-get -q -y install cloud-init openssh-server sudo\napt-get -q -y install haproxy postgresql-15\n",
		"rm -f /etc/ssh/ssh_host_*\n", // every machine makes its own
		"systemctl enable systemd-networkd.service\n",
		"rm -f /usr/sbin/policy-rc.d\n",
		": > /etc/machine-id\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("bake script lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := bakeTmpl.Execute(&b, struct{ Packages []string }{}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "apt-get -q -y install") != 1 {
		t.Errorf("without packages, only cloud-init is installed:\n%s", b.String())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"ok", func(*Config) {}, ""},
		{"relative state dir", func(c *Config) { c.StateDir = ".pghac/sandbox" }, "state dir"},
		{"no cache dir", func(c *Config) { c.CacheDir = "" }, "cache dir"},
		{"long bridge", func(c *Config) { c.Bridge = "pghac-sandbox-br0" }, "bridge name"},
		{"bad bridge", func(c *Config) { c.Bridge = "br 0" }, "bridge name"},
		{"ipv6", func(c *Config) { c.CIDR = netip.MustParsePrefix("fd00::/64") }, "IPv4"},
		{"too small", func(c *Config) { c.CIDR = netip.MustParsePrefix("10.213.0.0/30") }, "/29"},
		{"unset", func(c *Config) { c.CIDR = netip.Prefix{} }, "IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			err := cfg.validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckNameAndAddr(t *testing.T) {
	for name, ok := range map[string]bool{
		"node0": true, "node-2": true, "abcdefghijkl": true,
		"": false, "abcdefghijklm": false, "Node0": false, "-x": false, "a_b": false, "a/b": false,
	} {
		if err := checkName(name); (err == nil) != ok {
			t.Errorf("checkName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
	cfg := testConfig()
	for addr, want := range map[string]string{
		"10.213.0.11":  "",
		"10.213.0.254": "",
		"10.213.0.0":   "network or broadcast",
		"10.213.0.255": "network or broadcast",
		"10.213.0.1":   "host's (bridge) address",
		"10.213.1.5":   "outside",
	} {
		err := cfg.checkAddr(netip.MustParseAddr(addr))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("checkAddr(%s) = %v, want %q", addr, err, want)
		}
	}
	if got := lastAddr(netip.MustParsePrefix("10.213.0.0/22")); got != netip.MustParseAddr("10.213.3.255") {
		t.Errorf("lastAddr(/22) = %s", got)
	}
	if cfg.HostAddr() != netip.MustParseAddr("10.213.0.1") || cfg.ProxyURL() != "http://10.213.0.1:3142" || cfg.bridgeMAC() != "02:00:0a:d5:00:01" {
		t.Errorf("host address %s, proxy %s, bridge MAC %s", cfg.HostAddr(), cfg.ProxyURL(), cfg.bridgeMAC())
	}
}

func TestOverlap(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name string
		nets []hostNet
		want string
	}{
		{"free", []hostNet{{p("192.0.2.0/24"), "eth0", "route"}, {p("0.0.0.0/0"), "eth0", "route"}}, ""},
		{"own bridge", []hostNet{{p("10.213.0.0/24"), "pghac0", "route"}, {p("10.213.0.1/24"), "pghac0", "address"}}, ""},
		{"route", []hostNet{{p("10.213.0.0/16"), "wg0", "route"}},
			"the sandbox network 10.213.0.0/24 is occupied: the host has route 10.213.0.0/16 on wg0; pick another sandbox network in cluster.hcl"},
		{"address", []hostNet{{p("10.213.0.0/25"), "eth1", "address"}}, "the host has address 10.213.0.0/25 on eth1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := overlap(testConfig(), tt.nets)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("overlap() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseProcRoute(t *testing.T) {
	in := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"wg0\t0000D50A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	got := parseProcRoute([]byte(in))
	want := []hostNet{
		{netip.MustParsePrefix("0.0.0.0/0"), "eth0", "route"},
		{netip.MustParsePrefix("192.0.2.0/24"), "eth0", "route"},
		{netip.MustParsePrefix("10.213.0.0/16"), "wg0", "route"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(hostNet{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSeedFiles(t *testing.T) {
	cfg := testConfig()
	addr := netip.MustParseAddr("10.213.0.11")
	id := instanceID("node0", addr)
	files, err := cfg.seedFiles("node0", addr, id, []byte("#cloud-config\n"), []string{"ssh-ed25519 AAAAC3Nza pghac"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.path] = string(f.data)
	}
	want := map[string]string{
		"/var/lib/cloud/seed/nocloud/user-data":      "#cloud-config\n",
		"/var/lib/cloud/seed/nocloud/meta-data":      "instance-id: " + id + "\nlocal-hostname: node0\npublic-keys:\n    - ssh-ed25519 AAAAC3Nza pghac\n",
		"/var/lib/cloud/seed/nocloud/network-config": "version: 2\nethernets:\n    host0:\n        addresses:\n            - 10.213.0.11/24\n        routes:\n            - to: 169.254.169.254/32\n              via: 10.213.0.1\n",
		"/etc/apt/apt.conf.d/01pghac-proxy":          "// Written by pghac: the sandbox's apt proxy on the bridge.\nAcquire::http::Proxy \"http://10.213.0.1:3142\";\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seed files (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(id, "node0-") || len(id) != len("node0-")+12 {
		t.Errorf("instance id %q", id)
	}
	if id == instanceID("node0", netip.MustParseAddr("10.213.0.12")) || id == instanceID("node1", addr) {
		t.Errorf("instance id does not change with the address or the name")
	}
}

func TestAcngConfig(t *testing.T) {
	m, err := hostMirrors("testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	b, err := testConfig().acngConfig(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CacheDir: /state/apt-proxy/cache\n",
		"BindAddress: 10.213.0.1\nPort: 3142\n",
		"Remap-debrep: file:deb_mirror*.gz /debian mirror.example/debian ; http://mirror.example/debian/\n",
		"Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security security.example/debian-security ; http://security.example/debian-security/\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("acng.conf lacks %q:\n%s", want, b)
		}
	}
	if strings.Count(string(b), "Remap-debrep") != 1 {
		t.Errorf("one debrep remap expected:\n%s", b)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/pghac"},
		{map[string]string{"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}, "/home/u/.cache/pghac"},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.cache/pghac"},
	}
	for _, tt := range tests {
		if got := DefaultCacheDir(env(tt.env)); got != tt.want {
			t.Errorf("DefaultCacheDir(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestRemoveTreeRefuses(t *testing.T) {
	for _, d := range []string{"/", "relative/dir", ""} {
		if err := removeTree(d); err == nil {
			t.Errorf("removeTree(%q) succeeded", d)
		}
	}
	dir := t.TempDir() + "/x"
	if err := writeFile(dir+"/y/f", []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := removeTree(dir); err != nil {
		t.Errorf("removeTree of a plain tree: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", dir, err)
	}
}

func TestIndentTail(t *testing.T) {
	if got := indentTail("a\nb\nc\n", 2); got != "\n    b\n    c" {
		t.Errorf("indentTail = %q", got)
	}
	if got := indentTail(" \n", 2); got != "" {
		t.Errorf("indentTail of blank = %q", got)
	}
}

func TestTCPListener(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if got := tcpListener(netip.MustParseAddr("127.0.0.1"), port); got != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("tcpListener(127.0.0.1:%d) = %q", port, got)
	}
	if got := tcpListener(netip.MustParseAddr("127.0.0.2"), port); got != "" {
		t.Errorf("tcpListener(127.0.0.2:%d) = %q, want none", port, got)
	}
}

// TestPreflightMissingTool: a host without systemd-nspawn gets one sentence naming the package.
func TestPreflightMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // nothing found on PATH; /usr/sbin is still looked at
	cfg := Config{StateDir: t.TempDir(), CacheDir: t.TempDir(), Bridge: "pghacpf0", CIDR: netip.MustParsePrefix("10.213.198.0/24")}
	err := Preflight(cfg)
	want := "systemd-nspawn is missing: install it with `apt-get install systemd-container` (or `make deps`)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Preflight = %v, want it to say %q", err, want)
	}
}

// TestWaitsForSecrets reads a machine's boot as waiting for its secrets only while the fill's
// waiting line is the last of its cloud-init output.
func TestWaitsForSecrets(t *testing.T) {
	cfg := Config{StateDir: t.TempDir()}
	log := filepath.Join(cfg.machineDir("node0"), upperDir, "var/log/cloud-init-output.log")
	if cfg.waitsForSecrets("node0") {
		t.Errorf("a machine without a log waits for its secrets")
	}
	if err := os.MkdirAll(filepath.Dir(log), 0o755); err != nil {
		t.Fatal(err)
	}
	wait := "+ /usr/bin/python3 -I /usr/local/lib/pghac/secrets.py /etc/patroni/config.yml\n" +
		secretsWaitLine + "sandbox-main-secrets to have a version (pghac apply / pghac up writes it): HTTP 404\n"
	for _, tc := range []struct {
		log  string
		want bool
	}{
		{wait, true},
		{wait + "pghac-secrets: filled 18 placeholders in 7 files from Lockbox secret sandbox-main-secrets version sbx1\n+ systemctl enable etcd\n", false},
		{"+ systemctl daemon-reload\n", false},
	} {
		if err := os.WriteFile(log, []byte(tc.log), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := cfg.waitsForSecrets("node0"); got != tc.want {
			t.Errorf("waitsForSecrets after %q = %v, want %v", tc.log, got, tc.want)
		}
	}
}
