package patroni

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ipatroni "github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/patroni/patronitest"
)

// TestLeaderFreezeStock reproduces, with Debian's Patroni 3.0.2 as installed, the split brain
// that `pghac drill leader-freeze` found and that Etcd3Fix exists for: the leader's Patroni is
// frozen (SIGSTOP) for longer than ttl, its lease expires, the replica takes the lock and
// promotes; once thawed (SIGCONT), the old leader's _update_leader() puts the leader key
// unconditionally and takes the lock back from the new primary.
//
// Whether the thawed HA loop acts on its stale view before the watcher's events arrive is a
// race in Patroni, which writeBacklog settles the way the drill saw it. The test freezes and
// thaws up to twice and fails when the lock never goes back, which would mean the bug is gone
// or no longer shows this way.
func TestLeaderFreezeStock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real two-member Patroni cluster and freezes its leader for longer than ttl (about 35 s)")
	}
	requireStockEtcd3(t)
	c := patronitest.Start(t, patronitest.Options{Members: 2})
	for attempt := 1; attempt <= 2; attempt++ {
		r := freezeLeader(t, c)
		t.Logf("attempt %d:\n%s", attempt, r)
		if r.retaken != nil {
			lines := linesAfter(t, c, r.oldLeader, r.thaw)
			for _, l := range lines[:min(len(lines), 8)] {
				t.Logf("%s log: %s", r.oldLeader, l)
			}
			return
		}
		t.Logf("attempt %d: the old leader did not take the lock back; freezing the new leader", attempt)
	}
	t.Fatalf("stock Patroni 3.0.2 never took the lock back after a freeze longer than ttl in 2 attempts: " +
		"the bug Etcd3Fix patches did not show (is the installed Patroni still 3.0.2?)")
}

// TestLeaderFreezePatched runs the same scenario with Patroni's etcd3 module patched by the
// emitted script: the thawed old leader, acting on its stale view, must fail to update the
// lock instead of taking it back, demote, and rejoin as a replica of the new primary. An
// attempt in which the old leader saw the new leader before it acted (the race of
// TestLeaderFreezeStock went the other way) does not exercise the patch: the test checks
// that it recovers all the same, and tries once more.
func TestLeaderFreezePatched(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real two-member Patroni cluster and freezes its leader for longer than ttl (about 45 s)")
	}
	dir := patchedPatroni(t)
	c := patronitest.Start(t, patronitest.Options{Members: 2, PythonPath: dir})
	for attempt := 1; attempt <= 2; attempt++ {
		r := freezeLeader(t, c)
		t.Logf("attempt %d:\n%s", attempt, r)
		lines := linesAfter(t, c, r.oldLeader, r.thaw)
		for _, l := range lines[:min(len(lines), 12)] {
			t.Logf("%s log: %s", r.oldLeader, l)
		}
		if r.retaken != nil {
			t.Fatalf("the patched old leader %s took the lock back at %s", r.oldLeader, r.rel(r.retaken.at))
		}
		if r.demoted.IsZero() {
			t.Fatalf("the patched old leader %s never reported role replica after the thaw", r.oldLeader)
		}
		// It rejoins: one leader (the new one) and a streaming replica on its timeline.
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cl, err := c.WaitReady(ctx)
		cancel()
		if err != nil {
			t.Fatalf("the cluster did not recover after the thaw: %v", err)
		}
		if l, _ := cl.Leader(); l.Name != r.newLeader {
			t.Errorf("after recovery the leader is %s, want %s (who took the lock while %s was frozen)", l.Name, r.newLeader, r.oldLeader)
		}
		if ev := r.watch.firstPutBy(r.oldLeader, r.lockTaken.rev); ev != nil {
			t.Fatalf("the old leader %s wrote the leader key at %s (revision %d) after %s had taken it", r.oldLeader, r.rel(ev.at), ev.rev, r.newLeader)
		}
		t.Logf("recovered: %s (%s after the thaw)", cl, time.Since(r.thaw).Round(time.Millisecond))
		// Patroni 3.0.2's words when update_leader() returns false while it holds the lock.
		if slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "ERROR: failed to update leader lock") }) {
			return
		}
		t.Logf("attempt %d: %s saw the new leader before it acted on its stale view; the patch was not exercised", attempt, r.oldLeader)
	}
	t.Fatal("in 2 attempts the thawed old leader never acted on its stale view: the patched update_leader() was not exercised")
}

