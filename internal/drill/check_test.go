package drill

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t0 is the origin of every test history; at(ms) is t0 plus ms milliseconds.
var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ack(id int64, start, end int, server string, tl int) Write {
	return Write{ID: id, Node: "node0", Start: at(start), End: at(end), Outcome: Acked, Server: server, Timeline: tl}
}

func failed(id int64, start, end int, err string) Write {
	return Write{ID: id, Node: "node0", Start: at(start), End: at(end), Outcome: Failed, Err: err}
}

func unknown(id int64, start, end int) Write {
	return Write{ID: id, Node: "node0", Start: at(start), End: at(end), Outcome: Unknown, Err: "timeout"}
}

// lead is a sample in which leader holds the lock and every member of node0..node2 is
// on timeline tl, the leader "leader/running", the others "replica/streaming".
func lead(ms int, leader string, tl int) LeaderSample {
	s := LeaderSample{At: at(ms), Leader: leader}
	for _, n := range []string{"node0", "node1", "node2"} {
		m := MemberSample{Name: n, Role: "replica", State: "streaming", Timeline: tl}
		if n == leader {
			m.Role, m.State = "leader", "running"
		}
		s.Members = append(s.Members, m)
	}
	return s
}

// samples returns lead(ms, leader, tl) every 200 ms from `from` to `to` inclusive.
func samples(from, to int, leader string, tl int) []LeaderSample {
	var out []LeaderSample
	for ms := from; ms <= to; ms += 200 {
		out = append(out, lead(ms, leader, tl))
	}
	return out
}

// allIDs is every id of ws except those in skip.
func allIDs(ws []Write, skip ...int64) []int64 {
	out := []int64{}
	for _, w := range ws {
		if !slices.Contains(skip, w.ID) {
			out = append(out, w.ID)
		}
	}
	return out
}

func refIDs(refs []WriteRef) []int64 {
	var out []int64
	for _, r := range refs {
		out = append(out, r.ID)
	}
	return out
}

// cleanWrites are acknowledged by node0 on timeline 1; the gaps between their ends are
// 100, 140, 55, 415 and 90 ms.
func cleanWrites() []Write {
	return []Write{
		ack(1, 0, 10, "node0", 1),
		ack(2, 100, 110, "node0", 1),
		ack(3, 200, 250, "node0", 1),
		ack(4, 300, 305, "node0", 1),
		ack(5, 700, 720, "node0", 1),
		ack(6, 800, 810, "node0", 1),
	}
}

func cleanHistory() History {
	ws := cleanWrites()
	return History{
		Scenario: "clean",
		Writes:   ws,
		Samples:  samples(-100, 1100, "node0", 1),
		FinalIDs: allIDs(ws),
	}
}

func TestCheckCleanHistory(t *testing.T) {
	r := Check(cleanHistory(), Limits{MaxOutage: time.Second, AllowFailover: false})
	if v := r.Violations(); len(v) != 0 || !r.OK() {
		t.Fatalf("clean history: violations %q, want none", v)
	}
	if len(r.InputErrors) != 0 || len(r.Warnings) != 0 {
		t.Errorf("clean history: input errors %q, warnings %q, want none", r.InputErrors, r.Warnings)
	}
	w := r.Writes
	got := []int{w.Attempted, w.Acked, w.Failed, w.Unknown, w.Lost, w.SplitBrain, w.Ambiguous, w.Unchecked}
	if want := []int{6, 6, 0, 0, 0, 0, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("attempted, acked, failed, unknown, lost, split-brain, ambiguous, unchecked = %v, want %v", got, want)
	}
	wantOutage := Gap{From: at(305), To: at(720), Length: Millis(415 * time.Millisecond), Closed: true}
	if diff := cmp.Diff(wantOutage, w.Outage); diff != "" {
		t.Errorf("write outage (-want +got):\n%s", diff)
	}
	if w.FaultOutage != nil || w.ResumedAfterFault != 0 {
		t.Errorf("no fault, but fault outage %+v, resumed after %s", w.FaultOutage, w.ResumedAfterFault)
	}
	if r.Leadership.Failovers != 0 || len(r.Leadership.Changes) != 0 {
		t.Errorf("steady leader: failovers %d, changes %+v, want none", r.Leadership.Failovers, r.Leadership.Changes)
	}
	if r.Recovery.From != "" {
		t.Errorf("no fault: recovery measured from %q", r.Recovery.From)
	}
}

