package drill

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Violations lists every broken invariant, one sentence each, in a fixed order:
// input errors, nothing acknowledged, lost writes, split-brain writes, unexpected ids,
// writes not resumed after the fault, outages and recovery over their limits, and a
// failover the scenario does not allow. Nil when the report is OK. It is computed from
// the report's fields, so a report read back from JSON judges the same.
func (r Report) Violations() []string {
	var v []string
	for _, e := range r.InputErrors {
		v = append(v, "Checker input error: "+e+".")
	}
	w := r.Writes
	if w.Attempted > 0 && w.Acked == 0 {
		v = append(v, fmt.Sprintf("None of the %d writes was acknowledged, so there was nothing to check.", w.Attempted))
	}
	if w.Lost > 0 {
		v = append(v, fmt.Sprintf("%d acknowledged %s lost (absent from the final primary): %s.",
			w.Lost, plural(w.Lost, "write was", "writes were"), refList(w.LostWrites, false)))
	}
	if n := len(w.Resurrected); n > 0 {
		v = append(v, fmt.Sprintf("%d %s acknowledged more than %s after the restore's target %s still there: the restore did not stop at the target: %s.",
			n, plural(n, "write", "writes"), RestoreSlack, plural(n, "is", "are"), refList(w.Resurrected, false)))
	}
	if w.SplitBrain > 0 {
		v = append(v, fmt.Sprintf("%d acknowledged %s split-brain (acknowledged by a server without the leader lock or on an older timeline): %s.",
			w.SplitBrain, plural(w.SplitBrain, "write was", "writes were"), refList(w.SplitBrainWrites, true)))
	}
	if n := len(w.Unexpected); n > 0 {
		v = append(v, fmt.Sprintf("%d %s on the final primary %s never written: %s.",
			n, plural(n, "id", "ids"), plural(n, "was", "were"), idList(w.Unexpected, 10)))
	}
	if g := w.FaultOutage; g != nil && !g.Closed && w.Acked > 0 {
		v = append(v, fmt.Sprintf("Writes did not resume after the fault: no acknowledgement from %s to the end of the history at %s.",
			clock(g.From), clock(g.To)))
	}
	if m := r.Limits.MaxOutage; m > 0 && w.Outage.Length.D() > m {
		v = append(v, fmt.Sprintf("The longest write outage, %s (%s), exceeds the limit of %s.",
			w.Outage.Length, span(w.Outage), m))
	}
	if m := r.Limits.MaxReadOutage; m > 0 && r.Reads.Outage.Length.D() > m {
		v = append(v, fmt.Sprintf("The longest read outage, %s (%s), exceeds the limit of %s.",
			r.Reads.Outage.Length, span(r.Reads.Outage), m))
	}
	rc := r.Recovery
	switch {
	case rc.From != "" && !rc.Recovered:
		v = append(v, fmt.Sprintf("The cluster never became healthy again after the %s at %s (no time with all members healthy and zero lag).",
			rc.From, clock(rc.base())))
	case rc.From != "" && r.Limits.MaxRecovery > 0 && rc.Duration.D() > r.Limits.MaxRecovery:
		v = append(v, fmt.Sprintf("The cluster took %s after the %s to become healthy, more than the limit of %s.",
			rc.Duration, rc.From, r.Limits.MaxRecovery))
	}
	for _, d := range r.Leadership.Diverged {
		v = append(v, fmt.Sprintf("At %s the leader lock went to %s on timeline %d although %s had reached timeline %d: "+
			"a promoted member lost the lock to one that was not promoted, so the histories diverged and "+
			"what the newer timeline acknowledged is rewound away.",
			clock(d.At), d.Leader, d.LeaderTimeline, d.Member, d.MemberTimeline))
	}
	for _, l := range r.Libpq {
		switch {
		case !l.Connected:
			v = append(v, fmt.Sprintf("A libpq client asking for target_session_attrs=%s through every node's :%d got no such session in %d %s (last: %s).",
				l.Attrs, l.Port, l.Attempts, plural(l.Attempts, "attempt", "attempts"), cmp.Or(l.LastErr, "no error")))
		case r.Limits.MaxLibpqDelay > 0 && l.AfterRecovery.D() > r.Limits.MaxLibpqDelay:
			v = append(v, fmt.Sprintf("A libpq client asking for target_session_attrs=%s through every node's :%d got it %s after the cluster recovered, more than the limit of %s.",
				l.Attrs, l.Port, l.AfterRecovery, r.Limits.MaxLibpqDelay))
		}
	}
	if l := r.Leadership; !r.Limits.AllowFailover && l.Failovers > 0 {
		v = append(v, fmt.Sprintf("%d %s happened (leader %s) although the scenario allows none.",
			l.Failovers, plural(l.Failovers, "failover", "failovers"), strings.Join(l.Leaders, " → ")))
	}
	return v
}

