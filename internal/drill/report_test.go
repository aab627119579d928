package drill

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// failoverHistory: node0 leads on timeline 1 until its lock goes at 1000 ms, node1
// leads on timeline 2 from 1400 ms; write 5 is lost, write 6 acknowledged by node0
// after the move (split-brain), write 4 straddles the loss of the lock (ambiguous).
func failoverHistory() History {
	ws := []Write{
		ack(1, 0, 100, "node0", 1),
		ack(2, 300, 400, "node0", 1),
		ack(3, 600, 700, "node0", 1),
		ack(4, 900, 1050, "node0", 1),
		ack(5, 750, 780, "node0", 1),
		failed(7, 1100, 1200, "connection refused"),
		unknown(8, 1150, 2150),
		ack(6, 1500, 1550, "node0", 1),
		ack(9, 1900, 2000, "node1", 2),
		ack(10, 2200, 2300, "node1", 2),
	}
	ss := append(samples(-200, 800, "node0", 1), lead(1000, "", 1), lead(1200, "", 1))
	ss = append(ss, samples(1400, 2600, "node1", 2)...)
	return History{
		Scenario:    "leader-freeze",
		FaultAt:     at(500),
		HealAt:      at(1800),
		RecoveredAt: at(2500),
		Writes:      ws,
		Reads: []Read{
			{Node: "node1", Start: at(0), End: at(10), OK: true},
			{Node: "node2", Start: at(1000), End: at(1300), Err: "timeout"},
			{Node: "node2", Start: at(1400), End: at(1410), OK: true},
		},
		Samples:  ss,
		FinalIDs: []int64{1, 2, 3, 4, 6, 9, 10},
	}
}

