package sandbox

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cert, _, err := loadPair(path, strings.TrimSuffix(path, ".crt")+".key")
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, n := range []string{s3CACert, s3CAKey, s3ServerCert, s3ServerKey} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		got[n] = string(b)
	}
	return got
}

func TestS3Certs(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, b := netip.MustParseAddr("10.213.0.1"), netip.MustParseAddr("10.214.0.1")
	changed, err := ensureS3Certs(dir, a, now)
	if err != nil || !changed {
		t.Fatalf("first call: changed %v, %v", changed, err)
	}
	for n, mode := range map[string]os.FileMode{s3CACert: 0o644, s3CAKey: 0o600, s3ServerCert: 0o644, s3ServerKey: 0o600} {
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", n, err, fi.Mode().Perm(), mode)
		}
	}
	ca, srv := readCert(t, filepath.Join(dir, s3CACert)), readCert(t, filepath.Join(dir, s3ServerCert))
	if !ca.IsCA || ca.Subject.CommonName != "pghac sandbox CA" || ca.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
		t.Errorf("CA: IsCA %v, CN %q, curve %v", ca.IsCA, ca.Subject.CommonName, ca.PublicKey.(*ecdsa.PublicKey).Curve.Params().Name)
	}
	if ca.NotAfter.Before(now.Add(10 * 365 * 24 * time.Hour)) {
		t.Errorf("CA ends %s: not long-lived", ca.NotAfter)
	}
	// pgBackRest 2.45 compares the host with DNS names only: the address must be one.
	if !slices.Equal(srv.DNSNames, []string{"10.213.0.1"}) || len(srv.IPAddresses) != 1 || !srv.IPAddresses[0].Equal(net.ParseIP("10.213.0.1")) {
		t.Errorf("server certificate names: DNS %v, IP %v", srv.DNSNames, srv.IPAddresses)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.213.0.1"}); err != nil {
		t.Errorf("server certificate does not verify against the CA: %v", err)
	}
	if _, err := srv.Verify(x509.VerifyOptions{DNSName: "10.213.0.1"}); err == nil {
		t.Errorf("server certificate verifies without the sandbox CA")
	}

	first := readFiles(t, dir)
	changed, err = ensureS3Certs(dir, a, now.Add(time.Hour))
	if err != nil || changed {
		t.Fatalf("same address: changed %v, %v", changed, err)
	}
	if diff := cmp.Diff(first, readFiles(t, dir)); diff != "" {
		t.Errorf("files rewritten for the same address (-first +now):\n%s", diff)
	}

	changed, err = ensureS3Certs(dir, b, now)
	if err != nil || !changed {
		t.Fatalf("other address: changed %v, %v", changed, err)
	}
	second := readFiles(t, dir)
	if second[s3CACert] != first[s3CACert] || second[s3CAKey] != first[s3CAKey] {
		t.Errorf("the CA changed with the address")
	}
	if srv := readCert(t, filepath.Join(dir, s3ServerCert)); !slices.Equal(srv.DNSNames, []string{"10.214.0.1"}) {
		t.Errorf("server certificate for the new address has DNS names %v", srv.DNSNames)
	}

	// A server certificate about to end is made again; the CA, long-lived, stays.
	changed, err = ensureS3Certs(dir, b, now.Add(serverCertAge-certRenewal/2))
	if err != nil || !changed {
		t.Fatalf("server certificate ending: changed %v, %v", changed, err)
	}
	if readFiles(t, dir)[s3CACert] != first[s3CACert] {
		t.Errorf("the CA changed with the server certificate")
	}

	// A CA whose key is lost is made again, and so is the certificate it signed.
	if err := os.Remove(filepath.Join(dir, s3CAKey)); err != nil {
		t.Fatal(err)
	}
	changed, err = ensureS3Certs(dir, b, now)
	if err != nil || !changed {
		t.Fatalf("CA key lost: changed %v, %v", changed, err)
	}
	third := readFiles(t, dir)
	if third[s3CACert] == first[s3CACert] {
		t.Errorf("the CA was kept without its key")
	}
	ca = readCert(t, filepath.Join(dir, s3CACert))
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := readCert(t, filepath.Join(dir, s3ServerCert)).Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.214.0.1"}); err != nil {
		t.Errorf("server certificate is not the new CA's: %v", err)
	}
}

