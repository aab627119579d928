package sandbox

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/pki"
)

// The sandbox's S3 is SeaweedFS, built from its Go module: Debian has no S3 server, and a
// Go toolchain and the module proxy are all a pghac host is known to reach.
const (
	seaweedModule  = "github.com/seaweedfs/seaweedfs"
	seaweedVersion = "v0.0.0-20261109003541-7506e5f91cd6"
)

// Ports of the S3 server's parts on the bridge address. S3 itself is model.SandboxS3Port; the
// master, volume and filer ports sit beside the apt proxy (3142), the artifact server (3143)
// and away from the usual 8080/8888/9333, which the host may use on every address. Every
// gRPC port is set rather than left to SeaweedFS's port+10000.
const (
	s3MasterPort     = 3150
	s3VolumePort     = 3151
	s3FilerPort      = 3152
	s3MasterGRPCPort = 13150
	s3VolumeGRPCPort = 13151
	s3FilerGRPCPort  = 13152
	s3GRPCPort       = 13153
)

// s3Ports are all the TCP ports the S3 server listens on.
var s3Ports = []int{model.SandboxS3Port, s3MasterPort, s3VolumePort, s3FilerPort,
	s3MasterGRPCPort, s3VolumeGRPCPort, s3FilerGRPCPort, s3GRPCPort}

// s3Region is the region clients sign for, the cloud's (Yandex Object Storage).
const s3Region = "ru-central1"

// unsharePath gives the S3 server a mount namespace of its own (util-linux, on every Debian).
const unsharePath = "/usr/bin/unshare"

// s3StartTimeout: the S3 port opens a few seconds after the master, volume and filer on a
// two-core host; a bucket can be made a few seconds later.
const s3StartTimeout = 2 * time.Minute

// S3 is what the sandbox's S3 server serves: one bucket, one key pair with every right.
type S3 struct {
	Bucket    string
	AccessKey string
	SecretKey string
}

// bucketRE is S3's rule for bucket names (path-style, no dots to keep it simple).
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

func (s S3) check() error {
	switch {
	case !bucketRE.MatchString(s.Bucket):
		return fmt.Errorf("sandbox S3 bucket name %q must be 3 to 63 lower-case letters, digits or '-'", s.Bucket)
	case s.AccessKey == "" || s.SecretKey == "":
		return errors.New("the sandbox's S3 server needs an access key and a secret key")
	}
	return nil
}

// Files in the S3 server's state folder (StateDir/s3).
const (
	s3CACert      = "ca.crt"
	s3CAKey       = "ca.key"
	s3ServerCert  = "server.crt"
	s3ServerKey   = "server.key"
	s3Identities  = "identities.json"
	s3DataDir     = "data"
	s3TmpDir      = "tmp"
	s3LogFile     = "weed.log"
	s3CgroupName  = "s3-object-store" // longer than MaxNameLen: never a machine's cgroup
	s3CAName      = "pghac sandbox CA"
	caValidity    = 20 * 365 * 24 * time.Hour
	serverCertAge = 5 * 365 * 24 * time.Hour
	// certRenewal: a certificate that ends sooner than this is made again.
	certRenewal = 30 * 24 * time.Hour
)

func (c Config) s3Dir() string { return filepath.Join(c.StateDir, "s3") }

// S3CAFile is the sandbox CA's certificate (PEM), which signs the S3 server's certificate.
// Machines trust it from boot (MachineUp writes it into them); clients on the host, pghac
// itself, must be given it. It exists once S3Up has run.
func (c Config) S3CAFile() string { return filepath.Join(c.s3Dir(), s3CACert) }

// S3Endpoint is the S3 server's host:port, the bridge address and model.SandboxS3Port.
func (c Config) S3Endpoint() string {
	return netip.AddrPortFrom(c.HostAddr(), model.SandboxS3Port).String()
}

