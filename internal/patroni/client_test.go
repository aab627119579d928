package patroni

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/internal/nettest"
)

func ptr(n int64) *int64 { return &n }

// The testdata are Patroni 3.0.2's own answers, taken from patronitest's cluster: /cluster
// while node0 was being rebuilt, and /patroni of a leader and of its replica.
func TestDecodeCluster(t *testing.T) {
	b, err := os.ReadFile("testdata/cluster-reinit.json")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := decodeCluster(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Cluster{Members: []Member{
		{Name: "node0", Role: "replica", State: "creating replica", Host: "127.0.0.1", Port: 42861},
		{Name: "node1", Role: "leader", State: "running", Host: "127.0.0.1", Port: 42603, Timeline: 1},
	}}
	if diff := cmp.Diff(want, cl); diff != "" {
		t.Errorf("decodeCluster (-want +got):\n%s", diff)
	}
	if got, want := cl.String(), "node0 replica creating replica lag unknown, node1 leader running TL1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	tests := []struct {
		name string
		json string
		lag  *int64
	}{
		{"bytes", `{"members": [{"name": "n", "role": "replica", "state": "running", "lag": 1048576}]}`, ptr(1048576)},
		{"zero", `{"members": [{"name": "n", "role": "replica", "state": "running", "lag": 0}]}`, ptr(0)},
		{"unknown", `{"members": [{"name": "n", "role": "replica", "state": "stopped", "lag": "unknown"}]}`, nil},
		{"absent", `{"members": [{"name": "n", "role": "leader", "state": "running"}]}`, nil},
		{"null", `{"members": [{"name": "n", "role": "replica", "state": "running", "lag": null}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := decodeCluster([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.lag, cl.Members[0].Lag); diff != "" {
				t.Errorf("lag (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"members": "x"}`, `{"scope": "main"}`, `<html>`} {
		if _, err := decodeCluster([]byte(bad)); err == nil || !strings.Contains(err.Error(), "not Patroni's /cluster JSON") {
			t.Errorf("decodeCluster(%q) = %v, want not Patroni's /cluster JSON", bad, err)
		}
	}
}

func TestClusterLookups(t *testing.T) {
	cl := Cluster{Members: []Member{
		{Name: "node0", Role: RoleReplica, State: "running", Timeline: 4, Lag: ptr(0)},
		{Name: "node1", Role: RoleSyncStandby, State: "streaming", Timeline: 4, Lag: ptr(512)},
		{Name: "node2", Role: RoleLeader, State: "running", Timeline: 4},
	}}
	if l, ok := cl.Leader(); !ok || l.Name != "node2" {
		t.Errorf("Leader() = %v, %v; want node2", l, ok)
	}
	if m, ok := cl.Member("node1"); !ok || m.Role != RoleSyncStandby {
		t.Errorf("Member(node1) = %v, %v", m, ok)
	}
	if _, ok := cl.Member("node7"); ok {
		t.Error("Member(node7) found")
	}
	if got, want := cl.String(), "node0 replica running TL4 lag 0, node1 sync_standby streaming TL4 lag 512, node2 leader running TL4"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	standby := Cluster{Members: []Member{{Name: "a", Role: RoleStandbyLeader, State: "running"}}}
	if l, ok := standby.Leader(); !ok || l.Name != "a" {
		t.Errorf("a standby cluster's Leader() = %v, %v", l, ok)
	}
	if _, ok := (Cluster{Members: cl.Members[:2]}).Leader(); ok {
		t.Error("Leader() of a cluster without one found one")
	}
	if s := (Cluster{}).String(); s != "no members" {
		t.Errorf("empty String() = %q", s)
	}
}

func TestDecodeStatus(t *testing.T) {
	b, err := os.ReadFile("testdata/patroni-leader.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Status{State: "running", Role: "master", Timeline: 1, PostmasterStart: "2026-11-26 01:35:26.740515+00:00",
		Replication: []Replication{{Name: "node0", State: "streaming", SyncState: "async"}}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("decodeStatus (-want +got):\n%s", diff)
	}
	if !st.Streams("node0") || st.Streams("node1") {
		t.Errorf("Streams: node0 %v (want true), node1 %v (want false)", st.Streams("node0"), st.Streams("node1"))
	}
	b, err = os.ReadFile("testdata/patroni-replica.json")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := decodeStatus(b); err != nil || st.Role != "replica" || st.Replication != nil || st.Streams("node1") {
		t.Errorf("replica's /patroni = %+v, %v", st, err)
	}
	if _, err := decodeStatus([]byte(`{"members": []}`)); err == nil {
		t.Error("decodeStatus of /cluster's JSON: no error")
	}
}

func TestNobodyAnswers(t *testing.T) {
	c := &Client{
		Endpoints: []Endpoint{{Name: "node0", URL: "http://" + nettest.ClosedAddr(t)}, {Name: "node1", URL: "http://" + nettest.ClosedAddr(t) + "/"}},
		Username:  "patroni",
		Password:  "SecretRestPassword0",
	}
	ctx := context.Background()
	var errs []error
	_, err := c.Cluster(ctx)
	errs = append(errs, err)
	if err == nil {
		t.Fatal("Cluster of nothing: no error")
	}
	for _, want := range []string{"no Patroni member answered GET /cluster", "node0 (http://127.0.0.1:", "node1 (", "connection refused", "; "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Cluster error lacks %q: %v", want, err)
		}
	}
	var je joined
	if !errors.As(err, &je) || len(je) != 2 {
		t.Errorf("Cluster error does not join both endpoints' errors: %#v", err)
	}

	// Nobody could be connected to: the switchover was tried on every member.
	_, err = c.Switchover(ctx, "node1", "node0")
	errs = append(errs, err)
	if err == nil || !strings.Contains(err.Error(), "no member could be reached") || !strings.Contains(err.Error(), "node0 (") {
		t.Errorf("Switchover to nobody: %v", err)
	}
	_, err = c.Reinitialize(ctx, "node0", true)
	errs = append(errs, err)
	if err == nil || !strings.Contains(err.Error(), "POST /reinitialize") {
		t.Errorf("Reinitialize of nobody: %v", err)
	}
	_, err = c.Reinitialize(ctx, "node7", false)
	if err == nil || err.Error() != `no member "node7": the members are node0, node1` {
		t.Errorf("Reinitialize(node7): %v", err)
	}
	if _, err := c.Status(ctx, "node0"); err == nil {
		t.Error("Status of nobody: no error")
	}
	for _, e := range errs {
		if e != nil && strings.Contains(e.Error(), c.Password) {
			t.Errorf("error shows the password: %v", e)
		}
	}
	if _, err := (&Client{}).Cluster(ctx); err == nil {
		t.Error("Cluster without endpoints: no error")
	}

	// WaitFor gives up with ctx and says why. Its first poll must have ended by then, however
	// slowly this busy machine runs it: 2 s, though a refused poll takes a millisecond.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = c.WaitFor(wctx, 50*time.Millisecond, func(Cluster) bool { return true })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last poll: no Patroni member answered") {
		t.Errorf("WaitFor on nothing: %v", err)
	}
}