// OK reports whether there is no violation.
func (r Report) OK() bool { return len(r.Violations()) == 0 }

func (rc Recovery) base() time.Time {
	if rc.From == "heal" {
		return rc.HealAt
	}
	return rc.FaultAt
}

// MarshalJSON adds the verdict ("ok") and "violations" to the report's fields.
func (r Report) MarshalJSON() ([]byte, error) {
	type fields Report // no methods: no recursion
	return json.Marshal(struct {
		OK         bool     `json:"ok"`
		Violations []string `json:"violations"`
		fields
	}{r.OK(), nonNil(r.Violations()), fields(r)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("drill: encode report %q: %w", r.Scenario, err)
	}
	return nil
}

// WriteText writes the report as a table for people: the verdict, the figures, the
// role-change timeline (times also relative to the fault, when there is one), then
// violations and warnings.
func (r Report) WriteText(out io.Writer) error {
	ew := &errWriter{w: out}
	viol := r.Violations()
	verdict := "OK"
	if len(viol) > 0 {
		verdict = fmt.Sprintf("FAIL (%d %s)", len(viol), plural(len(viol), "violation", "violations"))
	}
	fmt.Fprintf(ew, "drill %s: %s\n\n", cmp.Or(r.Scenario, "(unnamed)"), verdict)

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	w := r.Writes
	row := func(k, f string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(f, a...)) }
	row("writes", "%d attempted, %d acked, %d failed, %d unknown (%d of them landed)",
		w.Attempted, w.Acked, w.Failed, w.Unknown, w.UnknownLanded)
	row("lost", "%d%s", w.Lost, idSuffix(w.LostWrites))
	row("split-brain", "%d%s (ambiguous %d, unchecked %d)", w.SplitBrain, idSuffix(w.SplitBrainWrites), w.Ambiguous, w.Unchecked)
	if len(w.Unexpected) > 0 {
		row("unexpected ids", "%d: %s", len(w.Unexpected), idList(w.Unexpected, 10))
	}
	row("write outage", "%s%s", gapText(w.Outage), limitText(r.Limits.MaxOutage))
	if g := w.FaultOutage; g != nil {
		row("  around fault", "%s", gapText(*g))
		if w.ResumedAfterFault > 0 {
			row("  resumed", "%s after the fault", w.ResumedAfterFault)
		}
	}
	for i, e := range topErrors(w.Errors) {
		row(cond(i == 0, "write errors", ""), "%s", e)
	}
	rd := r.Reads
	row("reads", "%d attempted, %d failed; longest outage %s%s", rd.Attempted, rd.Failed, gapText(rd.Outage),
		limitText(r.Limits.MaxReadOutage))
	for i, e := range topErrors(rd.Errors) {
		row(cond(i == 0, "read errors", ""), "%s", e)
	}
	rc := r.Recovery
	switch {
	case rc.From == "":
		row("recovery", "no fault")
	case !rc.Recovered:
		row("recovery", "never")
	default:
		row("recovery", "%s after the %s%s", rc.Duration, rc.From, limitText(r.Limits.MaxRecovery))
	}
	l := r.Leadership
	row("failovers", "%d (%s)%s", l.Failovers, cmp.Or(strings.Join(l.Leaders, " → "), "no leader seen"),
		cond(r.Limits.AllowFailover, "", "  (none allowed)"))
	row("lock", "lost %d %s; longest without holder %s", l.LockLosses, plural(l.LockLosses, "time", "times"),
		gapText(l.Leaderless))
	row("samples", "%d used, %d failed", l.Samples, l.FailedSamples)
	for _, p := range r.Libpq {
		row("libpq "+p.Attrs, "%s", libpqText(p, r.Limits.MaxLibpqDelay))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(l.Changes) > 0 {
		fmt.Fprintf(ew, "\ntimeline\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, c := range l.Changes {
			who := c.Member
			if c.Kind == ChangeLeader {
				who = "(lock)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s → %s\n", clock(c.At), relative(c.At, rc.FaultAt), who, c.Kind,
				cmp.Or(c.From, "-"), cmp.Or(c.To, "-"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, sec := range []struct {
		title string
		lines []string
	}{{"violations", viol}, {"warnings", r.Warnings}} {
		if len(sec.lines) == 0 {
			continue
		}
		fmt.Fprintf(ew, "\n%s\n", sec.title)
		for _, s := range sec.lines {
			fmt.Fprintf(ew, "  - %s\n", s)
		}
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// libpqText says how a libpq probe fared, for the report.
func libpqText(p Libpq, limit time.Duration) string {
	if !p.Connected {
		return fmt.Sprintf("no session through :%d in %d %s (last: %s)", p.Port, p.Attempts,
			plural(p.Attempts, "attempt", "attempts"), cmp.Or(p.LastErr, "no error"))
	}
	when := "before the recovery"
	if p.AfterRecovery > 0 {
		when = p.AfterRecovery.String() + " after the recovery" + limitText(limit)
	}
	return fmt.Sprintf("%s through :%d in %s (%d %s), %s", p.Server, p.Port, p.Took,
		p.Attempts, plural(p.Attempts, "attempt", "attempts"), when)
}

func topErrors(ec []ErrorCount) []string {
	var out []string
	for i, e := range ec {
		if i == 5 {
			out = append(out, fmt.Sprintf("... %d more kinds", len(ec)-5))
			break
		}
		out = append(out, fmt.Sprintf("%d× %s", e.Count, cmp.Or(e.Err, "(no error text)")))
	}
	return out
}

func gapText(g Gap) string {
	if g.From.IsZero() && g.To.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", g.Length, span(g))
}

func span(g Gap) string {
	s := clock(g.From) + " → " + clock(g.To)
	if !g.Closed {
		s += ", still open at the end"
	}
	return s
}

func limitText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("  (limit %s)", d)
}

func idSuffix(refs []WriteRef) string {
	if len(refs) == 0 {
		return ""
	}
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return ": ids " + idList(ids, 10)
}

// refList names up to 10 writes; with why, each with its server and reason.
func refList(refs []WriteRef, why bool) string {
	var parts []string
	for i, r := range refs {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(refs)-10))
			break
		}
		p := fmt.Sprintf("id %d", r.ID)
		if why && r.Reason != "" {
			p += " (" + r.Reason + ")"
		} else if r.Server != "" {
			p += " (acknowledged by " + r.Server + " at " + clock(r.End) + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000")
}

func relative(t, fault time.Time) string {
	if fault.IsZero() {
		return ""
	}
	d := t.Sub(fault).Round(time.Millisecond)
	if d >= 0 {
		return "F+" + d.String()
	}
	return "F-" + (-d).String()
}

func cond(c bool, yes, no string) string {
	if c {
		return yes
	}
	return no
}
