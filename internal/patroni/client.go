package patroni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Endpoint is one member's REST API.
type Endpoint struct {
	Name string // the member's name, as Patroni's name setting and /cluster have it
	URL  string // the API's base URL, like "http://10.213.0.11:8008"
}

// Client asks a cluster's members. The zero value has no endpoints and fails every call.
type Client struct {
	Endpoints []Endpoint
	// Username and Password are the REST API's basic-auth credentials, sent with the POST
	// endpoints only. They never appear in an error.
	Username, Password string
	// HTTP sends the requests; nil means a client with a 2 s timeout. Switchover raises a
	// shorter timeout to SwitchoverTimeout, since Patroni answers it only once it is over.
	HTTP *http.Client
}

// SwitchoverTimeout is the least time Switchover gives Patroni to answer. Patroni 3.0.2 polls
// for the new leader once a second, 2*max(10, loop_wait) times, before it answers.
const SwitchoverTimeout = 60 * time.Second

// defaultHTTP is the client of a Client whose HTTP is nil.
var defaultHTTP = &http.Client{Timeout: 2 * time.Second}

// maxBody is the most of an answer that is read.
const maxBody = 1 << 20

// Roles as /cluster names them.
const (
	RoleLeader        = "leader"
	RoleStandbyLeader = "standby_leader"
	RoleSyncStandby   = "sync_standby"
	RoleReplica       = "replica"
)

// Member is one member as GET /cluster lists it.
type Member struct {
	Name string
	// Role is leader, sync_standby, replica or standby_leader.
	Role string
	// State is PostgreSQL's as Patroni sees it: running, streaming (Patroni 3.0.4 and later),
	// stopped, starting, stopping, creating replica, restarting, ...
	State    string
	Host     string // PostgreSQL's address, from the member's connect_address
	Port     int
	Timeline int // 0 when the member did not report one
	// Lag is a replica's replication lag in bytes behind the leader's last reported position;
	// nil for the leader, and when Patroni does not know it ("unknown").
	Lag *int64
}

// IsLeader reports whether m holds the leader lock (leader or standby_leader).
func (m Member) IsLeader() bool { return m.Role == RoleLeader || m.Role == RoleStandbyLeader }

// String describes m in one line, like "node1 replica running TL3 lag 0".
func (m Member) String() string {
	var b strings.Builder
	b.WriteString(m.Name + " " + m.Role)
	state := m.State
	if state == "" {
		state = "(no state)"
	}
	b.WriteString(" " + state)
	if m.Timeline > 0 {
		b.WriteString(" TL" + strconv.Itoa(m.Timeline))
	}
	if !m.IsLeader() {
		if m.Lag == nil {
			b.WriteString(" lag unknown")
		} else {
			b.WriteString(" lag " + strconv.FormatInt(*m.Lag, 10))
		}
	}
	return b.String()
}

// Cluster is the cluster as GET /cluster lists it, members sorted by name.
type Cluster struct {
	Members []Member
}

// Leader returns the member with role leader (or standby_leader), false when there is none.
func (c Cluster) Leader() (Member, bool) {
	for _, m := range c.Members {
		if m.IsLeader() {
			return m, true
		}
	}
	return Member{}, false
}