func TestS3Identities(t *testing.T) {
	b, err := identitiesJSON(S3{Bucket: "pghac-main", AccessKey: "AK\"1", SecretKey: "s3cr3t"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "identities": [
    {
      "name": "pghac",
      "credentials": [
        {
          "accessKey": "AK\"1",
          "secretKey": "s3cr3t"
        }
      ],
      "actions": [
        "Admin",
        "Read",
        "Write",
        "List",
        "Tagging"
      ]
    }
  ]
}
`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("identities.json (-want +got):\n%s", diff)
	}
}

func TestS3Check(t *testing.T) {
	ok := S3{Bucket: "pghac-main", AccessKey: "a", SecretKey: "hunter2-secret"}
	if err := ok.check(); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
	for _, s := range []S3{
		{Bucket: "ab", AccessKey: "a", SecretKey: "hunter2-secret"},
		{Bucket: "Pghac", AccessKey: "a", SecretKey: "hunter2-secret"},
		{Bucket: "-pghac", AccessKey: "a", SecretKey: "hunter2-secret"},
		{Bucket: "pghac_main", AccessKey: "a", SecretKey: "hunter2-secret"},
		{Bucket: "pghac-main", SecretKey: "hunter2-secret"},
		{Bucket: "pghac-main", AccessKey: "a"},
	} {
		err := s.check()
		if err == nil {
			t.Errorf("%+v: no error", s)
		} else if s.SecretKey != "" && strings.Contains(err.Error(), s.SecretKey) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

func TestWeedArgv(t *testing.T) {
	cfg := testConfig()
	argv := cfg.weedArgv("/cache/s3/weed")
	seen := map[int]bool{}
	for _, p := range s3Ports {
		if seen[p] || p == aptProxyPort || p == 3143 || p == 2222 {
			t.Errorf("port %d is used twice or by another part of the sandbox", p)
		}
		seen[p] = true
		if p != model.SandboxS3Port && !slices.ContainsFunc(argv, func(a string) bool { return strings.HasSuffix(a, "="+strconv.Itoa(p)) }) {
			t.Errorf("port %d is not on the command line %v", p, argv)
		}
	}
	for _, want := range []string{"-ip=10.213.0.1", "-ip.bind=10.213.0.1", "-s3.port=9443", "-master.telemetry=false", "-s3.cert.file=/proc/self/cwd/server.crt", "-dir=/proc/self/cwd/data"} {
		if !slices.Contains(argv, want) {
			t.Errorf("command line has no %s: %v", want, argv)
		}
	}
	if cfg.S3Endpoint() != "10.213.0.1:9443" || cfg.S3CAFile() != "/state/s3/ca.crt" {
		t.Errorf("endpoint %s, CA file %s", cfg.S3Endpoint(), cfg.S3CAFile())
	}
}

func TestS3TrustFiles(t *testing.T) {
	cfg := testConfig()
	cfg.StateDir = t.TempDir()
	root := t.TempDir()
	files, err := cfg.s3TrustFiles(root)
	if err != nil || files != nil {
		t.Fatalf("without a CA: %v, %v", files, err)
	}
	if err := os.MkdirAll(cfg.s3Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureS3Certs(cfg.s3Dir(), cfg.HostAddr(), time.Now()); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(cfg.S3CAFile())
	if err != nil {
		t.Fatal(err)
	}
	got := func() map[string]string {
		t.Helper()
		files, err := cfg.s3TrustFiles(root)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, f := range files {
			m[f.path] = string(f.data)
		}
		return m
	}
	local := "/usr/local/share/ca-certificates/pghac-sandbox.crt"
	// The image has no bundle: the CA alone.
	if diff := cmp.Diff(map[string]string{local: string(ca), caBundle: string(ca)}, got()); diff != "" {
		t.Errorf("no bundle in the image (-want +got):\n%s", diff)
	}
	if err := writeFile(filepath.Join(root, caBundle), []byte("ROOT CERTS"), 0o644); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{local: string(ca), caBundle: "ROOT CERTS\n" + string(ca)}, got()); diff != "" {
		t.Errorf("bundle in the image (-want +got):\n%s", diff)
	}
	// A link would be followed on the host: it is not read.
	if err := os.Remove(filepath.Join(root, caBundle)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(root, caBundle)); err != nil {
		t.Fatal(err)
	}
	if got()[caBundle] != string(ca) {
		t.Errorf("a linked bundle was read")
	}
}

// s3TestConfig is a sandbox whose "bridge address" is the loopback one: the S3 server needs
// no bridge, only its address on a host interface. Its bridge name names its cgroups.
func s3TestConfig(t *testing.T) Config {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs SeaweedFS; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("runs SeaweedFS in cgroups and a mount namespace of its own: needs root")
	}
	cfg := Config{
		StateDir: t.TempDir(),
		CacheDir: DefaultCacheDir(os.Getenv), // the binary is built once per host, as for pghac
		Bridge:   "pghacs3t0",
		CIDR:     netip.MustParsePrefix("127.0.0.0/24"),
		Log:      logWriter{t},
	}
	if _, err := os.Stat(weedPath(cfg.CacheDir)); err != nil {
		if _, err := findGo(); err != nil {
			t.Skipf("no cached SeaweedFS and no Go toolchain to build it: %v", err)
		}
	}
	return cfg
}

func randomKey(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// TestS3Server builds SeaweedFS (minutes, once per host; run with -timeout 20m) and serves
// it on 127.0.0.1: signed requests work, unsigned and wrongly signed ones do not, TLS holds
// only with the sandbox CA, new keys restart it with its data kept, and it stops.
func TestS3Server(t *testing.T) {
	cfg := s3TestConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if err := S3Down(cfg); err != nil {
			t.Errorf("S3Down: %v", err)
		}
		// NetworkDown would: the test has no network, only the guard's table.
		_ = exec.Command("nft", "delete", "table", "bridge", cfg.nftTable()).Run()
		hs, _ := hierarchies()
		for _, h := range hs {
			_ = syscall.Rmdir(filepath.Join(h, cgroupTop, cfg.Bridge))
		}
		removeEmptyTop(hs)
	})
	s := S3{Bucket: "pghac-test", AccessKey: "PGHAC" + randomKey(t, 8), SecretKey: randomKey(t, 20)}
	start := time.Now()
	if err := S3Up(ctx, cfg, s); err != nil {
		t.Fatalf("S3Up: %v", err)
	}
	t.Logf("S3Up took %s", time.Since(start).Round(time.Millisecond))
	pid := cfg.s3PID()
	if pid == 0 || !S3Running(cfg) {
		t.Fatal("S3 server not running after S3Up")
	}
	if fi, err := os.Stat(filepath.Join(cfg.s3Dir(), s3Identities)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("identities.json: %v, mode %v", err, fi.Mode().Perm())
	}
	// Every listener of the server is on the given address, none on all addresses.
	ls := tcpListenersOf(t, pid)
	if len(ls) < len(s3Ports) {
		t.Errorf("listeners %v: fewer than the %d ports", ls, len(s3Ports))
	}
	for _, l := range ls {
		if !strings.HasPrefix(l, "127.0.0.1:") {
			t.Errorf("S3 server listens on %s", l)
		}
	}

	// The machines reach S3 and nothing else of the server (sandboxtest's checkBackups tries
	// from a machine).
	if out, err := exec.Command("nft", "list", "chain", "bridge", cfg.nftTable(), s3GuardChain).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "ip daddr 127.0.0.1 tcp dport { 3150, 3151, 3152, 13150, 13151, 13152, 13153 } drop") {
		t.Errorf("nft list chain %s: %v\n%s", s3GuardChain, err, out)
	}

	pool, err := s3CAPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := cfg.S3Endpoint()
	client := newS3Client(endpoint, pool, s)
	body := []byte("pgBackRest would write WAL here\n")
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("repo/a.txt"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	getBody := func(c *s3.Client) ([]byte, error) {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("repo/a.txt")})
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		return io.ReadAll(out.Body)
	}
	if got, err := getBody(client); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject: %q, %v", got, err)
	}

	// Unsigned: refused.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + endpoint + "/" + s.Bucket + "/repo/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(rb, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("unsigned GET: %s %s", resp.Status, rb)
	}
	// Signed with a wrong secret: refused.
	wrong := s
	wrong.SecretKey = randomKey(t, 20)
	if _, err := getBody(newS3Client(endpoint, pool, wrong)); apiCode(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}

	// TLS: the certificate verifies against the sandbox CA, as the address (IP) and as a DNS
	// name, and not against the host's roots.
	conn, err := tls.Dial("tcp", endpoint, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Errorf("TLS with the sandbox CA: %v", err)
	} else {
		leaf := conn.ConnectionState().PeerCertificates[0]
		if !slices.Contains(leaf.DNSNames, "127.0.0.1") {
			t.Errorf("served certificate has DNS names %v", leaf.DNSNames)
		}
		conn.Close()
	}
	var unknown x509.UnknownAuthorityError
	if _, err := tls.Dial("tcp", endpoint, &tls.Config{}); !errors.As(err, &unknown) {
		t.Errorf("TLS without the sandbox CA: %v, want an unknown authority", err)
	}

	// The secret is in identities.json only: not on the command line, not in the log.
	log, _ := os.ReadFile(filepath.Join(cfg.s3Dir(), s3LogFile))
	if strings.Contains(strings.Join(cmdline(pid), " "), s.SecretKey) || bytes.Contains(log, []byte(s.SecretKey)) {
		t.Errorf("the secret key is on the command line or in the log")
	}

	checkPgBackRest(ctx, t, cfg, s, "repo/a.txt", body)

	// The same keys again: the running server is kept, the bucket is there.
	if err := S3Up(ctx, cfg, s); err != nil {
		t.Fatalf("S3Up again: %v", err)
	}
	if got := cfg.s3PID(); got != pid {
		t.Errorf("S3Up with the same keys restarted the server (pid %d, was %d)", got, pid)
	}

	// Other keys: restarted; the old ones are refused, the new ones read the old data.
	s2 := s
	s2.AccessKey, s2.SecretKey = "PGHAC"+randomKey(t, 8), randomKey(t, 20)
	if err := S3Up(ctx, cfg, s2); err != nil {
		t.Fatalf("S3Up with new keys: %v", err)
	}
	if got := cfg.s3PID(); got == pid || got == 0 {
		t.Errorf("S3Up with new keys: pid %d, was %d", got, pid)
	}
	if _, err := getBody(client); apiCode(err) != "InvalidAccessKeyId" {
		t.Errorf("old keys after the change: %v", err)
	}
	if got, err := getBody(newS3Client(endpoint, pool, s2)); err != nil || !bytes.Equal(got, body) {
		t.Errorf("GetObject with the new keys: %q, %v", got, err)
	}

	if err := S3Down(cfg); err != nil {
		t.Fatalf("S3Down: %v", err)
	}
	if S3Running(cfg) {
		t.Error("S3 server runs after S3Down")
	}
	if l := tcpListener(cfg.HostAddr(), model.SandboxS3Port); l != "" {
		t.Errorf("%s still listened on after S3Down", l)
	}
}

// checkPgBackRest reads key with pgBackRest when it is on PATH (a host has none by default:
// `apt-get download pgbackrest` and `dpkg-deb -x` it to try), for its own TLS host check
// (DNS names only) and OpenSSL's default CA file, which SSL_CERT_FILE points at a bundle with
// the sandbox CA appended, as the machines' bundle is.
func checkPgBackRest(ctx context.Context, t *testing.T, cfg Config, s S3, key string, want []byte) {
	t.Helper()
	bin, err := exec.LookPath("pgbackrest")
	if err != nil {
		t.Log("no pgbackrest on PATH: its TLS checks were not tried")
		return
	}
	dir := t.TempDir()
	ca, err := os.ReadFile(cfg.S3CAFile())
	if err != nil {
		t.Fatal(err)
	}
	hostBundle, _ := os.ReadFile(caBundle)
	bundle := filepath.Join(dir, "bundle.crt")
	if err := os.WriteFile(bundle, append(append(hostBundle, '\n'), ca...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pgbackrest.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	get := func(caFile string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, bin, "--config="+filepath.Join(dir, "pgbackrest.conf"),
			"--log-level-console=error", "--log-level-file=off", "--io-timeout=5", "--repo1-type=s3", "--repo1-s3-bucket="+s.Bucket,
			"--repo1-s3-endpoint="+cfg.HostAddr().String(), "--repo1-storage-port="+strconv.Itoa(model.SandboxS3Port),
			"--repo1-s3-region="+s3Region, "--repo1-s3-uri-style=path", "--repo1-path=/", "repo-get", key)
		cmd.Env = []string{"PATH=" + hostPath, "SSL_CERT_FILE=" + caFile,
			"PGBACKREST_REPO1_S3_KEY=" + s.AccessKey, "PGBACKREST_REPO1_S3_KEY_SECRET=" + s.SecretKey}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%w: %s%s", err, errOut.Bytes(), out.Bytes())
		}
		return out.Bytes(), nil
	}
	if got, err := get(bundle); err != nil || !bytes.Equal(got, want) {
		t.Errorf("pgbackrest repo-get trusting the sandbox CA: %q, %v", got, err)
	}
	if _, err := get(caBundle); err == nil || !strings.Contains(err.Error(), "unable to verify certificate") {
		t.Errorf("pgbackrest repo-get without the sandbox CA: %v", err)
	}
}

// tcpListenersOf lists the TCP (v4 and v6) sockets pid listens on, as address:port.
func tcpListenersOf(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if ino, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" || !inodes[fs[9]] {
				continue
			}
			out = append(out, hexAddrPort(t, fs[1]))
		}
	}
	slices.Sort(out)
	return out
}

// hexAddrPort decodes /proc/net/tcp's local address (little-endian 32-bit words).
func hexAddrPort(t *testing.T, s string) string {
	t.Helper()
	a, p, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(a)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, _ := strconv.ParseUint(p, 16, 16)
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip, uint16(port)).String()
}
