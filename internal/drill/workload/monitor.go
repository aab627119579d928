package workload

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pghac/pghac/internal/drill"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
)

// MonitorConfig says what the monitor watches.
type MonitorConfig struct {
	// Etcd are the client URLs of the etcd members ("http://10.213.0.11:2379").
	Etcd []string
	// LeaderKey is Patroni's leader key: namespace + scope + "/leader".
	LeaderKey string
	// Patroni are the members' REST APIs (GET /cluster needs no password).
	Patroni []patroni.Endpoint
	// Interval between samples (default 200 ms); Timeout bounds each request
	// (default 1 s). All members are asked at once and the first answer wins, so a
	// partitioned member does not slow the sampling down.
	Interval, Timeout time.Duration
}

// Monitor samples the leader lock and the members until stopped.
type Monitor struct {
	cfg    MonitorConfig
	client *http.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	samples []drill.LeaderSample
	changed chan struct{} // closed and replaced on every new sample
	status  map[string]memberStatus
}

// memberStatus is a member's latest answer to GET /patroni on its own endpoint.
type memberStatus struct {
	at     time.Time
	status patroni.Status
}

// StartMonitor starts sampling.
func StartMonitor(ctx context.Context, cfg MonitorConfig) *Monitor {
	if cfg.Interval == 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Monitor{
		cfg:     cfg,
		client:  &http.Client{Timeout: cfg.Timeout},
		cancel:  cancel,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		status:  map[string]memberStatus{},
	}
	for _, e := range cfg.Patroni {
		go m.probe(ctx, e)
	}
	go m.loop(ctx)
	return m
}