// S3Up starts the sandbox's S3 server on the bridge address when it does not run, and makes
// s.Bucket in it (as the cloud's Terraform does); a bucket that exists is fine. The server is
// SeaweedFS over TLS only (pgBackRest speaks nothing else), with a certificate of the
// sandbox's own CA (S3CAFile), made on first use in StateDir/s3 with everything else of the
// server: its data, its log (weed.log) and identities.json (0600), written from s. A running
// server with other keys, flags or certificates is restarted. Its binary is built
// once per host under CacheDir (minutes: see ensureWeed). The bridge must exist (NetworkUp),
// and the CA must exist before the machines boot (MachineUp) for them to trust it.
func S3Up(ctx context.Context, cfg Config, s S3) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	addr := cfg.HostAddr()
	if !hostHasAddr(addr) {
		return fmt.Errorf("the sandbox's S3 server listens on the bridge address %s, which no host interface has: bring the sandbox network up first", addr)
	}
	if _, err := os.Stat(unsharePath); err != nil {
		return errors.New("the sandbox's S3 server runs with a /tmp of its own, made with unshare(1), which is missing: install util-linux")
	}
	// Before the server starts, and again for one that runs (the table may be new).
	if err := cfg.guardS3(); err != nil {
		return err
	}
	dir := cfg.s3Dir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil { // it holds keys
		return err
	}
	certsChanged, err := ensureS3Certs(dir, addr, time.Now())
	if err != nil {
		return err
	}
	weed, err := ensureWeed(ctx, cfg)
	if err != nil {
		return err
	}
	ident, err := identitiesJSON(s)
	if err != nil {
		return err
	}
	argv := cfg.weedArgv(weed)
	identPath := filepath.Join(dir, s3Identities)
	if pid := cfg.s3PID(); pid != 0 {
		old, _ := os.ReadFile(identPath)
		if !certsChanged && bytes.Equal(old, ident) && slices.Equal(cmdline(pid), argv) {
			return createBucket(ctx, cfg, s)
		}
		cfg.logf("network: restarting the S3 server: its keys, flags or certificate changed")
		if err := S3Down(cfg); err != nil {
			return err
		}
	}
	for _, p := range s3Ports {
		if l := tcpListener(addr, p); l != "" {
			return fmt.Errorf("port %d on %s is taken (a listener on %s), so the sandbox's S3 server cannot start", p, addr, l)
		}
	}
	if err := writePrivate(identPath, ident); err != nil {
		return err
	}
	for _, d := range []string{s3DataDir, s3TmpDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	// SeaweedFS puts unix sockets named after ports only in /tmp (/tmp/seaweedfs-master-grpc-
	// 13150.sock), removing what is there first, and routes its own gRPC calls through them:
	// two sandboxes on one host would take over each other's. So it gets a /tmp of its own, in
	// a mount namespace of its own (unshare and sh exec: the pid stays weed's), and finds its
	// files through its working directory (weedArgv), which that /tmp may hide.
	wrapped := append([]string{unsharePath, "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
		`cd "$1" && mount --bind ` + s3TmpDir + ` /tmp && shift && exec "$@"`, "sh", dir}, argv...)
	cfg.logf("network: S3 server (SeaweedFS) on %s", cfg.S3Endpoint())
	if err := cfg.s3Server().start(ctx, wrapped, netip.AddrPortFrom(addr, model.SandboxS3Port), s3StartTimeout); err != nil {
		return err
	}
	return createBucket(ctx, cfg, s)
}

// s3GuardChain is the chain of the sandbox's nft table (bridge family) that keeps machines
// off the S3 server's other ports.
const s3GuardChain = "s3guard"

// guardS3 drops what machines send to the S3 server's master, volume and filer ports (and
// their gRPC twins): those take no credentials, and would hand any machine the bucket. Only
// S3 itself, which checks every request's signature, is theirs to reach. The host reaches
// them all (its own traffic does not cross the bridge). NetworkDown deletes the table.
func (c Config) guardS3() error {
	t := c.nftTable()
	var ports []string
	for _, p := range s3Ports {
		if p != model.SandboxS3Port {
			ports = append(ports, strconv.Itoa(p))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "add table bridge %s\n", t)
	fmt.Fprintf(&b, "add chain bridge %s %s { type filter hook input priority 0; policy accept; }\n", t, s3GuardChain)
	fmt.Fprintf(&b, "flush chain bridge %s %s\n", t, s3GuardChain)
	fmt.Fprintf(&b, "add rule bridge %s %s ip daddr %s tcp dport { %s } drop\n", t, s3GuardChain, c.HostAddr(), strings.Join(ports, ", "))
	if err := nftScript(b.String()); err != nil {
		return fmt.Errorf("closing the S3 server's other ports to the machines: %w", err)
	}
	return nil
}

// S3Down stops the sandbox's S3 server; one that does not run is fine. Its data, CA and
// certificates stay, so that a server started again serves the same bucket to machines that
// trust the same CA.
func S3Down(cfg Config) error {
	err := cfg.s3Server().stop()
	// A killed weed's main thread is a zombie while its other threads still exit, and
	// daemon.stop takes a zombie for gone: its cgroups stay busy a moment longer.
	for i := 0; err != nil && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		err = cfg.s3Server().stop()
	}
	return err
}