func TestCheckLostWrites(t *testing.T) {
	h := cleanHistory()
	h.Writes = append(h.Writes,
		unknown(7, 820, 5820),                    // landed: fine
		unknown(8, 830, 5830),                    // did not land: fine
		failed(9, 840, 850, "read-only"),         // did not land: fine
		failed(10, 860, 870, "connection reset"), // landed: a warning, not a violation
	)
	h.FinalIDs = []int64{1, 2, 4, 5, 6, 7, 10} // 3 is missing
	r := Check(h, Limits{})

	if got := refIDs(r.Writes.LostWrites); r.Writes.Lost != 1 || !slices.Equal(got, []int64{3}) {
		t.Fatalf("lost = %d %v, want 1 [3]", r.Writes.Lost, got)
	}
	if lw := r.Writes.LostWrites[0]; lw.Server != "node0" || !lw.End.Equal(at(250)) || lw.Present {
		t.Errorf("lost write ref = %+v, want server node0, end at 250 ms, not present", lw)
	}
	if r.Writes.UnknownLanded != 1 || r.Writes.Unknown != 2 || r.Writes.Failed != 2 {
		t.Errorf("unknown %d (landed %d), failed %d; want 2 (1), 2", r.Writes.Unknown, r.Writes.UnknownLanded, r.Writes.Failed)
	}
	if !slices.Equal(r.Writes.FailedLanded, []int64{10}) {
		t.Errorf("failed but landed = %v, want [10]", r.Writes.FailedLanded)
	}
	v := r.Violations()
	if len(v) != 1 || !strings.Contains(v[0], "1 acknowledged write was lost") || !strings.Contains(v[0], "id 3 ") {
		t.Errorf("violations = %q, want exactly one naming lost id 3", v)
	}
	if r.OK() {
		t.Error("OK() with a lost write")
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "(10)") {
		t.Errorf("warnings = %q, want one about failed write 10 that landed", r.Warnings)
	}
	wantErrs := []ErrorCount{{"timeout", 2}, {"connection reset", 1}, {"read-only", 1}}
	if diff := cmp.Diff(wantErrs, r.Writes.Errors); diff != "" {
		t.Errorf("write errors (-want +got):\n%s", diff)
	}
}

func TestCheckUnexpectedIDs(t *testing.T) {
	h := cleanHistory()
	h.FinalIDs = append(h.FinalIDs, 100, 99)
	r := Check(h, Limits{})
	if !slices.Equal(r.Writes.Unexpected, []int64{99, 100}) {
		t.Fatalf("unexpected = %v, want [99 100]", r.Writes.Unexpected)
	}
	if v := r.Violations(); len(v) != 1 || !strings.Contains(v[0], "99, 100") {
		t.Errorf("violations = %q, want one naming ids 99, 100", v)
	}
}

// lockMove: node0 holds the lock in the samples up to 800 ms, node1 from 1000 ms, all
// on timeline 1 (timelines play no part here).
func lockMove() []LeaderSample {
	return append(samples(-200, 800, "node0", 1), samples(1000, 3000, "node1", 1)...)
}

func TestCheckSplitBrain(t *testing.T) {
	tests := []struct {
		name  string
		w     Write
		slack time.Duration
		want  lockVerdict
		// leaders the bracketing samples name, for split-brain and ambiguous writes
		leaders []string
	}{
		{"old leader, whole interval after the move", ack(1, 1250, 1300, "node0", 0), 0, splitBrain, []string{"node1"}},
		{"old leader, starts on the sample that shows the move", ack(1, 1000, 1050, "node0", 0), 0, splitBrain, []string{"node1"}},
		{"old leader, straddles the move", ack(1, 850, 950, "node0", 0), 0, ambiguous, []string{"node0", "node1"}},
		{"old leader, starts before the sample that shows the move", ack(1, 950, 1050, "node0", 0), 0, ambiguous, []string{"node0", "node1"}},
		{"old leader, ends on the last sample naming it", ack(1, 700, 800, "node0", 0), 0, consistent, nil},
		{"old leader, after the move, widened by slack", ack(1, 1210, 1290, "node0", 0), 300 * time.Millisecond, ambiguous, []string{"node0", "node1"}},
		{"new leader, straddles the move", ack(1, 850, 950, "node1", 0), 0, ambiguous, []string{"node0", "node1"}},
		{"new leader, after the move", ack(1, 1250, 1300, "node1", 0), 0, consistent, nil},
		{"old leader, before the move", ack(1, 300, 350, "node0", 0), 0, consistent, nil},
		{"a replica, before the move", ack(1, 300, 350, "node2", 0), 0, splitBrain, []string{"node0"}},
		{"a replica, straddles the move", ack(1, 850, 950, "node2", 0), 0, splitBrain, []string{"node0", "node1"}},
		{"before the first sample", ack(1, -300, -250, "node0", 0), 0, unchecked, nil},
		{"after the last sample", ack(1, 2990, 3010, "node1", 0), 0, unchecked, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One clean write by the holder in mid-history keeps the report meaningful.
			ws := []Write{ack(100, 1500, 1510, "node1", 1), tt.w}
			h := History{Writes: ws, Samples: lockMove(), FinalIDs: allIDs(ws)}
			r := Check(h, Limits{SampleSlack: tt.slack, AllowFailover: true})

			var got lockVerdict
			var refs []WriteRef
			switch {
			case r.Writes.SplitBrain > 0:
				got, refs = splitBrain, r.Writes.SplitBrainWrites
			case r.Writes.Ambiguous > 0:
				got, refs = ambiguous, r.Writes.AmbiguousWrites
			case r.Writes.Unchecked > 0:
				got = unchecked
			}
			if got != tt.want {
				t.Fatalf("verdict = %v, want %v (split-brain %+v, ambiguous %+v, unchecked %d)",
					got, tt.want, r.Writes.SplitBrainWrites, r.Writes.AmbiguousWrites, r.Writes.Unchecked)
			}
			n := r.Writes.SplitBrain + r.Writes.Ambiguous + r.Writes.Unchecked
			if want := map[bool]int{true: 0, false: 1}[tt.want == consistent]; n != want {
				t.Errorf("%d writes classified, want %d", n, want)
			}
			if len(refs) == 1 {
				if refs[0].ID != 1 || !slices.Equal(refs[0].Leaders, tt.leaders) {
					t.Errorf("ref = %+v, want id 1 with leaders %q", refs[0], tt.leaders)
				}
			}
			if isSplit := tt.want == splitBrain; r.OK() == isSplit {
				t.Errorf("OK() = %v with verdict %v; violations %q", r.OK(), tt.want, r.Violations())
			}
			if tt.want == splitBrain {
				v := strings.Join(r.Violations(), "\n")
				if !strings.Contains(v, "split-brain") || !strings.Contains(v, "id 1 (acknowledged by "+tt.w.Server) {
					t.Errorf("violations %q do not name split-brain write 1 and its server", v)
				}
			}
		})
	}
}