// probe asks one member for its own status every interval, apart from the samples so
// that a dead member's timeouts do not slow them down.
func (m *Monitor) probe(ctx context.Context, e patroni.Endpoint) {
	c := patroni.Client{Endpoints: []patroni.Endpoint{e}, HTTP: m.client}
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	for {
		if st, err := c.Status(ctx, e.Name); err == nil {
			m.mu.Lock()
			m.status[e.Name] = memberStatus{at: time.Now(), status: st}
			m.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// aliveWithin is how recent a member's own answer must be for it to count as alive.
func (m *Monitor) aliveWithin() time.Duration { return 2*m.cfg.Interval + m.cfg.Timeout }

func (m *Monitor) loop(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	for {
		s := m.Sample(ctx)
		if ctx.Err() != nil {
			return // a sample cut short by Stop says nothing
		}
		m.mu.Lock()
		m.samples = append(m.samples, s)
		close(m.changed)
		m.changed = make(chan struct{})
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Stop stops sampling and returns every sample, oldest first.
func (m *Monitor) Stop() []drill.LeaderSample {
	m.cancel()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.samples)
}

// Latest is the newest sample; false before the first.
func (m *Monitor) Latest() (drill.LeaderSample, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) == 0 {
		return drill.LeaderSample{}, false
	}
	return m.samples[len(m.samples)-1], true
}

// WaitFor waits for the first sample taken after since that satisfies cond.
func (m *Monitor) WaitFor(ctx context.Context, since time.Time, cond func(drill.LeaderSample) bool) (drill.LeaderSample, error) {
	seen := 0
	for {
		m.mu.Lock()
		fresh := m.samples[seen:]
		seen = len(m.samples)
		changed := m.changed
		m.mu.Unlock()
		for _, s := range fresh {
			if s.At.After(since) && cond(s) {
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			last, _ := m.Latest()
			return last, ctx.Err()
		case <-m.done:
			return drill.LeaderSample{}, errors.New("the monitor stopped")
		case <-changed:
		}
	}
}

// Sample takes one sample: the lock holder from etcd (a linearizable read, so a
// member cut off from the quorum cannot answer with a stale holder), then the members
// from Patroni. At is when etcd's answer arrived.
func (m *Monitor) Sample(ctx context.Context) drill.LeaderSample {
	leader, err := m.leader(ctx)
	s := drill.LeaderSample{At: time.Now(), Leader: leader}
	if err != nil {
		s.Err = err.Error()
		return s
	}
	if pc, err := m.cluster(ctx); err == nil {
		now := time.Now()
		m.mu.Lock()
		fresh := func(name string) (patroni.Status, bool) {
			st, ok := m.status[name]
			return st.status, ok && now.Sub(st.at) <= m.aliveWithin()
		}
		leaderStatus, leaderAlive := fresh(leader)
		for _, mb := range pc.Members {
			own, alive := fresh(mb.Name)
			ms := drill.MemberSample{Name: mb.Name, Role: mb.Role, State: mb.State, Timeline: mb.Timeline, Lag: mb.Lag,
				Alive: alive, Streaming: leaderAlive && mb.Name != leader && leaderStatus.Streams(mb.Name)}
			// The member's own answer is fresher than its DCS key, which it rewrites
			// once per loop_wait: a promotion shows there first.
			if alive && own.Timeline > 0 {
				ms.Timeline = own.Timeline
			}
			s.Members = append(s.Members, ms)
		}
		m.mu.Unlock()
		slices.SortFunc(s.Members, func(a, b drill.MemberSample) int { return strings.Compare(a.Name, b.Name) })
	}
	return s
}

// first runs ask against every target at once and returns the first success, or all
// the errors. The slower requests are left to finish (within the client's timeout):
// cancelling them makes Patroni log a traceback for every broken pipe.
func first[T any](ctx context.Context, targets []string, ask func(context.Context, string) (T, error)) (T, error) {
	type answer struct {
		v   T
		err error
	}
	ch := make(chan answer, len(targets))
	for _, t := range targets {
		go func() {
			v, err := ask(ctx, t)
			if err != nil {
				err = fmt.Errorf("%s: %w", t, err)
			}
			ch <- answer{v, err}
		}()
	}
	var errs []error
	for range targets {
		a := <-ch
		if a.err == nil {
			return a.v, nil
		}
		errs = append(errs, a.err)
	}
	var zero T
	return zero, errors.Join(errs...)
}

func (m *Monitor) leader(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(m.cfg.LeaderKey))})
	return first(ctx, m.cfg.Etcd, func(ctx context.Context, base string) (string, error) {
		return etcdGet(ctx, m.client, base, body)
	})
}

// etcdGet reads one key through etcd's JSON gateway (/v3/kv/range); "" when absent.
func etcdGet(ctx context.Context, client *http.Client, base string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v3/kv/range", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var r struct {
		Kvs []struct {
			Value []byte `json:"value"` // base64 in JSON, decoded by encoding/json
		} `json:"kvs"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", fmt.Errorf("etcd range: %w", err)
	}
	if len(r.Kvs) == 0 {
		return "", nil
	}
	return string(r.Kvs[0].Value), nil
}

func (m *Monitor) cluster(ctx context.Context) (patroni.Cluster, error) {
	urls := make([]string, len(m.cfg.Patroni))
	byURL := map[string]patroni.Endpoint{}
	for i, e := range m.cfg.Patroni {
		urls[i] = e.URL
		byURL[e.URL] = e
	}
	return first(ctx, urls, func(ctx context.Context, u string) (patroni.Cluster, error) {
		c := patroni.Client{Endpoints: []patroni.Endpoint{byURL[u]}, HTTP: m.client}
		return c.Cluster(ctx)
	})
}

// Healthy says whether s shows the cluster whole again, as internal/health judges it: a
// lock holder that Patroni lists as the leader, and health.Judge finds nothing wrong with the
// members (each of names a replica that answers, streams from the leader on its timeline
// within maxLag; with sync one of them the synchronous standby). Otherwise it says the first
// thing that is not so.
func Healthy(s drill.LeaderSample, names []string, maxLag int64, sync bool) (bool, string) {
	if s.Err != "" {
		return false, "DCS unreachable"
	}
	if s.Leader == "" {
		return false, "no leader"
	}
	members := make([]health.PatroniMember, len(s.Members))
	for i, m := range s.Members {
		members[i] = health.PatroniMember{Name: m.Name, Role: m.Role, State: m.State, Timeline: m.Timeline, Lag: m.Lag,
			Streaming: m.Streaming, Silent: !m.Alive}
	}
	if !slices.ContainsFunc(members, func(m health.PatroniMember) bool { return m.Name == s.Leader && m.Role == patroni.RoleLeader }) {
		return false, fmt.Sprintf("the lock holder %s is not Patroni's leader yet", s.Leader)
	}
	if problems := health.Judge(members, health.Rules{Nodes: names, MaxLag: maxLag, Synchronous: sync}); len(problems) > 0 {
		return false, problems[0]
	}
	return true, ""
}
