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
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/drill"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startEtcd runs a real single-member etcd on loopback and returns its client URL.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd is not installed (make deps installs etcd-server)")
	}
	dir := t.TempDir()
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--name", "m", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "m="+peer, "--log-level", "error")
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(client + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return client
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("etcd did not become healthy: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func etcdPut(t *testing.T, base, key, value string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{
		"key":   base64.StdEncoding.EncodeToString([]byte(key)),
		"value": base64.StdEncoding.EncodeToString([]byte(value)),
	})
	resp, err := http.Post(base+"/v3/kv/put", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("etcd put: HTTP %d", resp.StatusCode)
	}
}

// The monitor reads Patroni's leader key from a real etcd, skips a member that does not
// answer, and reports an error (not "no leader") when none does.
func TestMonitorLeaderFromEtcd(t *testing.T) {
	etcd := startEtcd(t)
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	const key = "/service/main/leader"
	cfg := MonitorConfig{Etcd: []string{dead, etcd}, LeaderKey: key, Timeout: time.Second}
	m := &Monitor{cfg: cfg, client: &http.Client{Timeout: time.Second}}
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

	// The running monitor: WaitFor sees a change of holder.
	cfg.Interval = 20 * time.Millisecond
	mon := StartMonitor(ctx, cfg)
	since := time.Now()
	go func() {
		time.Sleep(100 * time.Millisecond)
		etcdPut(t, etcd, key, "node2")
	}()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
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