// Member returns the member called name, false when /cluster does not list it.
func (c Cluster) Member(name string) (Member, bool) {
	for _, m := range c.Members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// String describes every member, like "node0 leader running TL3, node1 replica running TL3
// lag 0"; "no members" when there are none.
func (c Cluster) String() string {
	if len(c.Members) == 0 {
		return "no members"
	}
	parts := make([]string, len(c.Members))
	for i, m := range c.Members {
		parts[i] = m.String()
	}
	return strings.Join(parts, ", ")
}

// wireCluster is Patroni's GET /cluster answer, the fields this package reads.
type wireCluster struct {
	Members []struct {
		Name     string          `json:"name"`
		Role     string          `json:"role"`
		State    string          `json:"state"`
		Host     string          `json:"host"`
		Port     int             `json:"port"`
		Timeline int             `json:"timeline"`
		Lag      json.RawMessage `json:"lag"` // bytes, or "unknown"; absent for the leader
	} `json:"members"`
}

// decodeCluster decodes a GET /cluster answer. A lag that is not a number (Patroni writes
// "unknown" for a member that never reported its WAL position) is nil.
func decodeCluster(b []byte) (Cluster, error) {
	var w wireCluster
	if err := json.Unmarshal(b, &w); err != nil {
		return Cluster{}, fmt.Errorf("not Patroni's /cluster JSON: %w", err)
	}
	if w.Members == nil {
		return Cluster{}, errors.New(`not Patroni's /cluster JSON: no "members"`)
	}
	cl := Cluster{Members: make([]Member, len(w.Members))}
	for i, m := range w.Members {
		cl.Members[i] = Member{Name: m.Name, Role: m.Role, State: m.State, Host: m.Host, Port: m.Port, Timeline: m.Timeline}
		var lag *int64 // stays nil for null
		if len(m.Lag) > 0 && json.Unmarshal(m.Lag, &lag) == nil {
			cl.Members[i].Lag = lag
		}
	}
	return cl, nil
}

// Status is one member's own view of itself, as GET /patroni on its endpoint gives it.
type Status struct {
	// State is PostgreSQL's: running, starting, stopped, creating replica, ...
	State string
	// Role is PostgreSQL's, in Patroni 3.0.2's words: "master" or "replica" (or the member's
	// Patroni role when PostgreSQL does not answer).
	Role     string
	Timeline int
	// PostmasterStart is PostgreSQL's start time as Patroni prints it; it changes whenever
	// PostgreSQL restarts, and is "" when PostgreSQL does not answer.
	PostmasterStart string
	// Replication lists the WAL senders (pg_stat_replication): on a leader, its replicas.
	Replication []Replication
	// PendingRestart is set while PostgreSQL runs with a setting that changed and takes
	// effect only on restart.
	PendingRestart bool
}

// Replication is one WAL sender of a member.
type Replication struct {
	Name      string // the replica's application_name: its member name
	State     string // streaming, catchup, startup, backup, stopping
	SyncState string // async, potential, sync, quorum
}

// Streams reports whether s lists a WAL sender to member name in state streaming.
func (s Status) Streams(name string) bool {
	for _, r := range s.Replication {
		if r.Name == name && r.State == "streaming" {
			return true
		}
	}
	return false
}

type wireStatus struct {
	State           string `json:"state"`
	Role            string `json:"role"`
	Timeline        int    `json:"timeline"`
	PostmasterStart string `json:"postmaster_start_time"`
	PendingRestart  bool   `json:"pending_restart"`
	Replication     []struct {
		Name      string `json:"application_name"`
		State     string `json:"state"`
		SyncState string `json:"sync_state"`
	} `json:"replication"`
}

func decodeStatus(b []byte) (Status, error) {
	var w wireStatus
	if err := json.Unmarshal(b, &w); err != nil {
		return Status{}, fmt.Errorf("not Patroni's /patroni JSON: %w", err)
	}
	if w.State == "" {
		return Status{}, errors.New(`not Patroni's /patroni JSON: no "state"`)
	}
	s := Status{State: w.State, Role: w.Role, Timeline: w.Timeline, PostmasterStart: w.PostmasterStart, PendingRestart: w.PendingRestart}
	for _, r := range w.Replication {
		s.Replication = append(s.Replication, Replication(r))
	}
	return s, nil
}

// HTTPError is an answer of Patroni with a status code the call did not expect.
type HTTPError struct {
	Member  string // the endpoint's name
	Method  string
	Path    string
	Status  int    // the HTTP status code
	Message string // Patroni's answer, trimmed and cut to 300 bytes
}

func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s: %s %s: HTTP %d: %s", e.Member, e.Method, e.Path, e.Status, msg)
}

// endpointError is a request that got no answer.
type endpointError struct {
	ep           Endpoint
	method, path string
	err          error
}

func (e *endpointError) Error() string {
	return fmt.Sprintf("%s (%s): %s %s: %v", e.ep.Name, e.ep.URL, e.method, e.path, e.err)
}

func (e *endpointError) Unwrap() error { return e.err }

