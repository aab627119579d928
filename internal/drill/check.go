package drill

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits are the thresholds a scenario must meet besides the absolute invariants
// (no acknowledged write lost, no split-brain write). A zero duration means "no limit".
type Limits struct {
	MaxOutage     time.Duration // longest gap between acknowledged writes (Report.Writes.Outage)
	MaxReadOutage time.Duration // longest gap between successful reads
	MaxRecovery   time.Duration // heal (or fault) to all members healthy with zero lag
	// MaxLibpqDelay: a libpq client must get the session it asks for at most this long after
	// the cluster recovered (one that never does is a violation whatever the limits).
	MaxLibpqDelay time.Duration
	AllowFailover bool // false: any change of the leader lock holder is a violation
	// SampleSlack widens each write's interval by this much on both sides before the
	// leader samples that bracket it are chosen. Use the monitor's round trip if At
	// is not when the answer arrived, or clocks are not the same.
	SampleSlack time.Duration
}

type limitsJSON struct {
	MaxOutage     Millis `json:"max_outage_ms"`
	MaxReadOutage Millis `json:"max_read_outage_ms"`
	MaxRecovery   Millis `json:"max_recovery_ms"`
	MaxLibpqDelay Millis `json:"max_libpq_delay_ms,omitempty"`
	AllowFailover bool   `json:"allow_failover"`
	SampleSlack   Millis `json:"sample_slack_ms"`
}

