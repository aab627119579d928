package rollout

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/patroni/patronitest"
)

// TestSwitchoverAndReinit runs the operations against a real two-member Patroni cluster on
// loopback (patronitest): the refusals, a switchover to the replica, a rebuild of the old
// leader, and a switchover back to Patroni's pick.
func TestSwitchoverAndReinit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, two Patroni members and their PostgreSQL (about 30 s)")
	}
	pcl := patronitest.Start(t, patronitest.Options{Members: 2})
	pc := pcl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := pc.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader, _ := cl.Leader()
	replica := others(cl, leader.Name)[0]
	const timeout = time.Minute

	var steps recorder
	wantErr := func(what string, err error, want string, exact bool) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), want) || exact && err.Error() != want {
			t.Errorf("%s: %v; want an error %q", what, err, want)
		}
	}
	_, err = Switchover(ctx, pc, leader.Name, timeout, steps.add)
	wantErr("switchover to the leader", err, leader.Name+" is the leader already; switch over to another member: "+replica, true)
	_, err = Switchover(ctx, pc, "node7", timeout, steps.add)
	wantErr("switchover to a stranger", err, "node7 is not a Patroni member now (the members: ", false)
	_, err = Reinit(ctx, pc, leader.Name, false, timeout, steps.add)
	wantErr("reinit of the leader", err, leader.Name+" is the leader: switch over first (pghac switchover --to "+replica+")", true)
	_, err = Reinit(ctx, pc, "node7", false, timeout, steps.add)
	wantErr("reinit of a stranger", err, "node7 is not a Patroni member now (the members: ", false)
	steps.check(t, "refusals", 0)

	sw, err := Switchover(ctx, pc, replica, timeout, steps.add)
	if err != nil || sw.From != leader.Name || sw.To != replica || sw.Took <= 0 {
		t.Fatalf("switchover: %+v, %v; want from %s to %s", sw, err, leader.Name, replica)
	}
	steps.check(t, "switchover", sw.Took)
	if cl, err := pc.Cluster(ctx); err != nil || leaderName(cl) != replica {
		t.Fatalf("after the switchover: %s, %v; want %s leading", cl, err, replica)
	}

	ri, err := Reinit(ctx, pc, leader.Name, false, timeout, steps.add)
	if err != nil || ri.Node != leader.Name || ri.Leader != replica || ri.Took <= 0 {
		t.Fatalf("reinit: %+v, %v; want %s from %s", ri, err, leader.Name, replica)
	}
	steps.check(t, "reinit", ri.Took)
	if _, err := pcl.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	// No Progress: the operations report nothing and still wait.
	sw, err = Switchover(ctx, pc, "", timeout, nil)
	if err != nil || sw.From != replica || sw.To != leader.Name {
		t.Fatalf("switchover back: %+v, %v; want from %s to %s", sw, err, replica, leader.Name)
	}

	checkApplyDCS(ctx, t, pc)
}

// recorder keeps the Steps an operation reports.
type recorder struct {
	mu    sync.Mutex
	steps []Step
}

func (r *recorder) add(s Step) {
	r.mu.Lock()
	r.steps = append(r.steps, s)
	r.mu.Unlock()
}

// check checks, and forgets, the Steps of an operation that took took: each says what it
// waits for and how the cluster looks, none comes before progressAfter, and a wait long
// enough for a tick after progressAfter has one.
func (r *recorder) check(t *testing.T, what string, took time.Duration) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.steps {
		t.Logf("%s: %+v", what, s)
		if !strings.HasPrefix(s.Phase, "waiting for ") || s.State == "" || s.Elapsed < progressAfter || s.Elapsed > took {
			t.Errorf("%s: step %+v", what, s)
		}
	}
	if took > progressAfter+progressEvery+time.Second && len(r.steps) == 0 {
		t.Errorf("%s took %v and reported nothing", what, took)
	}
	r.steps = nil
}

func leaderName(cl patroni.Cluster) string {
	l, _ := cl.Leader()
	return l.Name
}

// TestUnreachable: when no member answers, both operations stop before they ask for
// anything, with an *UnreachableError that holds the client's error.
func TestUnreachable(t *testing.T) {
	pc := &patroni.Client{}
	_, err1 := Switchover(context.Background(), pc, "node1", time.Second, nil)
	_, err2 := Reinit(context.Background(), pc, "node1", false, time.Second, nil)
	for _, err := range []error{err1, err2} {
		ue, ok := errors.AsType[*UnreachableError](err)
		if !ok || ue.Err == nil || !strings.HasPrefix(err.Error(), "Patroni does not answer: ") {
			t.Errorf("%v: want an *UnreachableError", err)
		}
	}
}