// S3Running reports whether the sandbox's S3 server runs.
func S3Running(cfg Config) bool { return cfg.s3PID() != 0 }

// s3Server is the S3 server as a daemon. SeaweedFS takes more than daemon.stop's 5 s to
// exit on SIGTERM (its volume server waits 10 s before it stops); the SIGKILL that follows
// loses nothing acknowledged, since it writes through to its files.
func (c Config) s3Server() daemon {
	return daemon{cfg: c, what: "S3 server", cgroup: s3CgroupName, dir: c.s3Dir(),
		logPath: filepath.Join(c.s3Dir(), s3LogFile), running: c.s3PID}
}

// s3PID returns the running S3 server's PID, or 0: the pid file's process if it is a weed
// working in this sandbox's S3 folder.
func (c Config) s3PID() int {
	pid, err := readPID(filepath.Join(c.s3Dir(), "pid"))
	if err != nil || !alive(pid) {
		return 0
	}
	argv := cmdline(pid)
	cwd, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	dir, err := filepath.EvalSymlinks(c.s3Dir())
	if err != nil || len(argv) < 2 || filepath.Base(argv[0]) != "weed" || cwd != dir {
		return 0
	}
	return pid
}

// s3Here is the S3 server's folder as the server sees it: its working directory, through
// a link that the private /tmp mounted over a state folder under /tmp does not hide.
const s3Here = "/proc/self/cwd"

// weedArgv is the S3 server's command line: master, volume, filer and S3 gateway in one
// process, every listener on the bridge address only (-ip.bind set, so no loopback twin), S3
// over TLS only, and nothing SeaweedFS would start by default that the sandbox does not use:
// no telemetry to the internet, no Iceberg or Lance catalogs.
func (c Config) weedArgv(weed string) []string {
	dir, addr := s3Here, c.HostAddr().String()
	return []string{weed, "-logtostderr", "server",
		"-dir=" + filepath.Join(dir, s3DataDir),
		"-ip=" + addr, "-ip.bind=" + addr,
		"-master.port=" + strconv.Itoa(s3MasterPort), "-master.port.grpc=" + strconv.Itoa(s3MasterGRPCPort),
		"-master.telemetry=false",
		"-volume.port=" + strconv.Itoa(s3VolumePort), "-volume.port.grpc=" + strconv.Itoa(s3VolumeGRPCPort),
		"-filer.port=" + strconv.Itoa(s3FilerPort), "-filer.port.grpc=" + strconv.Itoa(s3FilerGRPCPort),
		"-s3", "-s3.port=" + strconv.Itoa(model.SandboxS3Port), "-s3.port.grpc=" + strconv.Itoa(s3GRPCPort),
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.config=" + filepath.Join(dir, s3Identities),
		"-s3.cert.file=" + filepath.Join(dir, s3ServerCert),
		"-s3.key.file=" + filepath.Join(dir, s3ServerKey),
	}
}

// s3Identity is one entry of SeaweedFS's static identities file (-s3.config).
type s3Identity struct {
	Name        string         `json:"name"`
	Credentials []s3Credential `json:"credentials"`
	Actions     []string       `json:"actions"`
}

type s3Credential struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

