package health

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/internal/patroni"
)

func whole() []PatroniMember {
	lag := func(n int64) *int64 { return &n }
	return []PatroniMember{
		{Name: "a", Role: "leader", State: "running", Timeline: 2},
		{Name: "b", Role: "sync_standby", State: "streaming", Timeline: 2, Lag: lag(0), Streaming: true},
		{Name: "c", Role: "replica", State: "running", Timeline: 2, Lag: lag(100), Streaming: true},
	}
}

func TestJudge(t *testing.T) {
	rules := Rules{Nodes: []string{"a", "b", "c"}, MaxLag: 1024, Synchronous: true}
	if p := Judge(whole(), rules); p != nil {
		t.Fatalf("whole cluster judged unhealthy: %q", p)
	}
	for _, tc := range []struct {
		name   string
		break_ func([]PatroniMember) []PatroniMember
		want   []string
	}{
		{"member missing", func(m []PatroniMember) []PatroniMember { return m[:2] }, []string{"c: not a Patroni member yet"}},
		{"listed without a state", func(m []PatroniMember) []PatroniMember { m[2].State = ""; return m }, []string{"c: not a Patroni member yet"}},
		{"old timeline", func(m []PatroniMember) []PatroniMember { m[2].Timeline = 1; return m }, []string{"c: replica is on timeline 1, the leader on 2"}},
		{"lagging", func(m []PatroniMember) []PatroniMember { m[2].Lag = new(int64); *m[2].Lag = 4096; return m }, []string{"c: replica lags 4096 bytes"}},
		{"unknown lag", func(m []PatroniMember) []PatroniMember { m[1].Lag = nil; return m }, []string{"b: replica lags unknown"}},
		{"stopped", func(m []PatroniMember) []PatroniMember { m[1].State = "stopped"; return m }, []string{"b: replica is stopped, not streaming"}},
		{"running, not streaming", func(m []PatroniMember) []PatroniMember { m[2].Streaming = false; return m }, []string{"c: replica is running, not streaming"}},
		{"streaming state, not in the leader's list", func(m []PatroniMember) []PatroniMember { m[1].Streaming = false; return m },
			[]string{"b: replica is not in the leader's list of streaming replicas"}},
		{"leader starting", func(m []PatroniMember) []PatroniMember { m[0].State = "starting"; return m }, []string{"a: leader is starting"}},
		{"leader silent", func(m []PatroniMember) []PatroniMember { m[0].Silent = true; return m }, []string{"a: leader does not answer"}},
		{"replica silent", func(m []PatroniMember) []PatroniMember { m[2].Silent = true; return m }, []string{"c: replica does not answer"}},
		{"no sync standby", func(m []PatroniMember) []PatroniMember { m[1].Role = "replica"; return m }, []string{"no synchronous standby yet"}},
		{"two leaders", func(m []PatroniMember) []PatroniMember { m[2].Role = "leader"; return m }, []string{"2 leaders, want 1"}},
		{"no leader", func(m []PatroniMember) []PatroniMember {
			m[0].Role = "replica"
			m[0].Streaming = true
			m[0].Lag = new(int64)
			return m
		},
			[]string{"0 leaders, want 1"}},
		{"nobody answers", func([]PatroniMember) []PatroniMember { return nil },
			[]string{"a: not a Patroni member yet", "b: not a Patroni member yet", "c: not a Patroni member yet"}},
	} {
		if got := Judge(tc.break_(whole()), rules); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: Judge = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Without synchronous mode no standby needs to be synchronous.
	m := whole()
	m[1].Role = "replica"
	if p := Judge(m, Rules{MaxLag: 1024}); p != nil {
		t.Errorf("asynchronous: %q", p)
	}
}

// `up` waits for lag 0; `status` accepts a lag HAProxy's replica check accepts.
func TestJudgeLag(t *testing.T) {
	for _, tt := range []struct {
		maxLag  int64
		healthy bool
	}{{0, false}, {99, false}, {100, true}, {1 << 20, true}} {
		if got := Judge(whole(), Rules{MaxLag: tt.maxLag, Synchronous: true}) == nil; got != tt.healthy {
			t.Errorf("maxLag %d: healthy %v, want %v", tt.maxLag, got, tt.healthy)
		}
	}
}

func TestFollows(t *testing.T) {
	m := whole()
	if why := Follows(m, "c"); why != "" {
		t.Errorf("c: %q", why)
	}
	if why := Follows(m, "a"); why != "is the leader" {
		t.Errorf("a: %q", why)
	}
	if why := Follows(m, "x"); why != "not a Patroni member yet" {
		t.Errorf("x: %q", why)
	}
	m[2].Timeline, m[2].Lag = 1, nil // lag is not Follows' business, the timeline is
	if why := Follows(m, "c"); why != "replica is on timeline 1, the leader on 2" {
		t.Errorf("c on an old timeline: %q", why)
	}
}

func TestFromPatroni(t *testing.T) {
	lag := int64(5)
	cl := patroni.Cluster{Members: []patroni.Member{
		{Name: "a", Role: "leader", State: "running", Timeline: 4},
		{Name: "b", Role: "replica", State: "running", Timeline: 4, Lag: &lag},
		{Name: "c", Role: "replica", State: "running", Timeline: 4},
	}}
	st := patroni.Status{Replication: []patroni.Replication{{Name: "b", State: "streaming"}, {Name: "c", State: "catchup"}}}
	want := []PatroniMember{
		{Name: "a", Role: "leader", State: "running", Timeline: 4},
		{Name: "b", Role: "replica", State: "running", Timeline: 4, Lag: &lag, Streaming: true},
		{Name: "c", Role: "replica", State: "running", Timeline: 4},
	}
	if diff := cmp.Diff(want, FromPatroni(cl, st)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