// TestRefusedBusy: Patroni's refusal of a busy member is ErrBusy and reads as Patroni's
// answer; other refusals are passed on as they are.
func TestRefusedBusy(t *testing.T) {
	busy := &patroni.HTTPError{Member: "node1", Method: "POST", Path: "/reinitialize", Status: 503, Message: "reinitialize already in progress"}
	err := refused(busy)
	if !errors.Is(err, ErrBusy) || err.Error() != busy.Error() {
		t.Errorf("refused(%v) = %v; want ErrBusy with Patroni's message", busy, err)
	}
	if he, ok := errors.AsType[*patroni.HTTPError](err); !ok || he != busy {
		t.Errorf("refused(%v) hides the *HTTPError", busy)
	}
	leader := &patroni.HTTPError{Member: "node0", Method: "POST", Path: "/reinitialize", Status: 503, Message: "I am the leader, can not reinitialize"}
	if err := refused(leader); err != leader {
		t.Errorf("refused(%v) = %v; want it unchanged", leader, err)
	}
}

// checkApplyDCS changes the dynamic configuration of a real cluster: a parameter that takes
// effect on reload, then one that needs a restart, raised (replicas first, a switchover, the
// old leader) and lowered (the leader first). The contexts come from PostgreSQL itself.
func checkApplyDCS(ctx context.Context, t *testing.T, pc *patroni.Client) {
	out, err := exec.Command(patronitest.PGBin+"/postgres", "--describe-config").Output()
	if err != nil {
		t.Fatal(err)
	}
	contexts := ParseContexts(out)
	if contexts["work_mem"] != "user" || contexts["max_connections"] != "postmaster" {
		t.Fatalf("contexts from postgres --describe-config: work_mem %q, max_connections %q", contexts["work_mem"], contexts["max_connections"])
	}
	change := func(param string, value any) []Setting {
		t.Helper()
		have, err := pc.Config(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := Patch([]Setting{{Key: paramPrefix + param, Want: value}})
		merged := map[string]any{}
		for k, v := range have {
			merged[k] = v
		}
		pg, _ := have["postgresql"].(map[string]any)
		params := map[string]any{}
		if p, ok := pg["parameters"].(map[string]any); ok {
			for k, v := range p {
				params[k] = v
			}
		}
		params[param] = want["postgresql"].(map[string]any)["parameters"].(map[string]any)[param]
		pgCopy := map[string]any{}
		for k, v := range pg {
			pgCopy[k] = v
		}
		pgCopy["parameters"] = params
		merged["postgresql"] = pgCopy
		return DiffDCS(have, merged)
	}
	leaderOf := func() string {
		cl, err := pc.Cluster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return leaderName(cl)
	}

	s := change("work_mem", "6MB")
	if len(s) != 1 || NeedsRestart(s, contexts) {
		t.Fatalf("work_mem: %+v, restart %v", s, NeedsRestart(s, contexts))
	}
	before := leaderOf()
	done, err := ApplyDCS(ctx, pc, s, false, time.Minute, nil)
	if err != nil || len(done.Restarted) != 0 || done.Switchover != nil {
		t.Fatalf("ApplyDCS(work_mem) = %+v, %v", done, err)
	}
	if again := change("work_mem", "6MB"); len(again) != 0 {
		t.Errorf("after ApplyDCS, the configuration still differs: %+v", again)
	}

	s = change("max_connections", 150)
	if !NeedsRestart(s, contexts) || primaryFirst(s) {
		t.Fatalf("max_connections raised: restart %v, primary first %v", NeedsRestart(s, contexts), primaryFirst(s))
	}
	done, err = ApplyDCS(ctx, pc, s, true, 2*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	replica := "node0"
	if before == "node0" {
		replica = "node1"
	}
	if !slices.Equal(done.Restarted, []string{replica}) || done.Switchover == nil || done.Switchover.From != before {
		t.Errorf("raising max_connections: %+v; want %s restarted, then a switchover from %s (which restarts it)", done, replica, before)
	}
	after := leaderOf()
	for _, ep := range pc.Endpoints {
		if st, err := pc.Status(ctx, ep.Name); err != nil || st.PendingRestart {
			t.Errorf("%s after the rolling restart: %+v, %v", ep.Name, st, err)
		}
	}

	s = change("max_connections", 110)
	if !primaryFirst(s) {
		t.Fatalf("max_connections lowered is not primary first: %+v", s)
	}
	done, err = ApplyDCS(ctx, pc, s, true, 2*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(done.Restarted) != 2 || done.Restarted[0] != after || done.Switchover != nil {
		t.Errorf("lowering max_connections: %+v; want the leader %s restarted first, in place", done, after)
	}
}