func TestHTTPError(t *testing.T) {
	e := &HTTPError{Member: "node0", Method: "POST", Path: "/switchover", Status: 412, Message: "candidate does not exists"}
	if got, want := e.Error(), "node0: POST /switchover: HTTP 412: candidate does not exists"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = httpError(Endpoint{Name: "node1"}, "GET", "/cluster", 502, []byte("  \n"))
	if got, want := e.Error(), "node1: GET /cluster: HTTP 502: Bad Gateway"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e := httpError(Endpoint{}, "GET", "/", 500, []byte(strings.Repeat("x", 1000))); len(e.Message) != 303 {
		t.Errorf("a long message is kept at %d bytes, want 300 and ...", len(e.Message))
	}
}

// TestSwitchoverNotResent: a request that reached a member is not sent to another, even
// without an answer; one that could not connect is.
func TestSwitchoverNotResent(t *testing.T) {
	hangUp, err := net.Listen("tcp", "127.0.0.1:0") // takes the request, closes without an answer
	if err != nil {
		t.Fatal(err)
	}
	defer hangUp.Close()
	go func() {
		for {
			conn, err := hangUp.Accept()
			if err != nil {
				return
			}
			conn.Read(make([]byte, 4096))
			conn.Close()
		}
	}()
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reached := make(chan struct{}, 8)
	go func() {
		for {
			conn, err := other.Accept()
			if err != nil {
				return
			}
			reached <- struct{}{}
			conn.Close()
		}
	}()
	c := &Client{Endpoints: []Endpoint{
		{Name: "node1", URL: "http://" + other.Addr().String()},
		{Name: "node0", URL: "http://" + hangUp.Addr().String()},
	}}
	_, err = c.Switchover(context.Background(), "node0", "")
	if err == nil || !strings.Contains(err.Error(), "node0 (") || !strings.Contains(err.Error(), "it may go on all the same") {
		t.Errorf("Switchover to a member that hangs up: %v", err)
	}
	select {
	case <-reached:
		t.Error("the request was sent again to node1")
	case <-time.After(100 * time.Millisecond):
	}

	// node0 cannot be connected to: node1 gets the request (and hangs up too).
	c.Endpoints[1].URL = "http://" + nettest.ClosedAddr(t)
	c.Endpoints[0].URL = "http://" + hangUp.Addr().String()
	_, err = c.Switchover(context.Background(), "node0", "")
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "node1 (") {
		t.Errorf("Switchover past a refusing leader: %v", err)
	}
}