func TestCheckSplitBrainTimeline(t *testing.T) {
	// node1 holds the lock throughout; it is on timeline 2 from 1000 ms.
	ss := append(samples(0, 800, "node1", 1), samples(1000, 2000, "node1", 2)...)
	unknownTL := lead(1400, "node1", 2)
	unknownTL.Members[1].Timeline = 0 // node1's timeline not reported in this sample

	tests := []struct {
		name    string
		w       Write
		samples []LeaderSample
		split   bool
	}{
		{"older timeline after the promotion", ack(1, 1250, 1300, "node1", 1), ss, true},
		{"same timeline", ack(1, 1250, 1300, "node1", 2), ss, false},
		{"timeline not recorded", ack(1, 1250, 1300, "node1", 0), ss, false},
		{"older timeline, straddles the timeline change", ack(1, 850, 950, "node1", 1), ss, false},
		{"older timeline, leader's timeline unknown in one sample", ack(1, 1250, 1450, "node1", 1),
			append(slices.Clone(ss[:7]), unknownTL, lead(1600, "node1", 2)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := []Write{tt.w}
			r := Check(History{Writes: ws, Samples: tt.samples, FinalIDs: allIDs(ws)}, Limits{})
			if got := r.Writes.SplitBrain == 1; got != tt.split {
				t.Fatalf("split-brain = %v, want %v (%+v)", got, tt.split, r.Writes.SplitBrainWrites)
			}
			if tt.split {
				if reason := r.Writes.SplitBrainWrites[0].Reason; !strings.Contains(reason, "timeline 1 while the leader was on timeline 2") {
					t.Errorf("reason = %q, want it to name timelines 1 and 2", reason)
				}
			}
			if r.Writes.Ambiguous != 0 || r.OK() == tt.split {
				t.Errorf("ambiguous %d, OK %v; violations %q", r.Writes.Ambiguous, r.OK(), r.Violations())
			}
		})
	}
}

