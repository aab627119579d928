package remote_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/remote"
	"github.com/pghac/pghac/internal/remote/sshdtest"
)

func dial(t *testing.T, addr string, opts remote.Options) *remote.Client {
	t.Helper()
	c, err := remote.Dial(context.Background(), remote.Endpoint{Addr: addr, User: "root"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRunReadWrite(t *testing.T) {
	key, pub := sshdtest.OperatorKey(t)
	srv := sshdtest.Start(t, pub, false, "")
	known := filepath.Join(t.TempDir(), "state", "known_hosts")
	c := dial(t, srv.Addr, remote.Options{Key: key, HostKeys: remote.NewHostKeys(known)})
	ctx := context.Background()

	out, err := c.Run(ctx, "id -u; cat", []byte("from stdin\n"))
	if err != nil || string(out) != "0\nfrom stdin\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	_, err = c.Run(ctx, "echo oops >&2; exit 7", nil)
	xe, ok := errors.AsType[*remote.ExitError](err)
	if !ok || xe.Status != 7 || !strings.Contains(xe.Error(), "oops") {
		t.Errorf("a failing command: %v", err)
	}

	path := filepath.Join(t.TempDir(), "new dir", "it's.conf") // a space and a quote to quote
	if _, err := c.ReadFile(ctx, path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	for _, content := range []string{"first\n", "second, shorter"} {
		if err := c.WriteFile(ctx, path, []byte(content), 0o640, "root:daemon"); err != nil {
			t.Fatal(err)
		}
		got, err := c.ReadFile(ctx, path)
		if err != nil || string(got) != content {
			t.Errorf("ReadFile after WriteFile = %q, %v; want %q", got, err, content)
		}
	}
	got, err := c.ReadFiles(ctx, []string{path, "/nonexistent/file", "/etc/hostname"})
	if err != nil {
		t.Fatal(err)
	}
	hostname, _ := os.ReadFile("/etc/hostname")
	if f := got[path]; !f.Exists || string(f.Content) != "second, shorter" || f.Mode != 0o640 || f.Owner != "root:daemon" {
		t.Errorf("ReadFiles: %+v", f)
	}
	if got["/nonexistent/file"].Exists || string(got["/etc/hostname"].Content) != string(hostname) {
		t.Errorf("ReadFiles: %+v", got)
	}
	// The server is this host: the file is here to look at.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o640 || st.Gid != 1 {
		t.Errorf("written file: mode %v gid %d, want 0640 and daemon's 1", fi.Mode().Perm(), st.Gid)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.pghac-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Run(ctx, "sleep 30", nil); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Run past its context: %v after %s", err, time.Since(start))
	}
}

func TestHostKeyPinning(t *testing.T) {
	key, pub := sshdtest.OperatorKey(t)
	srv := sshdtest.Start(t, pub, false, "")
	known := filepath.Join(t.TempDir(), "known_hosts")
	hk := remote.NewHostKeys(known)
	dial(t, srv.Addr, remote.Options{Key: key, HostKeys: hk}).Close()
	b, err := os.ReadFile(known)
	if err != nil || strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), "ssh-ed25519") {
		t.Fatalf("known_hosts after the first contact: %q, %v", b, err)
	}
	if fi, _ := os.Stat(known); fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode %v, want 0600", fi.Mode().Perm())
	}
	dial(t, srv.Addr, remote.Options{Key: key, HostKeys: hk}).Close() // the same key again
	if b2, _ := os.ReadFile(known); string(b2) != string(b) {
		t.Errorf("known_hosts changed on the second contact:\n%s", b2)
	}

	// Another server on the same address, with its own host key: refused.
	other := sshdtest.Start(t, pub, false, "")
	line := strings.Replace(string(b), srv.AddrForKnownHosts(), other.AddrForKnownHosts(), 1)
	if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = remote.Dial(context.Background(), remote.Endpoint{Addr: other.Addr, User: "root"}, remote.Options{Key: key, HostKeys: hk})
	if _, ok := errors.AsType[*remote.HostKeyMismatchError](err); !ok || !strings.Contains(err.Error(), known+":1") {
		t.Fatalf("a changed host key: %v, want a HostKeyMismatchError naming %s:1", err, known)
	}
	// Forgetting the host (a machine rebuilt on purpose) pins the new key.
	if err := hk.Forget(other.Addr); err != nil {
		t.Fatal(err)
	}
	dial(t, other.Addr, remote.Options{Key: key, HostKeys: hk}).Close()
}

