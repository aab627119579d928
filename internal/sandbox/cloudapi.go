package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/cloudapi"
	"github.com/pghac/pghac/internal/lockbox"
)

// The sandbox's cloud API: the stand-in for the Yandex Cloud APIs that nodes and pghac call
// (package cloudapi), run by the host as a daemon on the bridge address. Lockbox is served
// over TLS with the sandbox CA's server certificate (the S3 server's: same address, and every
// machine trusts the CA from its first boot); the metadata service over plain HTTP, as the
// cloud's, reached by the machines at its link-local address: each has a route to it through
// the host (seedFiles), and the host's nft table redirects it here (redirectMetadata).

// cloudAPIDir is the daemon's state folder: the secrets' versions, the tokens' keys, the
// machines' metadata. Private: 0700.
func (c Config) cloudAPIDir() string { return filepath.Join(c.StateDir, "cloudapi") }

// cloudAPIStartTimeout: it is pghac itself, listening within a second.
const cloudAPIStartTimeout = 30 * time.Second

// CloudAPIAction is the hidden command's action that runs ServeCloudAPI.
const CloudAPIAction = "cloud-api"

// cloudAPICgroup names its cgroup: longer than MaxNameLen, so never a machine's.
const cloudAPICgroup = "cloud-api-stand-in"

func (c Config) cloudAPI() daemon {
	return daemon{cfg: c, what: "cloud API", cgroup: cloudAPICgroup, dir: c.cloudAPIDir(),
		logPath: filepath.Join(c.cloudAPIDir(), "cloud-api.log"), running: c.cloudAPIPID}
}

// cloudAPIPID is the running daemon's PID, or 0: the pid file's process if it runs this
// sandbox's cloud-api action.
func (c Config) cloudAPIPID() int {
	pid, err := readPID(filepath.Join(c.cloudAPIDir(), "pid"))
	if err != nil || !alive(pid) {
		return 0
	}
	argv := cmdline(pid)
	if !slices.Contains(argv, CloudAPIAction) || !slices.Contains(argv, c.StateDir) {
		return 0
	}
	return pid
}

// CloudAPIUp starts the cloud API with argv (the hidden command that runs ServeCloudAPI for
// this sandbox) unless it runs, and redirects the metadata address to it. The network must
// be up.
func CloudAPIUp(ctx context.Context, cfg Config, argv []string) error {
	if err := os.MkdirAll(cfg.cloudAPIDir(), 0o700); err != nil {
		return err
	}
	if err := cfg.ensureS3CA(); err != nil {
		return err
	}
	if err := cfg.redirectMetadata(); err != nil {
		return err
	}
	if cfg.cloudAPIPID() != 0 {
		return nil
	}
	for _, p := range []int{model.SandboxLockboxPort, model.SandboxMetadataPort} {
		if l := tcpListener(cfg.HostAddr(), p); l != "" {
			return fmt.Errorf("port %d on %s is taken (a listener on %s), so the sandbox's cloud API cannot start", p, cfg.HostAddr(), l)
		}
	}
	cfg.logf("network: cloud API (metadata, Lockbox) on %s", cfg.HostAddr())
	return cfg.cloudAPI().start(ctx, argv, netip.AddrPortFrom(cfg.HostAddr(), model.SandboxLockboxPort), cloudAPIStartTimeout)
}

// CloudAPIDown stops the cloud API; its state (the secrets' versions) stays with the
// sandbox's state folder, as the cloud's Lockbox outlives a VM.
func CloudAPIDown(cfg Config) error { return cfg.cloudAPI().stop() }

// ServeCloudAPI serves the cloud API on the bridge address until ctx ends: the daemon's body.
func ServeCloudAPI(ctx context.Context, cfg Config) error {
	srv, err := cloudapi.New(cfg.cloudAPIDir())
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(cfg.s3Dir(), s3ServerCert), filepath.Join(cfg.s3Dir(), s3ServerKey))
	if err != nil {
		return fmt.Errorf("the sandbox CA's server certificate: %w", err)
	}
	servers := []*http.Server{
		{Addr: addrPort(cfg.HostAddr(), model.SandboxMetadataPort), Handler: srv.Metadata(), ReadHeaderTimeout: 10 * time.Second},
		{Addr: addrPort(cfg.HostAddr(), model.SandboxLockboxPort), Handler: srv.Lockbox(), ReadHeaderTimeout: 10 * time.Second,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}},
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		l, err := net.Listen("tcp4", s.Addr)
		if err != nil {
			return err
		}
		go func() {
			if s.TLSConfig != nil {
				errc <- s.ServeTLS(l, "", "")
			} else {
				errc <- s.Serve(l)
			}
		}()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	for _, s := range servers {
		_ = s.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func addrPort(a netip.Addr, port int) string { return net.JoinHostPort(a.String(), strconv.Itoa(port)) }

// registerMachine gives the machine at addr its metadata attributes, before it boots.
func (c Config) registerMachine(addr netip.Addr, attrs map[string]string) error {
	if err := os.MkdirAll(c.cloudAPIDir(), 0o700); err != nil {
		return err
	}
	return cloudapi.RegisterMachine(c.cloudAPIDir(), addr, attrs)
}

// forgetMachine removes the machine at addr from the metadata service.
func (c Config) forgetMachine(addr netip.Addr) error {
	return cloudapi.ForgetMachine(c.cloudAPIDir(), addr)
}

// redirectMetadata makes what machines send to the metadata address (port 80) arrive at the
// cloud API's metadata port: a nat chain in an ip-family table of the sandbox's name. Only
// traffic that comes in on the bridge is redirected; the host's own (a cloud VM's metadata
// service, if it has one) is left alone.
func (c Config) redirectMetadata() error {
	t := c.nftTable()
	var b strings.Builder
	fmt.Fprintf(&b, "add table ip %s\n", t)
	fmt.Fprintf(&b, "add chain ip %s metadata { type nat hook prerouting priority dstnat; policy accept; }\n", t)
	fmt.Fprintf(&b, "flush chain ip %s metadata\n", t)
	fmt.Fprintf(&b, "add rule ip %s metadata iifname %q ip daddr %s tcp dport %d dnat to %s\n", t, c.Bridge,
		model.MetadataAddr, model.MetadataPort, netip.AddrPortFrom(c.HostAddr(), model.SandboxMetadataPort))
	if err := nftScript(b.String()); err != nil {
		return fmt.Errorf("redirecting the metadata address to the sandbox's cloud API: %w", err)
	}
	return nil
}

// LockboxClient is a Lockbox client of the sandbox's stand-in, as the operator: the same client
// pghac uses with the cloud, with the sandbox's endpoint, CA and operator token.
func LockboxClient(cfg Config) (*lockbox.Client, error) {
	pool, err := s3CAPool(cfg)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the bridge address is local: never through the host's HTTP proxy
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	endpoint := "https://" + addrPort(cfg.HostAddr(), model.SandboxLockboxPort)
	dir := cfg.cloudAPIDir()
	return &lockbox.Client{
		APIEndpoint: endpoint, PayloadEndpoint: endpoint,
		HTTP:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
		Token: func(context.Context) (string, error) { return cloudapi.OperatorToken(dir) },
	}, nil
}
