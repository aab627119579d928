package workload

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/drill"

	"github.com/pghac/pghac/internal/nettest"
)

// freePorts returns n different TCP ports of 127.0.0.1 that nothing listened on a moment ago
// (all picked before any is released, so that no two are the same).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// testHTTP is the test's own client of etcd: a generous timeout for a busy machine, and a new
// connection for every request, so that none goes out on one the server has just closed.
var testHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// startEtcd runs a real single-member etcd on loopback and returns its client URL once it
// answers /health. When one of its ports was taken before etcd bound it, etcd exits: it is
// started again on other ports.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd is not installed (make deps installs etcd-server)")
	}
	for attempt := 1; ; attempt++ {
		client, log, err := tryEtcd(t, bin)
		if err == nil {
			return client
		}
		if attempt == 3 || !strings.Contains(log, "address already in use") {
			t.Fatalf("etcd did not become healthy: %v\n%s", err, log)
		}
		t.Logf("etcd: %v (a port was taken); again on other ports", err)
	}
}

// tryEtcd starts etcd on new ports and waits for /health; on failure it returns etcd's log.
func tryEtcd(t *testing.T, bin string) (client, log string, err error) {
	dir := t.TempDir()
	ports := freePorts(t, 2)
	client = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	cmd := exec.Command(bin, "--name", "m", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "m="+peer, "--log-level", "error")
	logPath := filepath.Join(dir, "etcd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	readLog := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	// etcd starts in a second; the margin is for a machine busy with other packages' tests.
	// Each poll is short: whoever took the port may not answer at all, and etcd's exit is
	// checked between polls.
	poll := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := poll.Get(client + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return client, "", nil
			}
			err = fmt.Errorf("GET /health: %s", resp.Status)
		}
		select {
		case <-exited:
			return "", readLog(), fmt.Errorf("etcd exited (%v)", cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return "", readLog(), fmt.Errorf("not healthy after 60 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// etcdPut puts key = value through etcd's JSON gateway. A put that got no answer (the
// connection closed under it) is sent again: putting the same value twice is harmless.
func etcdPut(t *testing.T, base, key, value string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{
		"key":   base64.StdEncoding.EncodeToString([]byte(key)),
		"value": base64.StdEncoding.EncodeToString([]byte(value)),
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := testHTTP.Post(base+"/v3/kv/put", "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("etcd put: HTTP %d", resp.StatusCode)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd put: no answer for 30 s: %v", err)
		}
		t.Logf("etcd put: %v; again", err)
		time.Sleep(100 * time.Millisecond)
	}
}

// The monitor reads Patroni's leader key from a real etcd, skips a member that does not
// answer, and reports an error (not "no leader") when none does.
func TestMonitorLeaderFromEtcd(t *testing.T) {
	etcd := startEtcd(t)
	dead := "http://" + nettest.ClosedAddr(t)
	const key = "/service/main/leader"
	// Timeout is generous: etcd's answers may be slow on a busy machine, and the dead member
	// refuses at once, so it never waits for it.
	cfg := MonitorConfig{Etcd: []string{dead, etcd}, LeaderKey: key, Timeout: 10 * time.Second}
	m := &Monitor{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}
	ctx := context.Background()

	if s := m.Sample(ctx); s.Err != "" || s.Leader != "" {
		t.Fatalf("before the key exists: %+v, want no leader and no error", s)
	}
	etcdPut(t, etcd, key, "node1")
	if s := m.Sample(ctx); s.Err != "" || s.Leader != "node1" {
		t.Fatalf("sample %+v, want leader node1", s)
	}
	m.cfg.Etcd = []string{dead}
	if s := m.Sample(ctx); s.Err == "" {
		t.Fatalf("sample %+v with no etcd answering, want an error", s)
	}

	// The running monitor: WaitFor sees a change of holder. The monitor is seen sampling the
	// old holder first, so that the change happens while it watches.
	cfg.Interval = 20 * time.Millisecond
	since := time.Now()
	mon := StartMonitor(ctx, cfg)
	t.Cleanup(func() { mon.Stop() })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if s, err := mon.WaitFor(wctx, since, func(s drill.LeaderSample) bool { return s.Leader == "node1" }); err != nil {
		t.Fatalf("WaitFor node1 before the change: %+v, %v", s, err)
	}
	etcdPut(t, etcd, key, "node2")
	s, err := mon.WaitFor(wctx, since, func(s drill.LeaderSample) bool { return s.Leader == "node2" })
	samples := mon.Stop()
	if err != nil || s.Leader != "node2" {
		t.Fatalf("WaitFor: %+v, %v", s, err)
	}
	if len(samples) < 2 {
		t.Errorf("%d samples, want several", len(samples))
	}
}

func TestHealthy(t *testing.T) {
	lag := func(n int64) *int64 { return &n }
	member := func(name, role, state string, tl int, l *int64) drill.MemberSample {
		return drill.MemberSample{Name: name, Role: role, State: state, Timeline: tl, Lag: l, Alive: true, Streaming: role != "leader"}
	}
	whole := func() drill.LeaderSample {
		return drill.LeaderSample{Leader: "a", Members: []drill.MemberSample{
			member("a", "leader", "running", 2, nil),
			member("b", "sync_standby", "streaming", 2, lag(0)),
			member("c", "replica", "running", 2, lag(100)),
		}}
	}
	names := []string{"a", "b", "c"}
	if ok, why := Healthy(whole(), names, 1024, true); !ok {
		t.Fatalf("whole cluster judged unhealthy: %s", why)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*drill.LeaderSample)
		want   string
	}{
		{"dcs down", func(s *drill.LeaderSample) { s.Err = "x" }, "DCS unreachable"},
		{"no leader", func(s *drill.LeaderSample) { s.Leader = "" }, "no leader"},
		{"member missing", func(s *drill.LeaderSample) { s.Members = s.Members[:2] }, "c: not a Patroni member yet"},
		{"old timeline", func(s *drill.LeaderSample) { s.Members[2].Timeline = 1 }, "c: replica is on timeline 1, the leader on 2"},
		{"lagging", func(s *drill.LeaderSample) { s.Members[2].Lag = lag(4096) }, "c: replica lags 4096 bytes"},
		{"unknown lag", func(s *drill.LeaderSample) { s.Members[1].Lag = nil }, "b: replica lags unknown"},
		{"stopped", func(s *drill.LeaderSample) { s.Members[1].State = "stopped" }, "b: replica is stopped, not streaming"},
		{"leader starting", func(s *drill.LeaderSample) { s.Members[0].State = "starting" }, "a: leader is starting"},
		{"leader dead, its key not yet expired", func(s *drill.LeaderSample) { s.Members[0].Alive = false }, "a: leader does not answer"},
		{"replica dead, its key not yet expired", func(s *drill.LeaderSample) { s.Members[2].Alive = false }, "c: replica does not answer"},
		{"no sync standby", func(s *drill.LeaderSample) { s.Members[1].Role = "replica" }, "no synchronous standby yet"},
		{"lock holder not Patroni's leader", func(s *drill.LeaderSample) { s.Leader = "b" }, "the lock holder b is not Patroni's leader yet"},
		{"replica not streaming", func(s *drill.LeaderSample) { s.Members[1].Streaming = false }, "b: replica is not in the leader's list of streaming replicas"},
	} {
		s := whole()
		tc.break_(&s)
		if ok, why := Healthy(s, names, 1024, true); ok || why != tc.want {
			t.Errorf("%s: Healthy = %v, %q; want false, %q", tc.name, ok, why, tc.want)
		}
	}
}