func TestUnknownOperatorKey(t *testing.T) {
	_, pub := sshdtest.OperatorKey(t)
	stranger, _ := sshdtest.OperatorKey(t)
	srv := sshdtest.Start(t, pub, false, "")
	_, err := remote.Dial(context.Background(), remote.Endpoint{Addr: srv.Addr, User: "root"},
		remote.Options{Key: stranger, HostKeys: remote.NewHostKeys(filepath.Join(t.TempDir(), "known_hosts"))})
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("an unknown operator key: %v", err)
	}
}

func TestJumpHost(t *testing.T) {
	key, pub := sshdtest.OperatorKey(t)
	jump := sshdtest.Start(t, pub, true, "")
	node := sshdtest.Start(t, pub, false, "")
	known := filepath.Join(t.TempDir(), "known_hosts")
	c := dial(t, node.Addr, remote.Options{Key: key, HostKeys: remote.NewHostKeys(known), Jump: &remote.Endpoint{Addr: jump.Addr, User: "root"}})
	if out, err := c.Run(context.Background(), "echo $SSH_CONNECTION", nil); err != nil || len(strings.Fields(string(out))) != 4 {
		t.Fatalf("through the jump host: %q, %v", out, err)
	}
	// Both were contacted (below: and the path really goes through the jump host).
	if b, _ := os.ReadFile(known); strings.Count(string(b), "\n") != 2 {
		t.Errorf("known_hosts pins %d keys, want the jump host's and the node's:\n%s", strings.Count(string(b), "\n"), b)
	}

	noForward := sshdtest.Start(t, pub, false, "")
	_, err := remote.Dial(context.Background(), remote.Endpoint{Addr: node.Addr, User: "root"},
		remote.Options{Key: key, HostKeys: remote.NewHostKeys(known), Jump: &remote.Endpoint{Addr: noForward.Addr, User: "root"}})
	if err == nil || !strings.Contains(err.Error(), "through "+"root@"+noForward.Addr) {
		t.Errorf("a jump host that does not forward: %v", err)
	}
}

// TestQuoting: a script quoted whole (as Run does for sudo -n sh -c when the login user is
// not root) reaches the shell as written: newlines, quotes and $ included.
func TestQuoting(t *testing.T) {
	key, pub := sshdtest.OperatorKey(t)
	srv := sshdtest.Start(t, pub, false, "")
	c := dial(t, srv.Addr, remote.Options{Key: key, HostKeys: remote.NewHostKeys(filepath.Join(t.TempDir(), "known_hosts"))})
	script := "echo 'it''s'\necho \"$((1+2))\" $HOME"
	out, err := c.Run(context.Background(), "sh -c "+remote.Quote(script), nil)
	if err != nil || string(out) != "its\n3 /root\n" {
		t.Errorf("a quoted script: %q, %v", out, err)
	}
}

// TestTunnel: HTTP through a jump host reaches a server only the jump host need reach, and
// only while the tunnel is open; a jump host that does not forward refuses it.
func TestTunnel(t *testing.T) {
	key, pub := sshdtest.OperatorKey(t)
	jump := sshdtest.Start(t, pub, true, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "from the far side") }))
	defer srv.Close()
	known := filepath.Join(t.TempDir(), "known_hosts")
	opts := remote.Options{Key: key, HostKeys: remote.NewHostKeys(known)}
	ctx := context.Background()

	tun, err := remote.OpenTunnel(ctx, remote.Endpoint{Addr: jump.Addr, User: "root"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	hc := tun.HTTPClient(5 * time.Second)
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET through the tunnel: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "from the far side" {
		t.Errorf("GET through the tunnel: %q", body)
	}
	if tun.Broken() {
		t.Error("an open tunnel says it is broken")
	}
	tun.Close()
	if _, err := hc.Get(srv.URL); err == nil {
		t.Error("GET through a closed tunnel succeeded")
	}
	for deadline := time.Now().Add(5 * time.Second); !tun.Broken(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a closed tunnel does not say it is broken")
		}
	}

	noForward := sshdtest.Start(t, pub, false, "")
	tun, err = remote.OpenTunnel(ctx, remote.Endpoint{Addr: noForward.Addr, User: "root"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	if _, err := tun.HTTPClient(5 * time.Second).Get(srv.URL); err == nil || !strings.Contains(err.Error(), "through the jump host") {
		t.Errorf("GET through a jump host that does not forward: %v", err)
	}
}