// identitiesJSON is the identities file: one identity with every right on every bucket
// (Admin lets it create buckets, as the cloud's service account key can).
func identitiesJSON(s S3) ([]byte, error) {
	b, err := json.MarshalIndent(struct {
		Identities []s3Identity `json:"identities"`
	}{[]s3Identity{{
		Name:        "pghac",
		Credentials: []s3Credential{{AccessKey: s.AccessKey, SecretKey: s.SecretKey}},
		Actions:     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}}, "", "  ")
	return append(b, '\n'), err
}

// createBucket makes s.Bucket with a signed CreateBucket, retrying while the server finishes
// starting (its S3 port opens before its filer and volume server are ready).
func createBucket(ctx context.Context, cfg Config, s S3) error {
	pool, err := s3CAPool(cfg)
	if err != nil {
		return err
	}
	client := newS3Client(cfg.S3Endpoint(), pool, s)
	ctx, cancel := context.WithTimeout(ctx, s3StartTimeout)
	defer cancel()
	for {
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
		var apiErr smithy.APIError
		if err == nil || errors.As(err, &apiErr) && (apiErr.ErrorCode() == "BucketAlreadyOwnedByYou" || apiErr.ErrorCode() == "BucketAlreadyExists") {
			if err == nil {
				cfg.logf("network: S3 bucket %s made", s.Bucket)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			out, _ := os.ReadFile(filepath.Join(cfg.s3Dir(), s3LogFile))
			return fmt.Errorf("make the bucket %s in the sandbox's S3 server: %w%s", s.Bucket, err, indentTail(string(out), 10))
		case <-time.After(time.Second):
		}
	}
}

// s3CAPool is a pool with the sandbox CA alone: what the host trusts the S3 server with.
func s3CAPool(cfg Config) (*x509.CertPool, error) {
	return pki.ReadRoots(cfg.S3CAFile())
}

// newS3Client is a signing S3 client of endpoint (host:port) over TLS that trusts pool only,
// path-style as pgBackRest's repo1-s3-uri-style=path.
func newS3Client(endpoint string, pool *x509.CertPool, s S3) *s3.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the bridge address is local: never through the host's HTTP proxy
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return s3.New(s3.Options{
		Region:       s3Region,
		BaseEndpoint: aws.String("https://" + endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, Source: "pghac sandbox"}, nil
		}),
		HTTPClient:       &http.Client{Transport: tr, Timeout: 30 * time.Second},
		RetryMaxAttempts: 1, // createBucket retries itself, with its own deadline
	})
}

// hostHasAddr reports whether a host interface has addr.
func hostHasAddr(addr netip.Addr) bool {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == addr {
			return true
		}
	}
	return false
}

// weedPath is where the SeaweedFS binary of seaweedVersion is cached.
func weedPath(cacheDir string) string {
	return filepath.Join(cacheDir, "s3", "seaweedfs-"+seaweedVersion, "weed")
}

// ensureWeed returns the cached SeaweedFS binary, building it first if there is none: the
// module from the Go module proxy (`go install` refuses it for its replace directives), copied
// out of the read-only module cache and built there, static (CGO off) and without the build
// machine's paths. That takes about 5 minutes on two cores, once per host and version. It is
// built in a temporary directory and renamed into place, so one that exists is complete;
// concurrent callers wait for one build.
func ensureWeed(ctx context.Context, cfg Config) (string, error) {
	bin := weedPath(cfg.CacheDir)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	goTool, err := findGo()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cfg.CacheDir, "s3")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".seaweedfs-"+seaweedVersion+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by another process while we waited
	}
	// Leftovers of an interrupted build: we hold the lock, so nobody uses them.
	stale, _ := filepath.Glob(filepath.Join(dir, ".tmp-seaweedfs-"+seaweedVersion+"-*"))
	stale = append(stale, filepath.Dir(bin))
	for _, s := range stale {
		if err := removeTree(s); err != nil {
			return "", err
		}
	}
	tmp := filepath.Join(dir, ".tmp-seaweedfs-"+seaweedVersion+"-"+strconv.Itoa(os.Getpid()))
	defer func() { _ = removeTree(tmp) }()
	start := time.Now()
	if err := buildWeed(ctx, cfg, goTool, tmp); err != nil {
		return "", fmt.Errorf("build the sandbox's S3 server (SeaweedFS %s): %w", seaweedVersion, err)
	}
	if err := os.Rename(filepath.Join(tmp, "out"), filepath.Dir(bin)); err != nil {
		return "", err
	}
	cfg.logf("S3 server: SeaweedFS built in %s (%s)", time.Since(start).Round(time.Second), bin)
	return bin, nil
}

// findGo is the go command: on PATH, else where Go's tarball and Debian's golang-go put it
// (sudo's PATH often has neither).
func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/local/go/bin/go", "/usr/lib/go/bin/go"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the sandbox's S3 server (SeaweedFS) is built from source on first use, and there is no Go toolchain (no go on PATH, nor /usr/local/go/bin/go): install Go (https://go.dev/dl/) and run again")
}

