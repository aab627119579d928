package patroni_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/patroni/patronitest"

	"github.com/pghac/pghac/internal/nettest"
)

// TestRealCluster drives a real two-member Patroni 3.0.2 cluster (etcd, Patroni, PostgreSQL
// 15 on loopback): it reads /cluster and /patroni, has Patroni refuse what it refuses, switches
// over to the replica and back, and rebuilds the replica.
func TestRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, two Patroni members and their PostgreSQL (about 30 s)")
	}
	start := time.Now()
	c := patronitest.Start(t, patronitest.Options{Members: 2})
	t.Logf("cluster ready in %v", time.Since(start).Round(time.Millisecond))
	// About a minute on an idle machine; the margin is for one busy with other packages' tests.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pc := c.Client()

	cl, err := pc.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader, replica := roles(t, cl)
	if leader.State != "running" || leader.Lag != nil || leader.Timeline < 1 || leader.Host != "127.0.0.1" || leader.Port == 0 {
		t.Errorf("leader %+v: want running, no lag, a timeline, host 127.0.0.1 and a port", leader)
	}
	if replica.Role != patroni.RoleReplica || replica.State != "running" || replica.Lag == nil || replica.Timeline != leader.Timeline {
		t.Errorf("replica %+v: want a running replica on timeline %d with a known lag", replica, leader.Timeline)
	}
	st, err := pc.Status(ctx, leader.Name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Role != "master" || !st.Streams(replica.Name) || st.PostmasterStart == "" {
		t.Errorf("leader's /patroni %+v: want role master, streaming to %s, a start time", st, replica.Name)
	}

	// The endpoints are asked in order: a dead first one does not matter.
	dead := patroni.Endpoint{Name: "dead", URL: "http://" + nettest.ClosedAddr(t)}
	detour := &patroni.Client{Endpoints: append([]patroni.Endpoint{dead}, c.Endpoints...)}
	if got, err := detour.Cluster(ctx); err != nil || len(got.Members) != 2 {
		t.Errorf("Cluster past a dead endpoint = %v, %v", got, err)
	}

	// What Patroni refuses comes back as an *HTTPError with its message.
	_, err = pc.Reinitialize(ctx, leader.Name, false)
	wantHTTPError(t, "Reinitialize(leader)", err, http.StatusServiceUnavailable, "I am the leader, can not reinitialize")
	_, err = pc.Switchover(ctx, leader.Name, "node7")
	wantHTTPError(t, "Switchover to node7", err, http.StatusPreconditionFailed, "candidate does not exists")
	_, err = pc.Switchover(ctx, replica.Name, leader.Name)
	wantHTTPError(t, "Switchover from the replica", err, http.StatusPreconditionFailed, "leader name does not match")
	wrong := &patroni.Client{Endpoints: c.Endpoints, Username: c.Username, Password: "wrong-password-0123"}
	_, err = wrong.Switchover(ctx, leader.Name, replica.Name)
	wantHTTPError(t, "Switchover with a wrong password", err, http.StatusUnauthorized, "")
	if err != nil && strings.Contains(err.Error(), "wrong-password-0123") {
		t.Errorf("the error shows the password: %v", err)
	}

	// Switch over to the replica: the roles swap, the timeline moves on.
	t0 := time.Now()
	msg, err := pc.Switchover(ctx, leader.Name, replica.Name)
	if err != nil {
		t.Fatalf("Switchover: %v", err)
	}
	if want := `Successfully switched over to "` + replica.Name + `"`; msg != want {
		t.Errorf("Switchover = %q, want %q", msg, want)
	}
	answered := time.Since(t0)
	cl, err = pc.WaitFor(ctx, 200*time.Millisecond, func(cl patroni.Cluster) bool {
		l, ok := cl.Leader()
		old, _ := cl.Member(leader.Name)
		return ok && l.Name == replica.Name && l.State == "running" && !old.IsLeader() && old.State == "running" && old.Timeline == l.Timeline
	})
	if err != nil {
		t.Fatalf("after the switchover: %v", err)
	}
	t.Logf("switchover: Patroni answered in %v, old leader running as a replica after %v",
		answered.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	if l, _ := cl.Leader(); l.Timeline <= leader.Timeline {
		t.Errorf("timeline %d after the switchover, want more than %d", l.Timeline, leader.Timeline)
	}
	if _, err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	// Rebuild the old leader, now a replica: PostgreSQL restarts, and it streams again.
	before, err := pc.Status(ctx, leader.Name)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	msg, err = pc.Reinitialize(ctx, leader.Name, false)
	if err != nil || msg != "reinitialize started" {
		t.Fatalf("Reinitialize = %q, %v; want reinitialize started", msg, err)
	}
	_, err = pc.Reinitialize(ctx, leader.Name, false)
	wantHTTPError(t, "a second Reinitialize", err, http.StatusServiceUnavailable, "reinitialize already in progress")
	sawUnknownLag := false
	_, err = pc.WaitFor(ctx, 200*time.Millisecond, func(cl patroni.Cluster) bool {
		if m, ok := cl.Member(leader.Name); ok && m.Lag == nil {
			sawUnknownLag = true
		}
		if !c.Ready(cl) {
			return false
		}
		after, err := pc.Status(ctx, leader.Name)
		return err == nil && after.PostmasterStart != "" && after.PostmasterStart != before.PostmasterStart
	})
	if err != nil {
		t.Fatalf("after Reinitialize: %v", err)
	}
	t.Logf("reinitialize: the replica was back in %v (saw lag unknown meanwhile: %v)", time.Since(t0).Round(time.Millisecond), sawUnknownLag)
	if _, err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	// Switch back, naming nobody: the leader comes from /cluster, Patroni picks the candidate.
	// The leader's endpoint cannot be connected to, so the request goes to the other member.
	urls := map[string]string{}
	for _, ep := range c.Endpoints {
		urls[ep.Name] = ep.URL
	}
	around := &patroni.Client{Username: c.Username, Password: c.Password, Endpoints: []patroni.Endpoint{
		{Name: replica.Name, URL: "http://" + nettest.ClosedAddr(t)}, {Name: leader.Name, URL: urls[leader.Name]},
	}}
	t0 = time.Now()
	msg, err = around.Switchover(ctx, "", "")
	if err != nil || msg != `Successfully switched over to "`+leader.Name+`"` {
		t.Fatalf("Switchover(\"\", \"\") = %q, %v", msg, err)
	}
	if cl, err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	} else if l, _ := cl.Leader(); l.Name != leader.Name {
		t.Errorf("leader %s after switching back, want %s", l.Name, leader.Name)
	}
	t.Logf("switchover back, to a ready cluster: %v", time.Since(t0).Round(time.Millisecond))

	checkDynamicConfig(ctx, t, c)
}

