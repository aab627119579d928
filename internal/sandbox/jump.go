package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pghac/pghac/internal/remote"
)

const sshdPath = "/usr/sbin/sshd"

// JumpHost is the sandbox's stand-in for a cluster's jump host.
type JumpHost struct {
	// Port is its port on the bridge address.
	Port uint16
	// User is the account it lets the operator in as. It can only forward TCP connections
	// (no shell, no terminal, no remote forwarding).
	User string
	// AuthorizedKeys are the keys it lets in (authorized_keys lines).
	AuthorizedKeys []byte
}

func (c Config) jumpDir() string { return filepath.Join(c.StateDir, "jump-host") }

// sshdConfig lets the operator key in as JumpUser for local TCP forwarding only, which is
// all a jump host does (ssh -J, and pghac's tunnels to the nodes' HTTP endpoints).
var sshdConfig = template.Must(template.New("sshd_config").Parse(`# The sandbox's stand-in for the cluster's jump host (network.jump_host). Written by pghac.
ListenAddress {{.Listen}}
HostKey {{.Dir}}/host_ed25519
PidFile none
AuthorizedKeysFile {{.Dir}}/authorized_keys
AllowUsers {{.User}}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding local
AllowStreamLocalForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PermitTTY no
ForceCommand /usr/sbin/nologin
LogLevel VERBOSE
`))

// JumpUp starts the stand-in jump host j, a real OpenSSH sshd on the bridge address, when it
// does not run. Its authorized keys are rewritten every call (a running sshd reads them at
// each login); a running one with another port or user is restarted. The bridge must exist
// (NetworkUp). It returns the jump host's public host key, which it generated itself on
// first use, so that the caller can pin it rather than trust it on first contact. Its log is
// jump-host/sshd.log in StateDir.
func JumpUp(ctx context.Context, cfg Config, j JumpHost) (ssh.PublicKey, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(sshdPath); err != nil {
		return nil, errors.New("the sandbox stands in the cluster's jump host with OpenSSH's sshd, which is missing: install it with `apt-get install openssh-server` (or `make deps`)")
	}
	dir := cfg.jumpDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hostKey, err := jumpHostKey(filepath.Join(dir, "host_ed25519"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), j.AuthorizedKeys, 0o600); err != nil {
		return nil, err
	}
	addr := netip.AddrPortFrom(cfg.HostAddr(), j.Port)
	var conf bytes.Buffer
	if err := sshdConfig.Execute(&conf, struct{ Listen, Dir, User string }{addr.String(), dir, j.User}); err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "sshd_config")
	if cfg.jumpPID() != 0 {
		if old, _ := os.ReadFile(confPath); bytes.Equal(old, conf.Bytes()) {
			return hostKey, nil
		}
		if err := JumpDown(cfg); err != nil {
			return nil, err
		}
	}
	if l := tcpListener(addr.Addr(), int(addr.Port())); l != "" {
		return nil, fmt.Errorf("port %d on %s is taken (a listener on %s), so the sandbox's stand-in jump host cannot start", addr.Port(), addr.Addr(), l)
	}
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	// sshd chroots its unprivileged child here; the host's ssh.service would create it.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	cfg.logf("network: stand-in jump host (sshd) on %s", addr)
	if err := cfg.jumpHost().start(ctx, []string{sshdPath, "-D", "-e", "-f", confPath}, addr, 10*time.Second); err != nil {
		return nil, err
	}
	return hostKey, nil
}

// JumpDown stops the stand-in jump host; one that does not run is fine. Its host key stays,
// so that a jump host started again is the same host.
func JumpDown(cfg Config) error { return cfg.jumpHost().stop() }

// jumpHost is the stand-in jump host as a daemon.
func (c Config) jumpHost() daemon {
	return daemon{cfg: c, what: "stand-in jump host", cgroup: "jump-host", dir: c.jumpDir(),
		logPath: filepath.Join(c.jumpDir(), "sshd.log"), running: c.jumpPID}
}

// jumpPID returns the running stand-in jump host's PID, or 0.
func (c Config) jumpPID() int {
	pid, err := readPID(filepath.Join(c.jumpDir(), "pid"))
	if err != nil || !alive(pid) {
		return 0
	}
	// sshd rewrites its command line ("sshd: /usr/sbin/sshd -D ... [listener]"): its
	// executable, and its configuration among its words, say it is ours.
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil || exe != sshdPath || !strings.Contains(strings.Join(cmdline(pid), " "), filepath.Join(c.jumpDir(), "sshd_config")) {
		return 0
	}
	return pid
}

// jumpHostKey reads the ed25519 host key at path, generating it (0600, OpenSSH's format,
// as the operator key is) when there is none, and returns its public half.
func jumpHostKey(path string) (ssh.PublicKey, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		priv, _, err := remote.NewOperatorKey("pghac sandbox jump host")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, priv, 0o600); err != nil {
			return nil, err
		}
	}
	signer, err := remote.LoadOperatorKey(path)
	if err != nil {
		return nil, err
	}
	return signer.PublicKey(), nil
}