func buildWeed(ctx context.Context, cfg Config, goTool, tmp string) error {
	src, out := filepath.Join(tmp, "src"), filepath.Join(tmp, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cfg.logf("S3 server: downloading SeaweedFS %s (once per host)", seaweedVersion)
	b, err := goCommand(ctx, goTool, tmp, "mod", "download", "-json", seaweedModule+"@"+seaweedVersion)
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(b, &mod); jerr == nil && mod.Error != "" {
		return errors.New(mod.Error)
	}
	if err != nil {
		return err
	}
	if mod.Dir == "" {
		return fmt.Errorf("go mod download gave no directory:%s", indentTail(string(b), 10))
	}
	// os.CopyFS makes the copies writable, as go build needs them (the module cache is not).
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return err
	}
	cfg.logf("S3 server: building SeaweedFS (about 5 minutes on two cores, once per host)")
	done := make(chan struct{})
	defer close(done)
	go func() {
		start := time.Now()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				cfg.logf("S3 server: still building SeaweedFS (%s)", time.Since(start).Round(time.Second))
			}
		}
	}()
	_, err = goCommand(ctx, goTool, src, "build", "-trimpath", "-o", filepath.Join(out, "weed"), "./weed")
	return err
}

// goCommand runs the go command in dir. It keeps the caller's environment, which is the Go
// toolchain's configuration (module proxy, caches), but builds for this host, outside any
// workspace and from go.sum as it is.
func goCommand(ctx context.Context, goTool, dir string, args ...string) ([]byte, error) {
	cmd := command(ctx, goTool, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH,
		"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("go %s: %w%s", strings.Join(args, " "), err, indentTail(stderr.String(), 15))
	}
	return stdout.Bytes(), nil
}

// ensureS3Certs makes sure dir holds the sandbox CA (ca.crt, ca.key) and a certificate for
// the S3 server at addr signed by it (server.crt, server.key), making what is missing, no
// longer valid or for another address. It reports whether the server's certificate changed.
func ensureS3Certs(dir string, addr netip.Addr, now time.Time) (bool, error) {
	ca, caKey, err := loadCA(dir, now)
	if err != nil {
		ca, caKey, err = newCA(dir, now)
		if err != nil {
			return false, err
		}
	}
	if serverCertValid(dir, ca, addr, now) {
		return false, nil
	}
	return true, newServerCert(dir, ca, caKey, addr, now)
}

// loadCA reads the CA and its key, failing when either is missing, they do not match, or
// the CA ends within certRenewal.
func loadCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, key, err := loadPair(filepath.Join(dir, s3CACert), filepath.Join(dir, s3CAKey))
	if err != nil {
		return nil, nil, err
	}
	if !cert.IsCA || now.Add(certRenewal).After(cert.NotAfter) {
		return nil, nil, errors.New("the sandbox CA is not a CA or ends soon")
	}
	return cert, key, nil
}

// serverCertValid reports whether the server's certificate is ca's, for addr, and good for
// longer than certRenewal.
func serverCertValid(dir string, ca *x509.Certificate, addr netip.Addr, now time.Time) bool {
	cert, _, err := loadPair(filepath.Join(dir, s3ServerCert), filepath.Join(dir, s3ServerKey))
	if err != nil || now.Add(certRenewal).After(cert.NotAfter) {
		return false
	}
	if !slices.Contains(cert.DNSNames, addr.String()) || !slices.ContainsFunc(cert.IPAddresses, func(ip net.IP) bool { return ip.Equal(addr.AsSlice()) }) {
		return false
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: addr.String(), CurrentTime: now})
	return err == nil
}

// loadPair reads a PEM certificate and its ECDSA key (PKCS #8) and checks that they match.
func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not match %s", keyPath, certPath)
	}
	return cert, key, nil
}

// newCA makes the sandbox's CA: ECDSA P-256, long-lived (it is written into machines' disks,
// which must not have to change for it), allowed to sign server certificates only.
func newCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: s3CAName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return issue(dir, s3CACert, s3CAKey, tmpl, nil, nil)
}

// newServerCert makes the S3 server's certificate for addr. addr is in it twice: as an IP
// address (what Go, curl and OpenSSL's own host check compare) and as a DNS name, which is all
// pgBackRest 2.45 compares (src/common/io/tls/client.c, tlsClientHostVerify: GEN_DNS only,
// and the common name only when there are no alternative names at all).
func newServerCert(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, addr netip.Addr, now time.Time) error {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: addr.String()},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(serverCertAge),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{addr.String()},
		IPAddresses: []net.IP{addr.AsSlice()},
	}
	_, _, err := issue(dir, s3ServerCert, s3ServerKey, tmpl, ca, caKey)
	return err
}