// notSent reports whether err is a request that never reached the member (it could not
// connect), so that sending it to another member cannot do the thing twice.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// joined is errors.Join on one line.
type joined []error

func (j joined) Error() string {
	s := make([]string, len(j))
	for i, e := range j {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (j joined) Unwrap() []error { return j }

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// do sends one request to ep and returns the status code and the body.
func (c *Client) do(ctx context.Context, hc *http.Client, ep Endpoint, method, path string, body any) (int, []byte, error) {
	fail := func(err error) (int, []byte, error) {
		return 0, nil, &endpointError{ep: ep, method: method, path: path, err: err}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fail(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(ep.URL, "/")+path, rd)
	if err != nil {
		return fail(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(c.Username, c.Password)
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL is in the endpoint error already; url.Error would repeat it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fail(err)
	}
	return resp.StatusCode, b, nil
}

func httpError(ep Endpoint, method, path string, status int, body []byte) *HTTPError {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return &HTTPError{Member: ep.Name, Method: method, Path: path, Status: status, Message: msg}
}

// endpoint returns the endpoint of member name.
func (c *Client) endpoint(name string) (Endpoint, error) {
	names := make([]string, len(c.Endpoints))
	for i, ep := range c.Endpoints {
		if ep.Name == name {
			return ep, nil
		}
		names[i] = ep.Name
	}
	return Endpoint{}, fmt.Errorf("no member %q: the members are %s", name, strings.Join(names, ", "))
}

// Cluster asks the endpoints in order and returns the first answer of GET /cluster. When none
// answers, the error joins every endpoint's error.
func (c *Client) Cluster(ctx context.Context) (Cluster, error) {
	var cl Cluster
	err := c.getFirst(ctx, "/cluster", func(b []byte) (err error) {
		cl, err = decodeCluster(b)
		return err
	})
	return cl, err
}

// getFirst sends GET path to the endpoints in order until one answers 200 with a body that
// decode accepts. When none does, the error joins every endpoint's error.
func (c *Client) getFirst(ctx context.Context, path string, decode func([]byte) error) error {
	if len(c.Endpoints) == 0 {
		return errors.New("patroni: the client has no endpoints")
	}
	var errs joined
	for _, ep := range c.Endpoints {
		status, b, err := c.do(ctx, c.httpClient(), ep, http.MethodGet, path, nil)
		switch {
		case err != nil:
		case status != http.StatusOK:
			err = httpError(ep, http.MethodGet, path, status, b)
		default:
			if err = decode(b); err == nil {
				return nil
			}
			err = &endpointError{ep: ep, method: http.MethodGet, path: path, err: err}
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("no Patroni member answered GET %s: %w", path, errs)
}

// Status asks member for its own view (GET /patroni on its endpoint).
func (c *Client) Status(ctx context.Context, member string) (Status, error) {
	ep, err := c.endpoint(member)
	if err != nil {
		return Status{}, err
	}
	status, b, err := c.do(ctx, c.httpClient(), ep, http.MethodGet, "/patroni", nil)
	if err != nil {
		return Status{}, err
	}
	// 503 is Patroni's answer when its watchdog is unhealthy; the body is the same status.
	if status != http.StatusOK && status != http.StatusServiceUnavailable {
		return Status{}, httpError(ep, http.MethodGet, "/patroni", status, b)
	}
	s, err := decodeStatus(b)
	if err != nil {
		return Status{}, &endpointError{ep: ep, method: http.MethodGet, path: "/patroni", err: err}
	}
	return s, nil
}

// Switchover asks Patroni for a switchover from leader to candidate, and returns Patroni's
// message once a new leader holds the lock: `Successfully switched over to "node1"`, or
// `Switched over to "node2" instead of "node1"` when Patroni picked another member. A leader
// of "" is the current one from /cluster. A candidate of "" lets Patroni pick a healthy
// member (the synchronous standby in synchronous mode); Patroni 3.0.2 takes that everywhere
// except in a paused cluster, where it answers 400 and wants a candidate.
//
// The request goes to the leader's endpoint, and to the others in order only while a member
// cannot be connected to: a request that reached a member and got no answer is not sent
// again, since the switchover may be under way. Any answer but 200 is an *HTTPError with
// Patroni's message: 412 when no candidate qualifies (or the leader is not the leader), 503
// when the switchover failed or Patroni lost track of it, 400 for a request it refuses, 401
// for wrong credentials.
func (c *Client) Switchover(ctx context.Context, leader, candidate string) (string, error) {
	if leader == "" {
		cl, err := c.Cluster(ctx)
		if err != nil {
			return "", err
		}
		l, ok := cl.Leader()
		if !ok {
			return "", fmt.Errorf("switchover: the cluster has no leader (%s)", cl)
		}
		leader = l.Name
	}
	body := map[string]string{"leader": leader}
	if candidate != "" {
		body["candidate"] = candidate
	}
	hc := c.httpClient()
	if hc.Timeout > 0 && hc.Timeout < SwitchoverTimeout {
		long := *hc
		long.Timeout = SwitchoverTimeout
		hc = &long
	}
	// The leader's own API first: it is the member that acts.
	order := make([]Endpoint, 0, len(c.Endpoints))
	for _, ep := range c.Endpoints {
		if ep.Name == leader {
			order = append(order, ep)
		}
	}
	for _, ep := range c.Endpoints {
		if ep.Name != leader {
			order = append(order, ep)
		}
	}
	if len(order) == 0 {
		return "", errors.New("patroni: the client has no endpoints")
	}
	var errs joined
	for _, ep := range order {
		status, b, err := c.do(ctx, hc, ep, http.MethodPost, "/switchover", body)
		if err != nil {
			errs = append(errs, err)
			if notSent(err) && ctx.Err() == nil {
				continue
			}
			// It reached a member, or ctx ended: Patroni may be switching over all the same.
			return "", fmt.Errorf("switchover: %w (it may go on all the same: see /cluster)", errs)
		}
		if status != http.StatusOK {
			return "", httpError(ep, http.MethodPost, "/switchover", status, b)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", fmt.Errorf("switchover: no member could be reached: %w", errs)
}

// Reinitialize asks member to rebuild its data directory from the leader (POST
// /reinitialize on its own endpoint). Patroni answers at once, "reinitialize started", and
// rebuilds in the background; force cancels an action the member is busy with (a restart, a
// previous rebuild) instead of refusing. Patroni refuses with 503 and a message, returned as
// an *HTTPError, for the leader ("I am the leader, can not reinitialize"), in a cluster
// without a leader, and while the member is busy and force is false.
func (c *Client) Reinitialize(ctx context.Context, member string, force bool) (string, error) {
	ep, err := c.endpoint(member)
	if err != nil {
		return "", err
	}
	status, b, err := c.do(ctx, c.httpClient(), ep, http.MethodPost, "/reinitialize", map[string]bool{"force": force})
	if err != nil {
		return "", fmt.Errorf("reinitialize: %w", err)
	}
	if status != http.StatusOK {
		return "", httpError(ep, http.MethodPost, "/reinitialize", status, b)
	}
	return strings.TrimSpace(string(b)), nil
}

// WaitFor polls Cluster every interval (1 s when not positive) until cond returns true, and
// returns that Cluster. cond sees only successful answers. When ctx ends first, it returns
// the last Cluster seen and an error that wraps ctx's error and says what it saw last: the
// members' states, or why no member answered.
func (c *Client) WaitFor(ctx context.Context, interval time.Duration, cond func(Cluster) bool) (Cluster, error) {
	if interval <= 0 {
		interval = time.Second
	}
	var (
		last    Cluster
		seen    bool
		lastErr error
	)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			switch {
			case lastErr != nil:
				return last, fmt.Errorf("%w; last poll: %w", ctx.Err(), lastErr)
			case seen:
				return last, fmt.Errorf("%w; last seen: %s", ctx.Err(), last)
			}
			return last, ctx.Err()
		case <-t.C:
		}
		cl, err := c.Cluster(ctx)
		switch {
		case err == nil:
			last, seen, lastErr = cl, true, nil
			if cond(cl) {
				return cl, nil
			}
		case ctx.Err() == nil:
			// An error caused by ctx's end says nothing about the cluster.
			lastErr = err
		}
		t.Reset(interval)
	}
}