// linesAfter returns the lines member's Patroni logged at or after since, less the REST
// API's tracebacks for the requests that timed out while it was frozen.
func linesAfter(t *testing.T, c *patronitest.Cluster, member string, since time.Time) []string {
	t.Helper()
	log, err := c.PatroniLog(member)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(log), "\n") {
		if len(line) < 23 {
			continue
		}
		// Patroni's and PostgreSQL's lines start with the time, in UTC (patronitest sets TZ).
		at, err := time.Parse("2006-01-02 15:04:05.000", strings.Replace(line[:23], ",", ".", 1))
		if err != nil || at.Before(since.UTC().Truncate(time.Millisecond)) ||
			strings.Contains(line, "processing of request from") || strings.Contains(line, "Traceback (most recent") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// requireStockEtcd3 fails the test unless Debian's etcd3.py is the 3.0.2 file Etcd3Fix knows.
func requireStockEtcd3(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(Etcd3ModulePath)
	if err != nil {
		t.Fatalf("%v: install Debian 12's patroni (make deps)", err)
	}
	if got := sha256Hex(b); got != etcd3OriginalSHA256 {
		t.Fatalf("%s has sha256 %s, not Debian's Patroni 3.0.2 %s: this machine's Patroni is not the one the fix is for",
			Etcd3ModulePath, got, etcd3OriginalSHA256)
	}
}

// patchedPatroni copies Debian's patroni package into a directory the postgres user can read,
// runs the emitted fix script on its etcd3.py, and returns the directory (for PYTHONPATH).
func patchedPatroni(t *testing.T) string {
	t.Helper()
	requireStockEtcd3(t)
	// Not t.TempDir: its parents are closed to the postgres user Patroni runs as.
	dir, err := os.MkdirTemp("", "pghac-etcd3fix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Dir(filepath.Dir(Etcd3ModulePath)) // .../dist-packages/patroni
	if out, err := exec.Command("cp", "-a", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", src, err, out)
	}
	module := filepath.Join(dir, "patroni", "dcs", "etcd3.py")
	out := runFix(t, module, 0)
	if !strings.Contains(out, "patched: sha256") {
		t.Fatalf("the fix script did not patch the copy:\n%s", out)
	}
	// The patched module is the one Python imports from there: its _update_leader (inside
	// 3.0.2's catch_return_false_exception wrapper) has the transaction's constants.
	cmd := exec.Command(python, "-c", "import patroni.dcs.etcd3 as m; print(m.__file__); "+
		"f = m.Etcd3._update_leader; f = f.__closure__[0].cell_contents if f.__closure__ else f; "+
		"print('request_txn' in f.__code__.co_consts)")
	cmd.Env = []string{"PYTHONPATH=" + dir, "PATH=/usr/bin:/bin"}
	got, err := cmd.CombinedOutput()
	if err != nil || string(got) != module+"\nTrue\n" {
		t.Fatalf("importing the patched module with PYTHONPATH=%s: %v\n%s", dir, err, got)
	}
	return dir
}

// freezeResult is what freezeLeader saw. Times are wall-clock; rel prints them relative to
// the freeze.
type freezeResult struct {
	oldLeader, newLeader string
	oldTimeline          int
	freeze, thaw         time.Time
	lockTaken            *lockEvent // the new leader's first put of the key
	promoted             time.Time  // the new leader reports role master on a new timeline
	newTimeline          int
	retaken              *lockEvent // the old leader's put after lockTaken; nil if none
	demoted              time.Time  // the old leader reports role replica after the thaw
	watch                *lockWatch
}

func (r *freezeResult) rel(at time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return fmt.Sprintf("+%.3fs", at.Sub(r.freeze).Seconds())
}

// String is the scenario's timeline, then every change of the leader key.
func (r *freezeResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s  %s (leader, TL%d) Patroni frozen\n", r.rel(r.freeze), r.oldLeader, r.oldTimeline)
	if r.lockTaken != nil {
		fmt.Fprintf(&b, "  %s  %s takes the lock (revision %d)\n", r.rel(r.lockTaken.at), r.newLeader, r.lockTaken.rev)
	}
	fmt.Fprintf(&b, "  %s  %s promoted to TL%d\n", r.rel(r.promoted), r.newLeader, r.newTimeline)
	fmt.Fprintf(&b, "  %s  %s Patroni thawed\n", r.rel(r.thaw), r.oldLeader)
	if r.retaken != nil {
		fmt.Fprintf(&b, "  %s  %s takes the lock BACK (revision %d), %.3fs after the thaw\n",
			r.rel(r.retaken.at), r.oldLeader, r.retaken.rev, r.retaken.at.Sub(r.thaw).Seconds())
	}
	fmt.Fprintf(&b, "  %s  %s reports role replica\n", r.rel(r.demoted), r.oldLeader)
	b.WriteString("  leader key events:\n")
	for _, ev := range r.watch.events() {
		fmt.Fprintf(&b, "    %s  %s %q lease %s revision %d\n", r.rel(ev.at), ev.typ, ev.value, ev.lease, ev.rev)
	}
	return b.String()
}

// freezeLeader freezes the current leader's Patroni until the replica holds the lock and runs
// as primary, thaws it, and watches for up to 60 s whether the old leader takes the lock back
// or reports role replica.
func freezeLeader(t *testing.T, c *patronitest.Cluster) *freezeResult {
	t.Helper()
	// Room for the wait for a ready cluster, 90 s until the promotion and 60 s after the thaw:
	// the role watcher stops with ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl, err := c.WaitReady(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader, _ := cl.Leader()
	var replica string
	for _, m := range cl.Members {
		if m.Name != leader.Name {
			replica = m.Name
		}
	}
	r := &freezeResult{oldLeader: leader.Name, newLeader: replica, oldTimeline: leader.Timeline}
	// The key is watched until the test ends, so that a caller sees what follows the return.
	r.watch = watchLeaderKey(t, context.Background(), c.EtcdURL)
	roles := watchRoles(ctx, c)

	// Freeze the leader just after an HA cycle ends, while it sleeps loop_wait: frozen in the
	// middle of a cycle, it may finish that cycle's lock update on thaw and only then look again,
	// and the stale view the test is about is never acted on.
	cycleEnd := time.Now()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s logged no HA cycle as the leader within 30 s", r.oldLeader)
		}
		if slices.ContainsFunc(linesAfter(t, c, r.oldLeader, cycleEnd), func(l string) bool {
			return strings.Contains(l, "the leader with the lock")
		}) {
			break
		}
	}
	r.freeze = time.Now()
	if err := c.SignalPatroni(r.oldLeader, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thawed := false
	defer func() {
		if !thawed { // a failed wait: thaw it all the same, the cleanup stops it
			c.SignalPatroni(r.oldLeader, syscall.SIGCONT)
		}
	}()
	if err := writeBacklog(ctx, c.EtcdURL, backlogKeys); err != nil {
		t.Fatal(err)
	}

	// The lease expires after ttl (20 s); the replica then takes the lock and promotes.
	deadline := time.Now().Add(90 * time.Second)
	for ; ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica %s did not take the lock and promote within 90 s of the freeze:\n%s", replica, r)
		}
		if err := r.watch.failed(); err != nil {
			t.Fatal(err)
		}
		if r.lockTaken == nil {
			r.lockTaken = r.watch.firstPutBy(replica, 0)
		}
		if at, tl := roles.first(replica, "master", r.oldTimeline+1); r.lockTaken != nil && !at.IsZero() {
			r.promoted, r.newTimeline = at, tl
			break
		}
	}
	r.thaw = time.Now()
	if err := c.SignalPatroni(r.oldLeader, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	thawed = true

	// Either happens within a few HA loops (loop_wait 1 s) of the thaw; the margin is for a
	// loaded machine.
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		r.retaken = r.watch.firstPutBy(r.oldLeader, r.lockTaken.rev)
		if at, _ := roles.firstAfter(r.oldLeader, "replica", r.thaw); !at.IsZero() {
			r.demoted = at
		}
		if r.retaken != nil || !r.demoted.IsZero() {
			break
		}
	}
	// A little longer, so that the log shows what follows.
	time.Sleep(2 * time.Second)
	if r.retaken == nil {
		r.retaken = r.watch.firstPutBy(r.oldLeader, r.lockTaken.rev)
	}
	if at, _ := roles.firstAfter(r.oldLeader, "replica", r.thaw); !at.IsZero() {
		r.demoted = at
	}
	if err := r.watch.failed(); err != nil {
		t.Fatal(err)
	}
	return r
}