// MarshalJSON encodes the durations in milliseconds.
func (l Limits) MarshalJSON() ([]byte, error) {
	return json.Marshal(limitsJSON{Millis(l.MaxOutage), Millis(l.MaxReadOutage), Millis(l.MaxRecovery),
		Millis(l.MaxLibpqDelay), l.AllowFailover, Millis(l.SampleSlack)})
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (l *Limits) UnmarshalJSON(b []byte) error {
	var v limitsJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Limits{MaxOutage: v.MaxOutage.D(), MaxReadOutage: v.MaxReadOutage.D(), MaxRecovery: v.MaxRecovery.D(),
		MaxLibpqDelay: v.MaxLibpqDelay.D(), AllowFailover: v.AllowFailover, SampleSlack: v.SampleSlack.D()}
	return nil
}

// Report is what Check found. Violations and OK judge it; the fields hold the
// evidence. Lists of ids and of writes are in ascending id order.
type Report struct {
	Scenario string `json:"scenario"`
	Limits   Limits `json:"limits"`
	// InputErrors are problems of the history itself (duplicate ids, writes that end
	// before they start, a missing final read): the checks could not be trusted.
	InputErrors []string   `json:"input_errors,omitempty"`
	Warnings    []string   `json:"warnings,omitempty"` // worth reading, not violations
	Writes      WriteStats `json:"writes"`
	Reads       ReadStats  `json:"reads"`
	Recovery    Recovery   `json:"recovery"`
	Leadership  Leadership `json:"leadership"`
	Libpq       []Libpq    `json:"libpq,omitempty"`
}

// Libpq is how one LibpqProbe fared.
type Libpq struct {
	Attrs     string `json:"target_session_attrs"`
	Port      int    `json:"port"`
	Connected bool   `json:"connected"`
	Server    string `json:"server,omitempty"`
	// Took is from the probe's start (the new leader first seen, else the recovery) to its
	// session; AfterRecovery is how much of that came after the recovery.
	Took          Millis `json:"took_ms"`
	AfterRecovery Millis `json:"after_recovery_ms"`
	Attempts      int    `json:"attempts"`
	LastErr       string `json:"last_err,omitempty"`
}

// WriteStats are the checks of the writes.
type WriteStats struct {
	Attempted     int     `json:"attempted"`
	Acked         int     `json:"acked"`
	Failed        int     `json:"failed"`
	Unknown       int     `json:"unknown"`
	UnknownLanded int     `json:"unknown_landed"`          // Unknown writes present at the end (fine either way)
	FailedLanded  []int64 `json:"failed_landed,omitempty"` // Failed writes present at the end: misclassified by the writer

	// Lost: acknowledged writes absent from the final primary.
	Lost       int        `json:"lost"`
	LostWrites []WriteRef `json:"lost_writes,omitempty"`
	// SplitBrain: acknowledged writes whose server did not hold the leader lock
	// for the whole of the write, or was on an older timeline than the leader.
	SplitBrain       int        `json:"split_brain"`
	SplitBrainWrites []WriteRef `json:"split_brain_writes,omitempty"`
	// Ambiguous: acknowledged writes during which the samples show the lock changing
	// hands: the server may have held it. Not violations.
	Ambiguous       int        `json:"ambiguous"`
	AmbiguousWrites []WriteRef `json:"ambiguous_writes,omitempty"`
	// Unchecked: acknowledged writes with no usable sample before their start or
	// after their end, so that nothing can be said about the lock.
	Unchecked int `json:"unchecked"`
	// Discarded: acknowledged writes after a restore's target (History.RestoreTarget) that
	// the restore took away, as point-in-time recovery means to. Not lost.
	Discarded int `json:"discarded,omitempty"`
	// Resurrected: writes acknowledged more than RestoreSlack after the target, before the
	// restore, that are on the final primary all the same: the restore did not stop at
	// the target.
	Resurrected []WriteRef `json:"resurrected,omitempty"`
	// Unexpected: ids on the final primary that no write attempted.
	Unexpected []int64 `json:"unexpected,omitempty"`

	// Outage is the longest gap between consecutive acknowledgements (by End) that
	// ends after FaultAt (all gaps when there is no fault). The first gap runs from
	// the first attempt, the last one to the end of the last attempt (not Closed).
	Outage Gap `json:"outage"`
	// ResumedAfterFault is Outage.To - FaultAt: how long after the fault writes
	// worked again (zero without a fault, or when Outage is not closed).
	ResumedAfterFault Millis `json:"resumed_after_fault_ms"`
	// FaultOutage is the gap that contains FaultAt: from the last acknowledgement at
	// or before it to the first one after it. Nil without a fault. It is short when
	// the fault does not stop writes at once (a frozen Patroni leaves PostgreSQL
	// serving until it is demoted); Outage is the headline figure.
	FaultOutage *Gap         `json:"fault_outage,omitempty"`
	Errors      []ErrorCount `json:"errors,omitempty"` // Failed and Unknown writes by error text
}

// ReadStats are the checks of the reads.
type ReadStats struct {
	Attempted int          `json:"attempted"`
	Failed    int          `json:"failed"`
	Outage    Gap          `json:"outage"` // as WriteStats.Outage, over successful reads
	Errors    []ErrorCount `json:"errors,omitempty"`
}

// Gap is a time interval without a success. Closed is false when the history ended
// inside it (To is then the end of the last attempt).
type Gap struct {
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	Length Millis    `json:"length_ms"`
	Closed bool      `json:"closed"`
}

// ErrorCount is how many attempts failed with one error text.
type ErrorCount struct {
	Err   string `json:"err"`
	Count int    `json:"count"`
}

// WriteRef is one write the report points at.
type WriteRef struct {
	ID       int64     `json:"id"`
	Node     string    `json:"node"`
	Server   string    `json:"server,omitempty"`
	Timeline int       `json:"timeline,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Present  bool      `json:"present"` // the id is on the final primary
	// Leaders are the lock holders named by the samples that bracket the write, in
	// order, repeats collapsed; "" is no holder. Split-brain and ambiguous writes only.
	Leaders []string `json:"leaders,omitempty"`
	Reason  string   `json:"reason,omitempty"`
}

// Recovery is how long the cluster took to become healthy again.
type Recovery struct {
	FaultAt     time.Time `json:"fault_at,omitzero"`
	HealAt      time.Time `json:"heal_at,omitzero"`
	RecoveredAt time.Time `json:"recovered_at,omitzero"`
	// From is "heal" or "fault": what Duration is measured from; "" without a fault.
	From      string `json:"from,omitempty"`
	Recovered bool   `json:"recovered"`
	// Duration is RecoveredAt minus HealAt (or FaultAt without a heal), zero when
	// the cluster was already healthy by then.
	Duration Millis `json:"duration_ms"`
}

// ChangeKind names what a Change changed.
type ChangeKind string

// The kinds of Change, in the order they are listed for one sample.
const (
	ChangeLeader   ChangeKind = "leader"   // the leader lock holder
	ChangeRole     ChangeKind = "role"     // a member's role; "" is absent from the sample
	ChangeState    ChangeKind = "state"    // a member's state (present before and after)
	ChangeTimeline ChangeKind = "timeline" // a member's timeline (present before and after)
)

// Change is one difference between consecutive usable samples, dated by the later.
type Change struct {
	At     time.Time  `json:"at"`
	Member string     `json:"member,omitempty"` // "" for the leader lock
	Kind   ChangeKind `json:"kind"`
	From   string     `json:"from"`
	To     string     `json:"to"`
}

// Leadership is what the samples show of the leader lock.
type Leadership struct {
	Samples       int `json:"samples"`        // usable samples
	FailedSamples int `json:"failed_samples"` // samples with Err, skipped
	// Leaders are the successive lock holders, periods without one dropped and
	// repeats collapsed: A, none, B gives [A B].
	Leaders []string `json:"leaders,omitempty"`
	// Failovers is len(Leaders)-1: how often the lock went to another member.
	Failovers int `json:"failovers"`
	// LockLosses counts how often a held lock was seen released (holder to none).
	LockLosses int `json:"lock_losses"`
	// Leaderless is the longest run of samples without a holder: from the first such
	// sample to the next sample with one (a lower bound of the real period).
	Leaderless Gap      `json:"leaderless"`
	Changes    []Change `json:"changes,omitempty"`
	// Diverged lists the times the lock went to a member on an older timeline than
	// one a member had reached before: a member was promoted, and the lock then went
	// (back) to one that was not. The histories diverged; what the newer timeline
	// acknowledged is rewound away. Always a violation.
	Diverged []Divergence `json:"diverged,omitempty"`
}

// Divergence is a lock holder behind another member's timeline.
type Divergence struct {
	At             time.Time `json:"at"`
	Leader         string    `json:"leader"`
	LeaderTimeline int       `json:"leader_timeline"`
	Member         string    `json:"member"`
	MemberTimeline int       `json:"member_timeline"`
}

// Check judges a drill's history. It never fails: problems of the history itself are
// reported as InputErrors, which make the report not OK. The history is not modified.
//
// The rules, after Jepsen's set checker and Patroni's guarantees:
//   - lost: an Acked write whose id is not in FinalIDs;
//   - split-brain: an Acked write such that every usable sample from the last one at
//     or before Start to the first one at or after End (the interval widened by
//     limits.SampleSlack) names another lock holder or none; or such that in all of
//     them the holder's timeline is known and newer than the write's. When some of
//     those samples name the server and some do not, the write is ambiguous;
//   - Unknown writes are correct whether or not they landed;
//   - failovers: changes of the lock holder, periods without one not counted.
func Check(h History, limits Limits) Report {
	r := Report{Scenario: h.Scenario, Limits: limits}
	in := inputChecker{}
	attempted, final := in.history(h)

	samples := make([]LeaderSample, 0, len(h.Samples))
	for _, s := range h.Samples {
		if s.Err != "" {
			r.Leadership.FailedSamples++
			continue
		}
		samples = append(samples, s)
	}
	slices.SortStableFunc(samples, func(a, b LeaderSample) int { return a.At.Compare(b.At) })

	r.Writes = checkWrites(h, samples, attempted, final, limits.SampleSlack)
	if r.Writes.Acked > 0 && len(samples) == 0 {
		in.add("no usable leader sample: split-brain cannot be checked")
	}
	r.Reads = checkReads(h)
	r.Recovery = recovery(h)
	r.Leadership = leadership(samples, r.Leadership.FailedSamples)
	r.Libpq = checkLibpq(h)
	r.InputErrors = in.errors()

	if n := r.Writes.Unchecked; n > 0 && len(samples) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d acknowledged %s no leader sample before the start or after the end and %s not checked for split-brain; start the monitor before the writers and stop it after them.",
			n, plural(n, "write has", "writes have"), plural(n, "was", "were")))
	}
	if n := len(r.Writes.FailedLanded); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d %s recorded as failed %s present on the final primary (%s): the writer called an indeterminate error a failure; record such errors as unknown.",
			n, plural(n, "write", "writes"), plural(n, "is", "are"), idList(r.Writes.FailedLanded, 10)))
	}
	if n := r.Leadership.FailedSamples; n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d leader %s could not be taken and %s skipped.",
			n, plural(n, "sample", "samples"), plural(n, "was", "were")))
	}
	return r
}

// RestoreSlack: a write acknowledged within this long after a restore's target may have
// committed before it (its commit record is what recovery stops at).
const RestoreSlack = time.Second

// restoredTimeline is, for a restore drill, the newest timeline that acknowledged a write
// before the restore began (HealAt): writes on it or older come from the cluster the
// restore replaced. 0 without a restore.
func restoredTimeline(h History) int {
	if h.RestoreTarget.IsZero() {
		return 0
	}
	tl := 1
	for _, w := range h.Writes {
		if w.Outcome == Acked && w.End.Before(h.HealAt) {
			tl = max(tl, w.Timeline)
		}
	}
	return tl
}

// checkWrites: attempted maps each written id to its first write, final holds FinalIDs.
func checkWrites(h History, samples []LeaderSample, attempted map[int64]int, final map[int64]bool,
	slack time.Duration) WriteStats {
	var ws WriteStats
	var acks []time.Time
	var first, last time.Time
	errs := map[string]int{}
	for i, w := range h.Writes {
		ws.Attempted++
		if i == 0 || w.Start.Before(first) {
			first = w.Start
		}
		if i == 0 || w.End.After(last) {
			last = w.End
		}
		switch w.Outcome {
		case Acked:
			ws.Acked++
			acks = append(acks, w.End)
		case Failed:
			ws.Failed++
			errs[w.Err]++
			if final[w.ID] {
				ws.FailedLanded = append(ws.FailedLanded, w.ID)
			}
		case Unknown:
			ws.Unknown++
			errs[w.Err]++
			if final[w.ID] {
				ws.UnknownLanded++
			}
		}
	}
	ws.Errors = errorCounts(errs)
	slices.Sort(ws.FailedLanded)

	restored := restoredTimeline(h)
	for _, w := range h.Writes {
		if w.Outcome != Acked {
			continue
		}
		ref := WriteRef{ID: w.ID, Node: w.Node, Server: w.Server, Timeline: w.Timeline,
			Start: w.Start, End: w.End, Present: final[w.ID]}
		switch {
		case restored > 0 && w.Timeline <= restored && w.End.After(h.RestoreTarget):
			// Acknowledged after the target by the cluster the restore replaced: gone, but
			// for the writes in flight at the target (commit time and acknowledgement differ).
			if !ref.Present {
				ws.Discarded++
			} else if w.Start.After(h.RestoreTarget.Add(RestoreSlack)) {
				ws.Resurrected = append(ws.Resurrected, ref)
			}
		case !ref.Present:
			ws.LostWrites = append(ws.LostWrites, ref)
		}
		if w.Server == "" {
			continue // an input error; nothing to compare with the lock
		}
		v, leaders, reason := classify(w, samples, slack)
		ref.Leaders, ref.Reason = leaders, reason
		switch v {
		case splitBrain:
			ws.SplitBrainWrites = append(ws.SplitBrainWrites, ref)
		case ambiguous:
			ws.AmbiguousWrites = append(ws.AmbiguousWrites, ref)
		case unchecked:
			ws.Unchecked++
		}
	}
	byID := func(a, b WriteRef) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortStableFunc(ws.LostWrites, byID)
	slices.SortStableFunc(ws.SplitBrainWrites, byID)
	slices.SortStableFunc(ws.AmbiguousWrites, byID)
	ws.Lost, ws.SplitBrain, ws.Ambiguous = len(ws.LostWrites), len(ws.SplitBrainWrites), len(ws.AmbiguousWrites)

	for _, id := range h.FinalIDs {
		if _, ok := attempted[id]; !ok {
			ws.Unexpected = append(ws.Unexpected, id)
		}
	}
	slices.Sort(ws.Unexpected)
	ws.Unexpected = slices.Compact(ws.Unexpected)

	slices.SortFunc(acks, time.Time.Compare)
	ws.Outage = longestGap(acks, first, last, h.FaultAt)
	if !h.FaultAt.IsZero() && len(h.Writes) > 0 {
		g := faultGap(acks, last, h.FaultAt)
		ws.FaultOutage = &g
		if ws.Outage.Closed && ws.Outage.To.After(h.FaultAt) {
			ws.ResumedAfterFault = Millis(ws.Outage.To.Sub(h.FaultAt))
		}
	}
	return ws
}

type lockVerdict int

const (
	consistent lockVerdict = iota
	splitBrain
	ambiguous
	unchecked
)

// classify compares an acknowledged write with the samples that bracket it: the last
// one at or before its (widened) start, those inside, and the first at or after its
// end. Between two samples the lock is assumed to have stayed where both put it;
// a change of holder is only known to lie somewhere between the samples showing it,
// hence "ambiguous" for writes whose bracket contains one.
func classify(w Write, samples []LeaderSample, slack time.Duration) (lockVerdict, []string, string) {
	start, end := w.Start.Add(-slack), w.End.Add(slack)
	i0 := sort.Search(len(samples), func(i int) bool { return samples[i].At.After(start) }) - 1
	i1 := sort.Search(len(samples), func(i int) bool { return !samples[i].At.Before(end) })
	if i0 < 0 || i1 == len(samples) {
		return unchecked, nil, ""
	}
	cover := samples[i0 : i1+1]
	holds := 0
	for _, s := range cover {
		if s.Leader == w.Server {
			holds++
		}
	}
	if holds == 0 {
		leaders := holders(cover)
		return splitBrain, leaders, fmt.Sprintf("acknowledged by %s while the leader lock was held by %s",
			w.Server, holderList(leaders))
	}
	if w.Timeline > 0 {
		newer, oldest := true, 0
		for _, s := range cover {
			tl := leaderTimeline(s)
			if tl <= w.Timeline {
				newer = false
				break
			}
			if oldest == 0 || tl < oldest {
				oldest = tl
			}
		}
		if newer {
			return splitBrain, holders(cover), fmt.Sprintf("acknowledged by %s on timeline %d while the leader was on timeline %d",
				w.Server, w.Timeline, oldest)
		}
	}
	if holds < len(cover) {
		leaders := holders(cover)
		return ambiguous, leaders, fmt.Sprintf("the leader lock changed hands during the write (%s)", holderList(leaders))
	}
	return consistent, nil, ""
}

// holders lists the lock holders the samples name, in order, repeats collapsed.
func holders(cover []LeaderSample) []string {
	var out []string
	for j, s := range cover {
		if j == 0 || s.Leader != cover[j-1].Leader {
			out = append(out, s.Leader)
		}
	}
	return out
}

// leaderTimeline is the lock holder's timeline in s, 0 when unknown.
func leaderTimeline(s LeaderSample) int {
	if s.Leader == "" {
		return 0
	}
	for _, m := range s.Members {
		if m.Name == s.Leader {
			return m.Timeline
		}
	}
	return 0
}

func holderList(leaders []string) string {
	names := make([]string, len(leaders))
	for i, l := range leaders {
		names[i] = cmp.Or(l, "nobody")
	}
	return strings.Join(names, ", then ")
}

// longestGap returns the longest interval without a success among: first attempt to
// first success, between consecutive successes, last success to the end of the last
// attempt (not closed). Only gaps ending after `after` count, unless it is zero. The
// earliest of equally long gaps wins.
func longestGap(oks []time.Time, first, last, after time.Time) Gap {
	if first.IsZero() && last.IsZero() {
		return Gap{}
	}
	if len(oks) == 0 {
		return mkGap(first, last, false)
	}
	var best Gap
	found := false
	consider := func(g Gap) {
		if !after.IsZero() && !g.To.After(after) {
			return
		}
		if !found || g.Length > best.Length {
			best, found = g, true
		}
	}
	if oks[0].After(first) {
		consider(mkGap(first, oks[0], true))
	}
	for i := 1; i < len(oks); i++ {
		consider(mkGap(oks[i-1], oks[i], true))
	}
	if last.After(oks[len(oks)-1]) {
		consider(mkGap(oks[len(oks)-1], last, false))
	}
	return best
}

// faultGap is the gap that contains at: last success at or before it (or at itself
// when there was none) to the first success after it (or the end of the history).
func faultGap(oks []time.Time, last, at time.Time) Gap {
	i := sort.Search(len(oks), func(i int) bool { return oks[i].After(at) })
	from := at
	if i > 0 {
		from = oks[i-1]
	}
	if i < len(oks) {
		return mkGap(from, oks[i], true)
	}
	if last.Before(from) {
		last = from
	}
	return mkGap(from, last, false)
}

func mkGap(from, to time.Time, closed bool) Gap {
	return Gap{From: from, To: to, Length: Millis(to.Sub(from)), Closed: closed}
}

func checkReads(h History) ReadStats {
	var rs ReadStats
	var oks []time.Time
	var first, last time.Time
	errs := map[string]int{}
	for i, rd := range h.Reads {
		rs.Attempted++
		if i == 0 || rd.Start.Before(first) {
			first = rd.Start
		}
		if i == 0 || rd.End.After(last) {
			last = rd.End
		}
		if rd.OK {
			oks = append(oks, rd.End)
		} else {
			rs.Failed++
			errs[rd.Err]++
		}
	}
	slices.SortFunc(oks, time.Time.Compare)
	rs.Outage = longestGap(oks, first, last, h.FaultAt)
	rs.Errors = errorCounts(errs)
	return rs
}

// errorCounts sorts by count, then text; the map is only read, never ranged into output
// in its own order.
func errorCounts(m map[string]int) []ErrorCount {
	out := make([]ErrorCount, 0, len(m))
	for e, n := range m {
		out = append(out, ErrorCount{Err: e, Count: n})
	}
	slices.SortFunc(out, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Err, b.Err))
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

func recovery(h History) Recovery {
	rc := Recovery{FaultAt: h.FaultAt, HealAt: h.HealAt, RecoveredAt: h.RecoveredAt,
		Recovered: !h.RecoveredAt.IsZero()}
	base := h.HealAt
	rc.From = "heal"
	if base.IsZero() {
		base, rc.From = h.FaultAt, "fault"
	}
	if base.IsZero() {
		rc.From = ""
		return rc
	}
	if rc.Recovered && h.RecoveredAt.After(base) {
		rc.Duration = Millis(h.RecoveredAt.Sub(base))
	}
	return rc
}

func checkLibpq(h History) []Libpq {
	var out []Libpq
	for _, p := range h.Libpq {
		l := Libpq{Attrs: p.Attrs, Port: p.Port, Connected: !p.Connected.IsZero(), Server: p.Server,
			Attempts: p.Attempts, LastErr: p.LastErr}
		if l.Connected {
			l.Took = Millis(p.Connected.Sub(p.From))
			if !h.RecoveredAt.IsZero() && p.Connected.After(h.RecoveredAt) {
				l.AfterRecovery = Millis(p.Connected.Sub(h.RecoveredAt))
			}
		}
		out = append(out, l)
	}
	return out
}

func leadership(samples []LeaderSample, failed int) Leadership {
	l := Leadership{Samples: len(samples), FailedSamples: failed}
	var leaderlessFrom time.Time
	inGap := false
	for i, s := range samples {
		if s.Leader != "" && (len(l.Leaders) == 0 || l.Leaders[len(l.Leaders)-1] != s.Leader) {
			l.Leaders = append(l.Leaders, s.Leader)
		}
		switch {
		case s.Leader == "" && !inGap:
			inGap, leaderlessFrom = true, s.At
			if i > 0 {
				l.LockLosses++
			}
		case s.Leader != "" && inGap:
			inGap = false
			if g := mkGap(leaderlessFrom, s.At, true); g.Length > l.Leaderless.Length || l.Leaderless.To.IsZero() {
				l.Leaderless = g
			}
		}
		if i > 0 {
			l.Changes = append(l.Changes, diff(samples[i-1], s)...)
		}
	}
	if inGap && len(samples) > 0 {
		if g := mkGap(leaderlessFrom, samples[len(samples)-1].At, false); g.Length > l.Leaderless.Length || l.Leaderless.To.IsZero() {
			l.Leaderless = g
		}
	}
	if len(l.Leaders) > 1 {
		l.Failovers = len(l.Leaders) - 1
	}
	l.Diverged = divergences(samples)
	return l
}

// divergenceHold is how long a holder must stay behind another member's timeline,
// without the lock changing hands, to count as diverged: a holder's own timeline shows
// its promotion a moment after its replicas follow it (over 2 s in the DCS's view).
const divergenceHold = 3 * time.Second

// divergences lists the times a promoted member lost the lock to one that was not
// promoted: the lock went to a member on an older timeline than another member had
// reached (in that sample or before), or the holder stayed behind another member's
// timeline for divergenceHold.
func divergences(samples []LeaderSample) []Divergence {
	var out []Divergence
	maxTL, maxMember, holder := 0, "", ""
	var behindSince time.Time
	pending, reported := false, false
	for _, s := range samples {
		if s.Err != "" {
			continue
		}
		lt := leaderTimeline(s)
		ahead, aheadTL := "", 0
		for _, m := range s.Members {
			if m.Name != s.Leader && m.Timeline > aheadTL {
				ahead, aheadTL = m.Name, m.Timeline
			}
			if m.Name != s.Leader && m.Timeline > maxTL {
				maxTL, maxMember = m.Timeline, m.Name
			}
		}
		if s.Leader != "" && s.Leader != holder {
			// The new holder is judged in the first sample that shows its timeline: a
			// member whose key had expired is listed again only a moment later.
			holder, pending, reported, behindSince = s.Leader, true, false, time.Time{}
		}
		if pending && lt > 0 {
			pending = false
			if lt < maxTL {
				out = append(out, Divergence{At: s.At, Leader: s.Leader, LeaderTimeline: lt, Member: maxMember, MemberTimeline: maxTL})
				reported = true
			}
		}
		switch {
		case s.Leader == "" || lt == 0 || aheadTL <= lt:
			behindSince = time.Time{}
		case behindSince.IsZero():
			behindSince = s.At
		case !reported && s.At.Sub(behindSince) >= divergenceHold:
			out = append(out, Divergence{At: behindSince, Leader: s.Leader, LeaderTimeline: lt, Member: ahead, MemberTimeline: aheadTL})
			reported = true
		}
		for _, m := range s.Members {
			if m.Timeline > maxTL {
				maxTL, maxMember = m.Timeline, m.Name
			}
		}
	}
	return out
}

// diff lists what changed from a to b: the lock first, then members by name.
func diff(a, b LeaderSample) []Change {
	var out []Change
	if a.Leader != b.Leader {
		out = append(out, Change{At: b.At, Kind: ChangeLeader, From: a.Leader, To: b.Leader})
	}
	before, after := memberIndex(a), memberIndex(b)
	var names []string
	for _, m := range a.Members {
		names = append(names, m.Name)
	}
	for _, m := range b.Members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		ma, inA := before[name]
		mb, inB := after[name]
		switch {
		case !inA || !inB:
			out = append(out, Change{At: b.At, Member: name, Kind: ChangeRole, From: ma.Role, To: mb.Role})
		default:
			if ma.Role != mb.Role {
				out = append(out, Change{At: b.At, Member: name, Kind: ChangeRole, From: ma.Role, To: mb.Role})
			}
			if ma.State != mb.State {
				out = append(out, Change{At: b.At, Member: name, Kind: ChangeState, From: ma.State, To: mb.State})
			}
			if ma.Timeline != mb.Timeline {
				out = append(out, Change{At: b.At, Member: name, Kind: ChangeTimeline,
					From: strconv.Itoa(ma.Timeline), To: strconv.Itoa(mb.Timeline)})
			}
		}
	}
	return out
}

func memberIndex(s LeaderSample) map[string]MemberSample {
	m := make(map[string]MemberSample, len(s.Members))
	for _, ms := range s.Members {
		m[ms.Name] = ms
	}
	return m
}

// inputChecker collects problems of the history, one sentence per kind of problem
// (a broken writer can produce thousands of the same), in a fixed order.
type inputChecker struct {
	kinds []string
	count map[string]int
	first map[string]string
}

func (c *inputChecker) add(msg string) { c.note(msg, nil) }

// note records one instance of a problem kind; example, called for the first
// instance only (formatting each of 100k writes would be slow), names it.
func (c *inputChecker) note(kind string, example func() string) {
	if c.count == nil {
		c.count, c.first = map[string]int{}, map[string]string{}
	}
	if c.count[kind] == 0 {
		c.kinds = append(c.kinds, kind)
		if example != nil {
			c.first[kind] = example()
		}
	}
	c.count[kind]++
}

func (c *inputChecker) errors() []string {
	var out []string
	for _, k := range c.kinds {
		msg := k
		if ex := c.first[k]; ex != "" {
			if n := c.count[k]; n > 1 {
				msg = fmt.Sprintf("%s (%d times; first: %s)", k, n, ex)
			} else {
				msg = fmt.Sprintf("%s (%s)", k, ex)
			}
		}
		out = append(out, msg)
	}
	return out
}

// history checks h and returns, for Check's use, each written id's first write and
// the set of final ids.
func (c *inputChecker) history(h History) (attempted map[int64]int, final map[int64]bool) {
	if len(h.Writes) == 0 {
		c.add("the history has no writes")
	}
	if h.FinalIDs == nil {
		c.add("the ids on the final primary were never read (FinalIDs is nil)")
	}
	if !h.HealAt.IsZero() && h.FaultAt.IsZero() {
		c.add("the history has a heal time but no fault time")
	}
	if !h.HealAt.IsZero() && !h.FaultAt.IsZero() && h.HealAt.Before(h.FaultAt) {
		c.add(fmt.Sprintf("the heal time %s is before the fault time %s", stamp(h.HealAt), stamp(h.FaultAt)))
	}

	seen := make(map[int64]int, len(h.Writes)) // id -> index of its first write
	var dups []string
	nDup := 0
	for i, w := range h.Writes {
		ex := func() string { return fmt.Sprintf("write #%d, id %d", i, w.ID) }
		if w.Start.IsZero() || w.End.IsZero() {
			c.note("a write has no start or end time", ex)
		} else if w.End.Before(w.Start) {
			c.note("a write ends before it starts", ex)
		}
		if w.Outcome < Acked || w.Outcome > Unknown {
			c.note("a write has no valid outcome", ex)
		}
		if w.Outcome == Acked && w.Server == "" {
			c.note("an acknowledged write does not name the server that acknowledged it", ex)
		}
		if j, ok := seen[w.ID]; ok {
			nDup++
			if len(dups) < 5 {
				dups = append(dups, fmt.Sprintf("id %d at writes #%d and #%d", w.ID, j, i))
			}
			continue
		}
		seen[w.ID] = i
	}
	if nDup > 0 {
		more := ""
		if nDup > len(dups) {
			more = fmt.Sprintf(" and %d more", nDup-len(dups))
		}
		c.add(fmt.Sprintf("write ids must be unique, but %d %s repeated: %s%s",
			nDup, plural(nDup, "write", "writes"), strings.Join(dups, "; "), more))
	}

	final = make(map[int64]bool, len(h.FinalIDs))
	for _, id := range h.FinalIDs {
		if final[id] {
			c.note("an id appears more than once in the final read", func() string { return fmt.Sprintf("id %d", id) })
		}
		final[id] = true
	}
	for i, rd := range h.Reads {
		ex := func() string { return fmt.Sprintf("read #%d", i) }
		if rd.Start.IsZero() || rd.End.IsZero() {
			c.note("a read has no start or end time", ex)
		} else if rd.End.Before(rd.Start) {
			c.note("a read ends before it starts", ex)
		}
	}
	for i, s := range h.Samples {
		if s.At.IsZero() {
			c.note("a leader sample has no time", func() string { return fmt.Sprintf("sample #%d", i) })
		}
	}
	return seen, final
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// idList formats up to max ids: "5, 9, 12 and 3 more".
func idList(ids []int64, max int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(ids)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

func stamp(t time.Time) string { return t.Format("2006-01-02 15:04:05.000Z07:00") }