// issue makes a key and a certificate from tmpl signed by parent (nil: self-signed) and
// writes them into dir, the key 0600.
func issue(dir, certName, keyName string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePrivate(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})); err != nil {
		return nil, nil, err
	}
	if err := writeFile(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// writePrivate writes a file only its owner may read, replacing the old one at once: a
// rewritten file is never readable by others, nor half-written.
func writePrivate(path string, b []byte) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// caBundle is OpenSSL's default CA file on Debian (/usr/lib/ssl/cert.pem links to it):
// what pgBackRest trusts when repo1-storage-ca-file is unset (SSL_CTX_set_default_verify_paths).
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// s3TrustFiles make a machine trust the sandbox CA from its first boot, without its user-data
// (the cloud's) saying so: the CA among the local CAs, which update-ca-certificates keeps in the
// bundle whenever a package runs it, and the image's bundle with the CA appended, for what
// reads the bundle before that. Without a CA (no S3 server was ever started) there are none.
func (c Config) s3TrustFiles(root string) ([]seedFile, error) {
	ca, err := os.ReadFile(c.S3CAFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var bundle []byte
	// Lstat: a link in the image would point into the host's own /etc.
	if fi, err := os.Lstat(filepath.Join(root, caBundle)); err == nil && fi.Mode().IsRegular() {
		if bundle, err = os.ReadFile(filepath.Join(root, caBundle)); err != nil {
			return nil, err
		}
	}
	if len(bundle) > 0 && !bytes.HasSuffix(bundle, []byte("\n")) {
		bundle = append(bundle, '\n')
	}
	return []seedFile{
		{caTrustPath, ca, 0o644},
		{caBundle, append(bundle, ca...), 0o644},
	}, nil
}

// s3Spec records what the S3 server serves (an S3, keys included; 0600 in the 0700 state
// folder), so that NetworkUp's caller can start it before the machines boot: the sandbox's
// Terraform brings the network up and boots the machines in one apply, and pghac up only
// knows the keys.
const s3Spec = "spec.json"

// S3Prepare records s as what the sandbox's S3 server serves from now on, and builds its
// binary when the host has none (minutes, once per host), before Terraform runs. S3Start, on
// the network's way up, starts it.
func S3Prepare(ctx context.Context, cfg Config, s S3) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.s3Dir(), 0o700); err != nil {
		return err
	}
	if _, err := ensureWeed(ctx, cfg); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return writePrivate(filepath.Join(cfg.s3Dir(), s3Spec), b)
}

// S3Start starts the S3 server S3Prepare recorded (S3Up); with none recorded (a cluster
// without backups), it does nothing.
func S3Start(ctx context.Context, cfg Config) error {
	b, err := os.ReadFile(filepath.Join(cfg.s3Dir(), s3Spec))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var s S3
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(cfg.s3Dir(), s3Spec), err)
	}
	return S3Up(ctx, cfg, s)
}

// S3Forget stops the S3 server and forgets what it serves, keeping its data: the cluster
// file turned backups off.
func S3Forget(cfg Config) error {
	if err := S3Down(cfg); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(cfg.s3Dir(), s3Spec)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ensureS3CA makes the sandbox CA and the S3 server's certificate when they are missing or
// no longer fit the bridge address.
func (c Config) ensureS3CA() error {
	if err := os.MkdirAll(c.s3Dir(), 0o700); err != nil {
		return err
	}
	_, err := ensureS3Certs(c.s3Dir(), c.HostAddr(), time.Now())
	return err
}

// caTrustPath is where a machine keeps the sandbox CA among its trusted certificates.
const caTrustPath = "/usr/local/share/ca-certificates/pghac-sandbox.crt"

// TrustS3CA makes running machine name trust the sandbox CA, when it does not yet: a machine
// booted before the CA existed (made by an older pghac) gets it into its trusted certificates
// and its bundle (update-ca-certificates). The certificate is public.
func TrustS3CA(ctx context.Context, cfg Config, name string) error {
	if err := cfg.ensureS3CA(); err != nil {
		return err
	}
	ca, err := os.ReadFile(cfg.S3CAFile())
	if err != nil {
		return err
	}
	if have, _, err := Exec(ctx, cfg, name, "cat", caTrustPath); err == nil && bytes.Equal(have, ca) {
		return nil
	}
	cfg.logf("%s: trusting the sandbox CA", name)
	_, _, err = Exec(ctx, cfg, name, "sh", "-c", `printf '%s' "$1" > `+caTrustPath+` && update-ca-certificates >/dev/null`, "sh", string(ca))
	return err
}
