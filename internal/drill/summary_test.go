package drill

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// crashHistory is a leader crash at 5 s: one write every 50 ms from 0 to 30 s, each
// taking 5 ms. node0 leads on timeline 1 and acknowledges writes started before the
// fault; the four started in the next 200 ms hang for a second (unknown, the first
// one landed), then writes are refused until node1, promoted at promoteMs on timeline
// 2, takes them. The lock is seen released from promoteMs-1000 to promoteMs. Reads
// every 100 ms fail from 5 s to 8 s (30 of them). The crashed node is healed 4 s
// after the promotion and the cluster is healthy 4 s later.
//
// The longest write outage runs from the last acknowledgement by node0 (4955 ms) to
// the first by node1 (promoteMs+5): promoteMs-4950 ms.
func crashHistory(promoteMs int) History {
	h := History{
		Scenario:    "leader-crash",
		FaultAt:     at(5000),
		HealAt:      at(promoteMs + 4000),
		RecoveredAt: at(promoteMs + 8000),
		FinalIDs:    []int64{},
	}
	for i := range 600 {
		id, start := int64(i+1), i*50
		var w Write
		switch {
		case start < 5000:
			w = ack(id, start, start+5, "node0", 1)
		case start < 5200:
			w = unknown(id, start, start+1000)
		case start < promoteMs:
			w = failed(id, start, start+5, "connection refused")
		default:
			w = ack(id, start, start+5, "node1", 2)
		}
		h.Writes = append(h.Writes, w)
		if w.Outcome == Acked || id == 101 {
			h.FinalIDs = append(h.FinalIDs, id)
		}
	}
	for ms := 0; ms <= 30000; ms += 100 {
		rd := Read{Node: "node2", Start: at(ms), End: at(ms + 10), OK: true}
		if ms >= 5000 && ms < 8000 {
			rd.OK, rd.Err = false, "timeout"
		}
		h.Reads = append(h.Reads, rd)
	}
	h.Samples = samples(-200, promoteMs-1200, "node0", 1)
	h.Samples = append(h.Samples, samples(promoteMs-1000, promoteMs-200, "", 1)...)
	h.Samples = append(h.Samples, samples(promoteMs, 30200, "node1", 2)...)
	h.Libpq = []LibpqProbe{{Attrs: "read-write", Port: 5000, From: at(promoteMs), Connected: at(promoteMs + 1200), Server: "node1", Attempts: 4}}
	return h
}

// checked is a Run of h judged with limits.
func checked(rep int, h History, limits Limits) Run {
	return Run{Scenario: h.Scenario, Rep: rep, History: h, Report: Check(h, limits)}
}

// summaryRuns: three leader crashes with outages of 11.05 s, 9.05 s and 13.05 s (the
// second one loses the last write node0 acknowledged, id 100), and one clean run.
func summaryRuns() []Run {
	crash := Limits{MaxOutage: 15 * time.Second, AllowFailover: true}
	lossy := crashHistory(14000)
	lossy.FinalIDs = slices.DeleteFunc(lossy.FinalIDs, func(id int64) bool { return id == 100 })
	return []Run{
		checked(1, crashHistory(16000), crash),
		checked(2, lossy, crash),
		checked(3, crashHistory(18000), crash),
		checked(1, cleanHistory(), Limits{}),
	}
}

func TestWriteSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, summaryRuns()); err != nil {
		t.Fatal(err)
	}
	want := `SCENARIO      REP  WRITE OUTAGE  LOST  SPLIT-BRAIN  AMBIGUOUS  READ ERRORS  RECOVERY  FAILOVERS  LIBPQ RW  VERDICT
leader-crash  1    11.05s        0     0            0          30           4s        1          1.2s      PASS
leader-crash  2    9.05s         1     0            0          30           4s        1          1.2s      FAIL
leader-crash  3    13.05s        0     0            0          30           4s        1          1.2s      PASS
clean         1    415ms         0     0            0          0            -         0          -         PASS

write outage, min / median / max
  leader-crash  9.05s / 11.05s / 13.05s  (3 runs)

violations
  leader-crash #2
    - 1 acknowledged write was lost (absent from the final primary): id 100 (acknowledged by node0 at 12:00:04.955).
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	if err := WriteSummary(failWriter{}, summaryRuns()); err == nil {
		t.Error("WriteSummary to a failing writer returned no error")
	}
}

func TestSummaryCells(t *testing.T) {
	// Writes never resume and the cluster never recovers: the outage is open (the
	// last attempt, a refused write, ends at 15955 ms).
	stuck := crashHistory(16000)
	stuck.Writes = slices.DeleteFunc(stuck.Writes, func(w Write) bool { return w.Start.After(at(15999)) })
	stuck.FinalIDs = allIDs(stuck.Writes[:100])
	stuck.RecoveredAt = time.Time{}
	stuck.Libpq[0].Connected, stuck.Libpq[0].Server = time.Time{}, ""

	empty := History{Scenario: "empty", FinalIDs: []int64{}}
	tests := []struct {
		name string
		run  Run
		want []string
	}{
		{"stuck", checked(2, stuck, Limits{AllowFailover: true}),
			[]string{"leader-crash", "2", "11s open", "0", "0", "0", "30", "never", "1", "never", "FAIL"}},
		// Without writes nothing is measured; the checker's input error fails the run.
		{"empty", checked(1, empty, Limits{}),
			[]string{"empty", "1", "-", "0", "0", "0", "0", "-", "0", "-", "FAIL"}},
		// The run's own name wins over the history's; a zero report is the checker's
		// verdict, not WriteSummary's to second-guess.
		{"renamed", Run{Scenario: "switchover", Rep: 4, History: cleanHistory()},
			[]string{"switchover", "4", "-", "0", "0", "0", "0", "-", "0", "-", "PASS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summaryRow(tt.run)); diff != "" {
				t.Errorf("summary row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutageSpreads(t *testing.T) {
	gap := func(ms int, closed bool) Run {
		return Run{Scenario: "freeze", Report: Report{Writes: WriteStats{Outage: mkGap(at(0), at(ms), closed)}}}
	}
	runs := []Run{
		gap(4000, true), {Scenario: "once"}, gap(1000, true), gap(3000, false),
		{Scenario: "freeze"}, // no writes: not measured
		gap(2000, true),
		{Scenario: "none"}, {Scenario: "none"},
	}
	got := outageSpreads(runs)
	ms := func(n int) Millis { return Millis(time.Duration(n) * time.Millisecond) }
	want := []outageSpread{
		{Scenario: "freeze", Runs: 5, Measured: 4, Open: 1, Min: ms(1000), Median: ms(2500), Max: ms(4000)},
		{Scenario: "none", Runs: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("spreads (-want +got):\n%s", diff)
	}
	if s := got[0].text(); s != "1s / 2.5s / 4s  (4 runs of 5; 1 open, a lower bound)" {
		t.Errorf("spread text = %q", s)
	}
	if s := got[1].text(); s != "- (no outage measured in 2 runs)" {
		t.Errorf("spread text without measures = %q", s)
	}
}