func TestCheckOutage(t *testing.T) {
	// Acks end at 100, 1000, 2000, 2100, 2900 | fault 3000 | 3100, 3900, 4000.
	// Gaps before the fault (900, 1000, 800 ms) must be ignored; after it: 2900→3100
	// (200, around the fault), 3100→3900 (800), 3900→4000 (100).
	ws := []Write{
		ack(1, 50, 100, "node0", 1),
		ack(2, 950, 1000, "node0", 1),
		ack(3, 1950, 2000, "node0", 1),
		ack(4, 2050, 2100, "node0", 1),
		ack(5, 2850, 2900, "node0", 1),
		ack(6, 3050, 3100, "node0", 1),
		failed(7, 3200, 3300, "connection refused"),
		unknown(8, 3300, 3800),
		ack(9, 3850, 3900, "node0", 1),
		ack(10, 3950, 4000, "node0", 1),
	}
	h := History{Writes: ws, Samples: samples(0, 4200, "node0", 1), FinalIDs: allIDs(ws),
		FaultAt: at(3000), HealAt: at(3500), RecoveredAt: at(4100)}
	r := Check(h, Limits{MaxOutage: 800 * time.Millisecond})

	want := Gap{From: at(3100), To: at(3900), Length: Millis(800 * time.Millisecond), Closed: true}
	if diff := cmp.Diff(want, r.Writes.Outage); diff != "" {
		t.Errorf("outage (-want +got):\n%s", diff)
	}
	wantFault := &Gap{From: at(2900), To: at(3100), Length: Millis(200 * time.Millisecond), Closed: true}
	if diff := cmp.Diff(wantFault, r.Writes.FaultOutage); diff != "" {
		t.Errorf("fault outage (-want +got):\n%s", diff)
	}
	if got := r.Writes.ResumedAfterFault.D(); got != 900*time.Millisecond {
		t.Errorf("resumed after fault = %s, want 900ms", got)
	}
	if !r.OK() {
		t.Errorf("outage equal to the limit: violations %q, want none", r.Violations())
	}
	if d := r.Recovery; d.From != "heal" || !d.Recovered || d.Duration.D() != 600*time.Millisecond {
		t.Errorf("recovery = %+v, want 600ms after the heal", d)
	}

	r = Check(h, Limits{MaxOutage: 799 * time.Millisecond})
	v := r.Violations()
	if len(v) != 1 || !strings.Contains(v[0], "longest write outage, 800ms (12:00:03.100 → 12:00:03.900), exceeds the limit of 799ms") {
		t.Errorf("violations = %q, want one about the 800ms outage over 799ms", v)
	}
}

