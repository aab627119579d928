// Package sshdtest starts OpenSSH's real sshd on loopback for tests: its own config, host
// key, authorized keys and port, as root, stopped when the test ends. It needs the
// openssh-server package (make deps installs it); the host's SSH service is not involved.
package sshdtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pghac/pghac/internal/remote"
)

const sshd = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Addr    string // 127.0.0.1:PORT
	HostKey string // path of its ed25519 host key (ssh-keygen's private key file)
	dir     string
}

// Start starts sshd on a free loopback port, accepting root with the keys in
// authorizedKeys (authorized_keys lines), and forwarding TCP when forward is set (a jump
// host). hostKey, when not empty, is the host key file to use, so that a test can restart a
// server with the same or another identity.
func Start(t testing.TB, authorizedKeys []byte, forward bool, hostKey string) *Server {
	t.Helper()
	if _, err := os.Stat(sshd); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no sshd: %v (make deps installs openssh-server)", err)
		}
		t.Skipf("no sshd (%v): make deps installs openssh-server", err)
	}
	// sshd chroots its unprivileged child here; the system's ssh.service would create it.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{dir: dir, HostKey: hostKey}
	if s.HostKey == "" {
		s.HostKey = filepath.Join(dir, "host_ed25519")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", s.HostKey).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), authorizedKeys, 0o600); err != nil {
		t.Fatal(err)
	}
	fwd := "no"
	if forward {
		fwd = "yes"
	}
	// A port picked free may be taken before sshd binds it: try a few.
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		cfg := filepath.Join(dir, "sshd_config")
		conf := strings.Join([]string{
			"ListenAddress 127.0.0.1:" + strconv.Itoa(port),
			"HostKey " + s.HostKey,
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"StrictModes no",
			"AllowTcpForwarding " + fwd,
			"LogLevel VERBOSE",
		}, "\n") + "\n"
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready, log := watch(stderr)
		select {
		case <-ready:
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			return s
		case <-time.After(10 * time.Second):
		}
		cmd.Process.Kill()
		cmd.Wait()
		if out := log(); !strings.Contains(out, "Address already in use") || attempt == 4 {
			t.Fatalf("sshd did not start:\n%s", out)
		}
	}
}

// watch reads sshd's log; ready closes once it listens (or the log ends, when it exited).
func watch(r interface{ Read([]byte) (int, error) }) (ready chan struct{}, log func() string) {
	ready = make(chan struct{})
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(r)
		closed := false
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
			if !closed && strings.Contains(sc.Text(), "Server listening on") {
				close(ready)
				closed = true
			}
		}
		close(lines)
	}()
	return ready, func() string {
		var b strings.Builder
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return b.String()
				}
				fmt.Fprintln(&b, l)
			case <-time.After(time.Second):
				return b.String()
			}
		}
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// AddrForKnownHosts is Addr as a known_hosts line names it: [127.0.0.1]:PORT.
func (s *Server) AddrForKnownHosts() string {
	host, port, _ := net.SplitHostPort(s.Addr)
	return "[" + host + "]:" + port
}

// OperatorKey makes an operator key as pghac does and returns its signer and its
// authorized_keys line, for Start.
func OperatorKey(t testing.TB) (ssh.Signer, []byte) {
	t.Helper()
	priv, pub, err := remote.NewOperatorKey("pghac-test")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "operator")
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := remote.LoadOperatorKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return signer, pub
}