// checkDynamicConfig: PATCH /config reaches every member; a postmaster parameter waits for a
// restart, which Restart gives member by member.
func checkDynamicConfig(ctx context.Context, t *testing.T, c *patronitest.Cluster) {
	pc := c.Client()
	cfg, err := pc.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg["ttl"]; !ok {
		t.Errorf("GET /config lacks ttl: %v", cfg)
	}
	patch := map[string]any{"postgresql": map[string]any{"parameters": map[string]any{"work_mem": "7MB", "max_connections": 123}}}
	if err := (&patroni.Client{Endpoints: c.Endpoints}).PatchConfig(ctx, patch); err == nil {
		t.Error("PATCH /config without credentials succeeded")
	}
	if err := pc.PatchConfig(ctx, patch); err != nil {
		t.Fatal(err)
	}
	cfg, err = pc.Config(ctx)
	params, _ := cfg["postgresql"].(map[string]any)["parameters"].(map[string]any)
	if err != nil || params["work_mem"] != "7MB" {
		t.Fatalf("GET /config after the patch: %v, %v", params, err)
	}
	// max_connections takes effect on restart only: every member says so, then restarts.
	for _, ep := range c.Endpoints {
		var st patroni.Status
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if st, err = pc.Status(ctx, ep.Name); err == nil && st.PendingRestart {
				break
			}
		}
		if !st.PendingRestart {
			t.Fatalf("%s: no pending restart after max_connections changed: %+v, %v", ep.Name, st, err)
		}
		if _, err := pc.Restart(ctx, ep.Name); err != nil {
			t.Fatalf("Restart(%s): %v", ep.Name, err)
		}
		if st, err := pc.Status(ctx, ep.Name); err != nil || st.PendingRestart {
			t.Errorf("%s after Restart: %+v, %v", ep.Name, st, err)
		}
	}
	if _, err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// roles returns the leader and the other member of a two-member cluster.
func roles(t *testing.T, cl patroni.Cluster) (leader, replica patroni.Member) {
	t.Helper()
	leader, ok := cl.Leader()
	if !ok || len(cl.Members) != 2 {
		t.Fatalf("want a leader and a replica: %s", cl)
	}
	for _, m := range cl.Members {
		if m.Name != leader.Name {
			replica = m
		}
	}
	return leader, replica
}

func wantHTTPError(t *testing.T, what string, err error, status int, msg string) {
	t.Helper()
	var he *patroni.HTTPError
	if !errors.As(err, &he) {
		t.Errorf("%s: error %v, want an HTTP %d", what, err, status)
		return
	}
	if he.Status != status || !strings.Contains(he.Message, msg) {
		t.Errorf("%s: %v; want HTTP %d with %q", what, err, status, msg)
	}
}