func TestCheckOutageOverlappingFault(t *testing.T) {
	// The gap 2900→4500 starts before the fault and ends after the heal.
	ws := []Write{
		ack(1, 0, 100, "node0", 1),
		ack(2, 1000, 2000, "node0", 1), // a 1900 ms gap before the fault: ignored
		ack(3, 2800, 2900, "node0", 1),
		failed(4, 3000, 4000, "no route to host"),
		ack(5, 4400, 4500, "node1", 2),
		ack(6, 4600, 4700, "node1", 2),
	}
	ss := append(samples(0, 3000, "node0", 1), samples(3200, 5000, "node1", 2)...)
	h := History{Writes: ws, Samples: ss, FinalIDs: allIDs(ws), FaultAt: at(3000), HealAt: at(3500), RecoveredAt: at(5000)}
	r := Check(h, Limits{AllowFailover: true})
	want := Gap{From: at(2900), To: at(4500), Length: Millis(1600 * time.Millisecond), Closed: true}
	if diff := cmp.Diff(want, r.Writes.Outage); diff != "" {
		t.Errorf("outage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&want, r.Writes.FaultOutage); diff != "" {
		t.Errorf("fault outage (-want +got):\n%s", diff)
	}
	if !r.OK() {
		t.Errorf("violations %q, want none", r.Violations())
	}
}

func TestCheckWritesNeverResumed(t *testing.T) {
	ws := []Write{
		ack(1, 0, 100, "node0", 1),
		ack(2, 200, 300, "node0", 1),
		failed(3, 1000, 2000, "connection refused"),
		unknown(4, 3000, 5000),
	}
	h := History{Writes: ws, Samples: samples(0, 6000, "node0", 1), FinalIDs: allIDs(ws), FaultAt: at(500)}
	r := Check(h, Limits{})
	want := Gap{From: at(300), To: at(5000), Length: Millis(4700 * time.Millisecond), Closed: false}
	if diff := cmp.Diff(want, r.Writes.Outage); diff != "" {
		t.Errorf("outage (-want +got):\n%s", diff)
	}
	if r.Writes.ResumedAfterFault != 0 {
		t.Errorf("resumed after fault = %s, want 0 (never)", r.Writes.ResumedAfterFault)
	}
	v := strings.Join(r.Violations(), "\n")
	for _, s := range []string{"Writes did not resume after the fault", "never became healthy again after the fault at 12:00:00.500"} {
		if !strings.Contains(v, s) {
			t.Errorf("violations %q lack %q", v, s)
		}
	}
}

func TestCheckReadOutage(t *testing.T) {
	ok := func(s, e int) Read { return Read{Node: "node1", Start: at(s), End: at(e), OK: true} }
	bad := func(s, e int, err string) Read { return Read{Node: "node1", Start: at(s), End: at(e), Err: err} }
	h := cleanHistory()
	h.FaultAt, h.HealAt, h.RecoveredAt = at(350), at(600), at(900)
	h.Reads = []Read{
		ok(0, 100),
		ok(100, 200),
		bad(1500, 1600, "server closed the connection unexpectedly"), // before the fault window: still counted
		ok(250, 300),
		bad(400, 500, "connection refused"),
		bad(500, 600, "connection refused"),
		ok(900, 1000),
		ok(1000, 1100),
	}
	// Read order is not time order; the outage is 300 → 1000 (the bad read at 1600 ends
	// the history with a 500 ms open gap, shorter).
	r := Check(h, Limits{MaxReadOutage: 600 * time.Millisecond, MaxOutage: time.Second})
	if r.Reads.Attempted != 8 || r.Reads.Failed != 3 {
		t.Errorf("reads attempted %d, failed %d; want 8, 3", r.Reads.Attempted, r.Reads.Failed)
	}
	want := Gap{From: at(300), To: at(1000), Length: Millis(700 * time.Millisecond), Closed: true}
	if diff := cmp.Diff(want, r.Reads.Outage); diff != "" {
		t.Errorf("read outage (-want +got):\n%s", diff)
	}
	wantErrs := []ErrorCount{{"connection refused", 2}, {"server closed the connection unexpectedly", 1}}
	if diff := cmp.Diff(wantErrs, r.Reads.Errors); diff != "" {
		t.Errorf("read errors (-want +got):\n%s", diff)
	}
	v := r.Violations()
	if len(v) != 1 || !strings.Contains(v[0], "longest read outage, 700ms") || !strings.Contains(v[0], "limit of 600ms") {
		t.Errorf("violations = %q, want one about the 700ms read outage", v)
	}
}

func TestCheckLeadershipTimeline(t *testing.T) {
	m := func(name, role, state string, tl int) MemberSample {
		return MemberSample{Name: name, Role: role, State: state, Timeline: tl}
	}
	ss := []LeaderSample{
		{At: at(0), Leader: "A", Members: []MemberSample{m("A", "leader", "running", 1), m("B", "replica", "streaming", 1), m("C", "replica", "streaming", 1)}},
		{At: at(200), Leader: "A", Members: []MemberSample{m("C", "replica", "streaming", 1), m("B", "replica", "streaming", 1), m("A", "leader", "running", 1)}},
		{At: at(400), Leader: "", Members: []MemberSample{m("B", "replica", "streaming", 1), m("C", "replica", "streaming", 1)}},
		{At: at(500), Err: "context deadline exceeded"}, // skipped
		{At: at(600), Leader: "B", Members: []MemberSample{m("B", "leader", "running", 2), m("C", "replica", "streaming", 1)}},
		{At: at(800), Leader: "B", Members: []MemberSample{m("A", "replica", "streaming", 2), m("B", "leader", "running", 2), m("C", "replica", "streaming", 2)}},
	}
	want := []Change{
		{At: at(400), Kind: ChangeLeader, From: "A", To: ""},
		{At: at(400), Member: "A", Kind: ChangeRole, From: "leader", To: ""},
		{At: at(600), Kind: ChangeLeader, From: "", To: "B"},
		{At: at(600), Member: "B", Kind: ChangeRole, From: "replica", To: "leader"},
		{At: at(600), Member: "B", Kind: ChangeState, From: "streaming", To: "running"},
		{At: at(600), Member: "B", Kind: ChangeTimeline, From: "1", To: "2"},
		{At: at(800), Member: "A", Kind: ChangeRole, From: "", To: "replica"},
		{At: at(800), Member: "C", Kind: ChangeTimeline, From: "1", To: "2"},
	}
	// Given out of order: the checker sorts by time.
	shuffled := []LeaderSample{ss[3], ss[5], ss[0], ss[2], ss[4], ss[1]}
	ws := []Write{ack(1, 100, 150, "A", 1), ack(2, 650, 700, "B", 2)}
	h := History{Writes: ws, Samples: shuffled, FinalIDs: allIDs(ws), FaultAt: at(300), RecoveredAt: at(800)}
	r := Check(h, Limits{AllowFailover: true})
	l := r.Leadership
	if diff := cmp.Diff(want, l.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if l.Failovers != 1 || l.LockLosses != 1 || !slices.Equal(l.Leaders, []string{"A", "B"}) {
		t.Errorf("failovers %d, lock losses %d, leaders %q; want 1, 1, [A B]", l.Failovers, l.LockLosses, l.Leaders)
	}
	if l.Samples != 5 || l.FailedSamples != 1 {
		t.Errorf("samples %d used, %d failed; want 5, 1", l.Samples, l.FailedSamples)
	}
	wantGap := Gap{From: at(400), To: at(600), Length: Millis(200 * time.Millisecond), Closed: true}
	if diff := cmp.Diff(wantGap, l.Leaderless); diff != "" {
		t.Errorf("leaderless (-want +got):\n%s", diff)
	}
	if !r.OK() {
		t.Errorf("failover allowed: violations %q, want none", r.Violations())
	}
	if h.Samples[0].At != at(500) {
		t.Error("Check reordered the caller's samples")
	}

	r = Check(h, Limits{AllowFailover: false})
	v := r.Violations()
	if len(v) != 1 || !strings.Contains(v[0], "1 failover happened (leader A → B) although the scenario allows none") {
		t.Errorf("violations = %q, want one about the failover A → B", v)
	}
}

func TestCheckFailoverCount(t *testing.T) {
	tests := []struct {
		name            string
		leaders         []string // one sample each, 200 ms apart
		failovers, lost int
	}{
		{"steady", []string{"A", "A", "A"}, 0, 0},
		{"initial election", []string{"", "", "A", "A"}, 0, 0},
		{"lock lost and taken back", []string{"A", "", "", "A"}, 0, 1},
		{"direct handover", []string{"A", "B"}, 1, 0},
		{"there and back", []string{"A", "", "B", "B", "", "A"}, 2, 2},
		{"ends leaderless", []string{"A", ""}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ss []LeaderSample
			for i, l := range tt.leaders {
				ss = append(ss, LeaderSample{At: at(i * 200), Leader: l})
			}
			l := leadership(ss, 0)
			if l.Failovers != tt.failovers || l.LockLosses != tt.lost {
				t.Errorf("failovers %d, lock losses %d; want %d, %d", l.Failovers, l.LockLosses, tt.failovers, tt.lost)
			}
		})
	}
}

func TestCheckRecoveryLimits(t *testing.T) {
	tests := []struct {
		name      string
		heal, rec int // ms; -1 = zero time
		limit     time.Duration
		violation string // "" = none
	}{
		{"within the limit, from the heal", 2000, 5000, 3 * time.Second, ""},
		{"over the limit, from the heal", 2000, 5001, 3 * time.Second, "took 3.001s after the heal to become healthy, more than the limit of 3s"},
		{"no heal: from the fault", -1, 4000, 3 * time.Second, "took 3.5s after the fault"},
		{"never recovered", 2000, -1, 3 * time.Second, "never became healthy again after the heal at 12:00:02.000"},
		{"healthy before the heal", 2000, 1500, time.Second, ""},
		{"no limit", 2000, 60000, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := cleanHistory()
			h.FaultAt = at(500) // writes go on until 810 ms
			if tt.heal >= 0 {
				h.HealAt = at(tt.heal)
			}
			if tt.rec >= 0 {
				h.RecoveredAt = at(tt.rec)
			}
			r := Check(h, Limits{MaxRecovery: tt.limit})
			v := strings.Join(r.Violations(), "\n")
			if tt.violation == "" && v != "" || !strings.Contains(v, tt.violation) {
				t.Errorf("violations %q, want %q", v, tt.violation)
			}
		})
	}
}

func TestCheckInputErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(h *History)
		substr string
	}{
		{"duplicate id", func(h *History) { h.Writes = append(h.Writes, ack(3, 900, 910, "node0", 1)) },
			"write ids must be unique, but 1 write repeated: id 3 at writes #2 and #6"},
		{"duplicate id, not acknowledged", func(h *History) { h.Writes = append(h.Writes, unknown(5, 900, 950)) },
			"id 5 at writes #4 and #6"},
		{"final ids never read", func(h *History) { h.FinalIDs = nil }, "never read"},
		{"final id twice", func(h *History) { h.FinalIDs = append(h.FinalIDs, 4) }, "more than once in the final read (id 4)"},
		{"no writes", func(h *History) { h.Writes, h.FinalIDs = nil, []int64{} }, "the history has no writes"},
		{"no outcome", func(h *History) { h.Writes[1].Outcome = 0 }, "no valid outcome (write #1, id 2)"},
		{"no server", func(h *History) { h.Writes[2].Server = "" }, "does not name the server that acknowledged it (write #2, id 3)"},
		{"ends before it starts", func(h *History) { h.Writes[0].End = at(-1); h.Writes[3].End = at(-1) },
			"a write ends before it starts (2 times; first: write #0, id 1)"},
		{"no samples", func(h *History) { h.Samples = nil }, "no usable leader sample"},
		{"only failed samples", func(h *History) { h.Samples = []LeaderSample{{At: at(0), Err: "timeout"}} }, "no usable leader sample"},
		{"heal before fault", func(h *History) { h.FaultAt, h.HealAt = at(500), at(400) }, "heal time 2026-07-01 12:00:00.400Z is before"},
		{"heal without fault", func(h *History) { h.HealAt = at(400) }, "heal time but no fault"},
		{"read without end", func(h *History) { h.Reads = []Read{{Node: "node1", Start: at(5), OK: true}} }, "a read has no start or end time (read #0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := cleanHistory()
			tt.edit(&h)
			r := Check(h, Limits{})
			if r.OK() {
				t.Fatalf("OK() with a broken history; input errors %q", r.InputErrors)
			}
			if !slices.ContainsFunc(r.InputErrors, func(e string) bool { return strings.Contains(e, tt.substr) }) {
				t.Errorf("input errors %q lack %q", r.InputErrors, tt.substr)
			}
			if v := r.Violations(); !strings.HasPrefix(v[0], "Checker input error: ") {
				t.Errorf("first violation %q is not the input error", v[0])
			}
		})
	}
}

