package haproxy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model/modeltest"
)

// TestReloadKeepsServerStates runs the real HAProxy (master-worker, as Debian's unit runs it)
// with the state-file lines pghac emits and reloads it the way the emitted drop-in does: the
// save-state script, then SIGUSR2. A server that was down stays down in the new worker, even
// though its health check now hangs; without the saved state (the control) the new worker
// starts it up, which on the primary port would send writes to a replica.
func TestReloadKeepsServerStates(t *testing.T) {
	for _, line := range []string{"server-state-file " + StateFile, "load-server-state-from-file global"} {
		if !strings.Contains(string(emit(t, modeltest.Cluster(), 0)), line) {
			t.Fatalf("the generated configuration lacks %q", line)
		}
	}
	dir := t.TempDir()
	sock, state := filepath.Join(dir, "admin.sock"), filepath.Join(dir, "server-state")
	script := filepath.Join(dir, "save-state.py")
	if err := os.WriteFile(script, []byte(SaveStateScript), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Patroni's REST API stands-ins: "up" answers 200 on /primary, "down" 503 until it hangs.
	var hang atomic.Bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	release := make(chan struct{})
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang.Load() {
			<-release
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	defer close(release)
	port := func(u string) string { return u[strings.LastIndex(u, ":")+1:] }
	// hard-stop-after: an old worker waits for its hung check otherwise, and answers on the
	// stats socket it shares with the new one.
	cfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin expose-fd listeners
    server-state-file %s
    hard-stop-after 500ms
defaults
    mode tcp
    load-server-state-from-file global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 30s
listen primary
    bind unix@%s
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 200ms fall 1 rise 1 on-marked-down shutdown-sessions
    server up 127.0.0.1:1 check port %s
    server down 127.0.0.1:2 check port %s
`, sock, state, filepath.Join(dir, "front.sock"), port(up.URL), port(down.URL))
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/haproxy", "-W", "-db", "-f", cfgPath)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("HAProxy's output:\n%s", log.String())
		}
	})
	first, ok := waitStates(ctx, t, sock, "", func(s map[string]string) bool { return s["up"] == "2" && s["down"] == "0" })
	if !ok {
		t.Fatalf("HAProxy did not find up up and down down (last socket error %v)", lastErr)
	}
	hang.Store(true) // from now on no check of "down" ends within the test

	reload := func(save bool) map[string]string {
		t.Helper()
		if save {
			if out, err := exec.Command("/usr/bin/python3", "-I", script, sock, state).CombinedOutput(); err != nil {
				t.Fatalf("save-state script: %v\n%s", err, out)
			}
		} else if err := os.WriteFile(state, []byte("1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := info(ctx, t, sock)
		if old == "" {
			t.Fatalf("no worker answers before the reload (%v)", lastErr)
		}
		// The master may still be settling from the last reload and miss a signal: send it
		// again until a new worker answers (a second reload of the same files changes nothing).
		for {
			if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			states, ok := waitStates(wctx, t, sock, old, func(map[string]string) bool { return true })
			cancel()
			if ok {
				return states
			}
			if ctx.Err() != nil {
				t.Fatalf("no new worker after the reload (last socket error %v)", lastErr)
			}
		}
	}
	if got := reload(true); got["down"] != "0" || got["up"] != "2" {
		t.Errorf("after a reload with the saved states: %v; want down still stopped (0), up running (2) (before: %v)", got, first)
	}
	if got := reload(false); got["down"] != "2" {
		t.Errorf("control: after a reload without saved states, down is %q; the test cannot tell the difference", got["down"])
	}
}

// info is the worker's pid from "show info".
func info(ctx context.Context, t *testing.T, sock string) string {
	t.Helper()
	for _, line := range strings.Split(cli(ctx, t, sock, "show info"), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid: "); ok {
			return v
		}
	}
	return ""
}

// waitStates polls "show servers state" of a worker other than notPid until ok holds, and
// returns each server's operational state (0 stopped, 2 running); false when ctx ends first.
func waitStates(ctx context.Context, t *testing.T, sock, notPid string, ok func(map[string]string) bool) (map[string]string, bool) {
	t.Helper()
	for {
		if pid := info(ctx, t, sock); pid != "" && pid != notPid {
			states := map[string]string{}
			for _, line := range strings.Split(cli(ctx, t, sock, "show servers state"), "\n") {
				if f := strings.Fields(line); len(f) > 5 && !strings.HasPrefix(line, "#") {
					states[f[3]] = f[5]
				}
			}
			if ok(states) {
				return states, true
			}
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var lastErr error

// cli sends one command to HAProxy's stats socket and returns the answer ("" when the socket
// does not answer yet).
func cli(ctx context.Context, t *testing.T, sock, command string) string {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		lastErr = err
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "%s\n", command)
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}