// backlogKeys is how many keys writeBacklog writes while the leader is frozen.
const backlogKeys = 3000

// writeBacklog writes n keys under the cluster's prefix, which Patroni ignores, in
// transactions of 100 puts.
//
// Why: the drill freezes a whole node, its etcd member too, so on thaw Patroni's watcher
// (the thread that keeps its cached view of the cluster) lags behind its HA loop, which acts
// on the view from before the freeze. Here one etcd serves every member and the few events of
// the freeze would reach the watcher as fast as the HA loop wakes: the outcome would be a
// coin toss. Events written before the leader key's own put the watcher to work through first,
// as the lagging member does, so the HA loop reads its stale view every time.
func writeBacklog(ctx context.Context, etcdURL string, n int) error {
	value := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 200))
	for i := 0; i < n; i += 100 {
		var puts []map[string]any
		for j := i; j < min(i+100, n); j++ {
			key := fmt.Sprintf("%s%s/pghac-test-backlog/%05d", patronitest.Namespace, patronitest.Scope, j)
			puts = append(puts, map[string]any{"request_put": map[string]string{
				"key": base64.StdEncoding.EncodeToString([]byte(key)), "value": value}})
		}
		var resp struct {
			Succeeded bool `json:"succeeded"`
		}
		if err := etcdPost(ctx, etcdURL+"/v3/kv/txn", map[string]any{"success": puts}, &resp); err != nil {
			return fmt.Errorf("writing the backlog: %w", err)
		}
		if !resp.Succeeded {
			return fmt.Errorf("writing the backlog: etcd's transaction did not succeed")
		}
	}
	return nil
}