func TestCheckNothingAcknowledged(t *testing.T) {
	ws := []Write{failed(1, 0, 10, "read-only"), unknown(2, 20, 1020)}
	r := Check(History{Writes: ws, Samples: samples(0, 1200, "node0", 1), FinalIDs: []int64{}}, Limits{})
	if r.OK() || !strings.Contains(strings.Join(r.Violations(), "\n"), "None of the 2 writes was acknowledged") {
		t.Errorf("violations %q, want one saying nothing was acknowledged", r.Violations())
	}
	want := Gap{From: at(0), To: at(1020), Length: Millis(1020 * time.Millisecond)}
	if diff := cmp.Diff(want, r.Writes.Outage); diff != "" {
		t.Errorf("outage (-want +got):\n%s", diff)
	}
}

func TestCheckUncheckedWarning(t *testing.T) {
	h := cleanHistory()
	h.Samples = samples(200, 1100, "node0", 1) // starts after writes 1 and 2 began
	r := Check(h, Limits{})
	if r.Writes.Unchecked != 2 {
		t.Errorf("unchecked = %d, want 2", r.Writes.Unchecked)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "2 acknowledged writes have no leader sample") {
		t.Errorf("warnings %q, want one about 2 unchecked writes", r.Warnings)
	}
	if !r.OK() {
		t.Errorf("unchecked writes are not violations; got %q", r.Violations())
	}
}

func TestCheckFaultOutageBoundary(t *testing.T) {
	// An acknowledgement at the very instant of the fault counts as before it.
	ws := []Write{ack(1, 0, 100, "node0", 1), ack(2, 400, 500, "node0", 1), ack(3, 800, 900, "node0", 1)}
	h := History{Writes: ws, Samples: samples(0, 1000, "node0", 1), FinalIDs: allIDs(ws), FaultAt: at(500), RecoveredAt: at(600)}
	r := Check(h, Limits{})
	want := &Gap{From: at(500), To: at(900), Length: Millis(400 * time.Millisecond), Closed: true}
	if diff := cmp.Diff(want, r.Writes.FaultOutage); diff != "" {
		t.Errorf("fault outage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(*want, r.Writes.Outage); diff != "" {
		t.Errorf("outage (-want +got):\n%s", diff)
	}
	if d := r.Recovery; d.From != "fault" || d.Duration.D() != 100*time.Millisecond {
		t.Errorf("recovery = %+v, want 100ms after the fault", d)
	}
}

// The lock stolen back: node1 (frozen past its lease, timeline 4) takes the lock again
// after node0 was promoted to timeline 5, as Patroni 3.0.2's etcd3 update_leader does
// after a thaw. No write need be lost for this to be reported.
func TestCheckDivergedLock(t *testing.T) {
	ws := []Write{ack(1, 0, 10, "node1", 4), ack(2, 100, 110, "node1", 4), ack(3, 200, 250, "node1", 4)}
	h := History{Scenario: "leader-freeze", Writes: ws, FinalIDs: allIDs(ws)}
	promoted := lead(600, "node0", 5)
	promoted.Members[1].Timeline, promoted.Members[2].Timeline = 4, 4 // they follow a moment later
	h.Samples = append(samples(0, 400, "node1", 4), promoted)
	stolen := lead(800, "node1", 4)
	stolen.Members[0].Timeline, stolen.Members[0].Role = 5, "replica" // node0 still on its timeline
	h.Samples = append(h.Samples, stolen, lead(1000, "node1", 4))
	r := Check(h, Limits{AllowFailover: true})
	want := []Divergence{{At: at(800), Leader: "node1", LeaderTimeline: 4, Member: "node0", MemberTimeline: 5}}
	if diff := cmp.Diff(want, r.Leadership.Diverged); diff != "" {
		t.Fatalf("Diverged (-want +got):\n%s", diff)
	}
	if v := r.Violations(); len(v) != 1 || !strings.Contains(v[0], "went to node1 on timeline 4 although node0 had reached timeline 5") {
		t.Errorf("violations: %q", v)
	}

	// A leader restarted after a crash promotes itself to a new timeline, and its replicas
	// report the new timeline before it does: the lock did not change hands, no divergence.
	h.Samples = samples(0, 400, "node1", 1)
	for ms := 600; ms <= 1200; ms += 200 {
		s := lead(ms, "node1", 1)
		s.Members[2].Timeline = 2
		h.Samples = append(h.Samples, s)
	}
	h.Samples = append(h.Samples, lead(1400, "node1", 2))
	if r := Check(h, Limits{AllowFailover: true}); len(r.Leadership.Diverged) != 0 {
		t.Errorf("a holder behind its own replicas reported: %+v %q", r.Leadership.Diverged, r.Violations())
	}
}

// TestLibpq: a libpq client that never got its session fails the run whatever the limits; one
// that got it late fails it only past MaxLibpqDelay; the report says when and where.
func TestLibpq(t *testing.T) {
	probe := func(connectedMs int) LibpqProbe {
		p := LibpqProbe{Attrs: "read-write", Port: 5000, From: at(16000), Attempts: 7, LastErr: "session is read-only"}
		if connectedMs > 0 {
			p.Connected, p.Server = at(connectedMs), "node1"
		}
		return p
	}
	limits := Limits{AllowFailover: true, MaxLibpqDelay: 5 * time.Second}
	for _, tt := range []struct {
		name          string
		probe         LibpqProbe
		took, after   time.Duration
		violation     string // "" for none
		reportContent string
	}{
		{"before the recovery", probe(17500), 1500 * time.Millisecond, 0, "",
			"libpq read-write  node1 through :5000 in 1.5s (7 attempts), before the recovery\n"},
		{"late", probe(24000 + 6000), 14 * time.Second, 6 * time.Second,
			"got it 6s after the cluster recovered, more than the limit of 5s",
			"node1 through :5000 in 14s (7 attempts), 6s after the recovery  (limit 5s)\n"},
		{"never", probe(0), 0, 0,
			"asking for target_session_attrs=read-write through every node's :5000 got no such session in 7 attempts (last: session is read-only)",
			"no session through :5000 in 7 attempts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := crashHistory(16000) // recovered at 24 s
			h.Libpq = []LibpqProbe{tt.probe}
			r := Check(h, limits)
			if len(r.Libpq) != 1 || r.Libpq[0].Took.D() != tt.took || r.Libpq[0].AfterRecovery.D() != tt.after {
				t.Fatalf("Libpq = %+v, want took %s, %s after the recovery", r.Libpq, tt.took, tt.after)
			}
			v := strings.Join(r.Violations(), "\n")
			if tt.violation == "" && v != "" || !strings.Contains(v, tt.violation) {
				t.Errorf("violations:\n%s\nwant %q", v, tt.violation)
			}
			var buf strings.Builder
			if err := r.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tt.reportContent) {
				t.Errorf("report lacks %q:\n%s", tt.reportContent, buf.String())
			}
		})
	}
}