func TestHistoryJSONRoundTrip(t *testing.T) {
	h := failoverHistory()
	h.Samples[3].Err = "etcd: context deadline exceeded"
	var buf bytes.Buffer
	if err := h.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"scenario": "leader-freeze"`, `"fault_at": "2026-07-01T12:00:00.5Z"`,
		`"outcome": "acked"`, `"outcome": "unknown"`, `"server": "node0"`, `"final_ids": [`, `"leader": ""`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("history JSON lacks %s:\n%s", key, buf.String())
		}
	}
	got, err := ReadHistory(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h, got); diff != "" {
		t.Errorf("history round trip (-want +got):\n%s", diff)
	}

	// Zero times are left out; an empty final read stays empty, not "never read".
	var b2 bytes.Buffer
	if err := (History{Scenario: "x", FinalIDs: []int64{}}).WriteJSON(&b2); err != nil {
		t.Fatal(err)
	}
	if s := b2.String(); strings.Contains(s, "heal_at") || !strings.Contains(s, `"final_ids": []`) {
		t.Errorf("empty history JSON:\n%s", s)
	}
	h2, err := ReadHistory(&b2)
	if err != nil || h2.FinalIDs == nil {
		t.Errorf("ReadHistory(empty final ids) = %v, %v; want a non-nil empty slice", h2.FinalIDs, err)
	}
}

func TestReadHistoryErrors(t *testing.T) {
	tests := []struct{ name, in, substr string }{
		{"unknown field", `{"scenario":"x","writs":[]}`, `unknown field "writs"`},
		{"bad outcome", `{"writes":[{"id":1,"outcome":"ok"}]}`, `unknown write outcome "ok"`},
		{"trailing data", `{"scenario":"x"} {}`, "trailing data"},
		{"not JSON", `scenario: x`, "decode history"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadHistory(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("ReadHistory(%s) error = %v, want it to contain %q", tt.in, err, tt.substr)
			}
		})
	}
	var buf bytes.Buffer
	err := (History{Writes: []Write{{ID: 1}}}).WriteJSON(&buf)
	if err == nil || !strings.Contains(err.Error(), "invalid write outcome 0") {
		t.Errorf("WriteJSON of a write without outcome: error %v, want invalid outcome", err)
	}
}

func TestMillisJSON(t *testing.T) {
	tests := []struct {
		d    time.Duration
		json string
	}{
		{0, "0"},
		{415 * time.Millisecond, "415"},
		{1500 * time.Microsecond, "1.5"},
		{12345678 * time.Nanosecond, "12.346"},
		{-2500 * time.Microsecond, "-2.5"},
		{90 * time.Second, "90000"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Millis(tt.d))
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%s) = %s, %v; want %s", tt.d, b, err, tt.json)
		}
		var m Millis
		if err := json.Unmarshal(b, &m); err != nil || m.D() != tt.d.Round(time.Microsecond) {
			t.Errorf("Unmarshal(%s) = %s, %v; want %s", b, m.D(), err, tt.d.Round(time.Microsecond))
		}
	}
}

func TestReportJSON(t *testing.T) {
	limits := Limits{MaxOutage: 2 * time.Second, MaxRecovery: time.Minute, AllowFailover: true, SampleSlack: 5 * time.Millisecond}
	r := Check(failoverHistory(), limits)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	get := func(path ...string) any {
		var v any = m
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"ok"}, false},
		{[]string{"scenario"}, "leader-freeze"},
		{[]string{"limits", "max_outage_ms"}, 2000.0},
		{[]string{"limits", "sample_slack_ms"}, 5.0},
		{[]string{"limits", "allow_failover"}, true},
		{[]string{"writes", "lost"}, 1.0},
		{[]string{"writes", "split_brain"}, 1.0},
		{[]string{"writes", "ambiguous"}, 1.0},
		// Acks end at 100, 400 | fault 500 | 700, 780, 1050, 1550, 2000, 2300.
		{[]string{"writes", "outage", "length_ms"}, 500.0},
		{[]string{"writes", "outage", "from"}, "2026-07-01T12:00:01.05Z"},
		{[]string{"writes", "fault_outage", "length_ms"}, 300.0},
		{[]string{"writes", "resumed_after_fault_ms"}, 1050.0},
		{[]string{"recovery", "duration_ms"}, 700.0},
		{[]string{"recovery", "from"}, "heal"},
		{[]string{"leadership", "failovers"}, 1.0},
		{[]string{"reads", "outage", "length_ms"}, 1400.0},
	}
	for _, c := range checks {
		if got := get(c.path...); got != c.want {
			t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	if v, ok := m["violations"].([]any); !ok || len(v) != 2 {
		t.Errorf("violations = %v, want the lost and the split-brain write", m["violations"])
	}

	// A report read back judges the same.
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Violations(), back.Violations()); diff != "" {
		t.Errorf("violations after a JSON round trip (-want +got):\n%s", diff)
	}
	if back.Limits != limits {
		t.Errorf("limits after a JSON round trip = %+v, want %+v", back.Limits, limits)
	}

	// A clean report says so, with an empty list rather than null.
	buf.Reset()
	if err := Check(cleanHistory(), Limits{}).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); !strings.Contains(s, `"ok": true`) || !strings.Contains(s, `"violations": []`) {
		t.Errorf("clean report JSON lacks ok/violations:\n%s", s)
	}
}

func TestReportText(t *testing.T) {
	r := Check(failoverHistory(), Limits{MaxOutage: 2 * time.Second, AllowFailover: false})
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"drill leader-freeze: FAIL (3 violations)",
		"lost            1: ids 5",
		"split-brain     1: ids 6 (ambiguous 1, unchecked 0)",
		"write outage    500ms (12:00:01.050 → 12:00:01.550)  (limit 2s)",
		"  around fault  300ms (12:00:00.400 → 12:00:00.700)",
		"  resumed       1.05s after the fault",
		"write errors    1× connection refused",
		"reads           3 attempted, 1 failed; longest outage 1.4s (12:00:00.010 → 12:00:01.410)",
		"recovery        700ms after the heal",
		"failovers       1 (node0 → node1)  (none allowed)",
		"lock            lost 1 time; longest without holder 400ms (12:00:01.000 → 12:00:01.400)",
		"  12:00:01.000  F+500ms  (lock)  leader    node0 → -\n",
		"  12:00:01.000  F+500ms  node0   role      leader → replica\n",
		"  12:00:01.400  F+900ms  (lock)  leader    - → node1\n",
		"  12:00:01.400  F+900ms  node1   role      replica → leader\n",
		"  12:00:01.400  F+900ms  node2   timeline  1 → 2\n",
		"  - 1 acknowledged write was lost (absent from the final primary): id 5 (acknowledged by node0 at 12:00:00.780).",
		"id 6 (acknowledged by node0 while the leader lock was held by node1)",
		"  - 1 failover happened (leader node0 → node1) although the scenario allows none.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}

	if err := r.WriteText(failWriter{}); err == nil {
		t.Error("WriteText to a failing writer returned no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