// lockEvent is one change of the leader key as etcd's watch reports it.
type lockEvent struct {
	at    time.Time // when the test received it
	typ   string    // PUT or DELETE
	value string    // the member named, "" for DELETE
	lease string
	rev   int64 // the key's mod_revision (for DELETE: the revision of the deletion)
}

// lockWatch collects the leader key's changes from etcd's v3 JSON gateway.
type lockWatch struct {
	mu  sync.Mutex
	evs []lockEvent
	err error
}

// failed returns why the watch ended early, nil while it runs.
func (w *lockWatch) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *lockWatch) events() []lockEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]lockEvent(nil), w.evs...)
}

// firstPutBy returns the first put of member's name after revision after, nil if none.
func (w *lockWatch) firstPutBy(member string, after int64) *lockEvent {
	for _, ev := range w.events() {
		if ev.typ == "PUT" && ev.value == member && ev.rev > after {
			return &ev
		}
	}
	return nil
}

// watchLeaderKey watches patronitest.LeaderKey from etcd's current revision on, until ctx
// or the test ends.
func watchLeaderKey(t *testing.T, ctx context.Context, etcdURL string) *lockWatch {
	t.Helper()
	key := base64.StdEncoding.EncodeToString([]byte(patronitest.LeaderKey))
	var rng struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	if err := etcdPost(ctx, etcdURL+"/v3/kv/range", map[string]any{"key": key}, &rng); err != nil {
		t.Fatal(err)
	}
	rev, err := strconv.ParseInt(rng.Header.Revision, 10, 64)
	if err != nil {
		t.Fatalf("etcd range: revision %q: %v", rng.Header.Revision, err)
	}
	wctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	body, _ := json.Marshal(map[string]any{"create_request": map[string]any{"key": key, "start_revision": strconv.FormatInt(rev+1, 10)}})
	req, err := http.NewRequestWithContext(wctx, http.MethodPost, etcdURL+"/v3/watch", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("etcd watch: %v", err)
	}
	w := &lockWatch{}
	go func() {
		defer resp.Body.Close()
		dec := json.NewDecoder(bufio.NewReader(resp.Body))
		for {
			var msg struct {
				Result struct {
					Events []struct {
						Type string `json:"type"` // absent for PUT
						KV   struct {
							ModRevision string `json:"mod_revision"`
							Value       string `json:"value"`
							Lease       string `json:"lease"`
						} `json:"kv"`
					} `json:"events"`
					Header struct {
						Revision string `json:"revision"`
					} `json:"header"`
				} `json:"result"`
				Error json.RawMessage `json:"error"`
			}
			err := dec.Decode(&msg)
			at := time.Now()
			w.mu.Lock()
			if err != nil || len(msg.Error) > 0 {
				if err == nil {
					err = fmt.Errorf("etcd watch: %s", msg.Error)
				}
				if wctx.Err() == nil && err != io.EOF {
					w.err = err
				}
				w.mu.Unlock()
				return
			}
			for _, e := range msg.Result.Events {
				ev := lockEvent{at: at, typ: "PUT", lease: e.KV.Lease}
				if e.Type == "DELETE" {
					ev.typ = "DELETE"
					ev.rev, _ = strconv.ParseInt(msg.Result.Header.Revision, 10, 64)
				} else {
					ev.rev, _ = strconv.ParseInt(e.KV.ModRevision, 10, 64)
					v, _ := base64.StdEncoding.DecodeString(e.KV.Value)
					ev.value = string(v)
				}
				w.evs = append(w.evs, ev)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func etcdPost(ctx context.Context, url string, body, into any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: HTTP %d: %s", url, resp.StatusCode, out)
	}
	return json.Unmarshal(out, into)
}

// roleChange is a member's own view (GET /patroni) when it first differed from the one before.
type roleChange struct {
	at       time.Time
	role     string // master or replica
	timeline int
}

// roleWatch polls every member's /patroni, each on its own, so that a frozen one does not
// hold the others back.
type roleWatch struct {
	mu      sync.Mutex
	changes map[string][]roleChange
}

func watchRoles(ctx context.Context, c *patronitest.Cluster) *roleWatch {
	w := &roleWatch{changes: map[string][]roleChange{}}
	for _, ep := range c.Endpoints {
		pc := &ipatroni.Client{Endpoints: []ipatroni.Endpoint{ep}, HTTP: &http.Client{Timeout: 2 * time.Second}}
		go func() {
			for ctx.Err() == nil {
				st, err := pc.Status(ctx, ep.Name)
				if err == nil {
					w.mu.Lock()
					ch := w.changes[ep.Name]
					if len(ch) == 0 || ch[len(ch)-1].role != st.Role || ch[len(ch)-1].timeline != st.Timeline {
						w.changes[ep.Name] = append(ch, roleChange{at: time.Now(), role: st.Role, timeline: st.Timeline})
					}
					w.mu.Unlock()
				}
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	return w
}

// first returns when member first reported role on a timeline of at least minTimeline.
func (w *roleWatch) first(member, role string, minTimeline int) (time.Time, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.changes[member] {
		if ch.role == role && ch.timeline >= minTimeline {
			return ch.at, ch.timeline
		}
	}
	return time.Time{}, 0
}

// firstAfter returns when member first reported role after since.
func (w *roleWatch) firstAfter(member, role string, since time.Time) (time.Time, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.changes[member] {
		if ch.role == role && ch.at.After(since) {
			return ch.at, ch.timeline
		}
	}
	return time.Time{}, 0
}