// TestCheckRestore: a restore to T keeps every write acknowledged by T, takes away those
// acknowledged after it (more than RestoreSlack after it, without exception), and keeps
// every write the restored cluster (a newer timeline) acknowledged.
func TestCheckRestore(t *testing.T) {
	writes := []Write{
		ack(1, 0, 100, "node0", 1),
		ack(2, 900, 1000, "node0", 1),  // acknowledged at T
		ack(3, 1100, 1200, "node0", 1), // within the slack: either way
		ack(4, 2500, 2600, "node0", 1), // after T+1s: must be gone
		failed(5, 3000, 3100, "relation does not exist"),
		ack(6, 9000, 9100, "node0", 3), // the restored cluster
	}
	h := History{Scenario: "restore", FaultAt: at(3000), HealAt: at(4000), RecoveredAt: at(8000),
		RestoreTarget: at(1000), Writes: writes, Samples: append(samples(0, 3000, "node0", 1), samples(8000, 9400, "node0", 3)...)}

	h.FinalIDs = []int64{1, 2, 6}
	r := Check(h, Limits{AllowFailover: true})
	if r.Writes.Lost != 0 || r.Writes.Discarded != 2 || len(r.Writes.Resurrected) != 0 || len(r.Violations()) != 0 {
		t.Errorf("a restore that stopped at the target: lost %d, discarded %d, resurrected %v, violations %v",
			r.Writes.Lost, r.Writes.Discarded, r.Writes.Resurrected, r.Violations())
	}

	// Write 4 survived: the restore went past the target.
	h.FinalIDs = []int64{1, 2, 3, 4, 6}
	r = Check(h, Limits{AllowFailover: true})
	if ids := refIDs(r.Writes.Resurrected); !slices.Equal(ids, []int64{4}) || !strings.Contains(strings.Join(r.Violations(), " "), "did not stop at the target") {
		t.Errorf("resurrected %v, violations %v", ids, r.Violations())
	}

	// Write 2 (by the target) and write 6 (after the restore) missing are lost.
	h.FinalIDs = []int64{1}
	r = Check(h, Limits{AllowFailover: true})
	if ids := refIDs(r.Writes.LostWrites); !slices.Equal(ids, []int64{2, 6}) {
		t.Errorf("lost %v, want [2 6]", ids)
	}
}
