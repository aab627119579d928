package drill

import (
	"fmt"
	"testing"
)

// BenchmarkCheck: a 10-minute drill with 200 writes/s (120k writes), 100 reads/s and
// a sample every 200 ms (3000), one failover in the middle. Check must stay well
// below a second so that `pghac drill` can judge every scenario at once.
func BenchmarkCheck(b *testing.B) {
	const n = 120_000
	h := History{Scenario: "bench", FaultAt: at(300_000), HealAt: at(320_000), RecoveredAt: at(330_000)}
	for i := range n {
		ms := i * 5
		leader, tl := "node0", 1
		if ms >= 310_000 {
			leader, tl = "node1", 2
		}
		w := ack(int64(i), ms, ms+3, leader, tl)
		if ms >= 300_000 && ms < 310_000 {
			w = failed(int64(i), ms, ms+3, "connection refused")
		}
		h.Writes = append(h.Writes, w)
		h.FinalIDs = append(h.FinalIDs, int64(i))
		if i%2 == 0 {
			h.Reads = append(h.Reads, Read{Node: fmt.Sprint("node", i%3), Start: at(ms), End: at(ms + 1), OK: true})
		}
	}
	for ms := -200; ms <= n*5+200; ms += 200 {
		leader, tl := "node0", 1
		switch {
		case ms >= 300_000 && ms < 310_000:
			leader = ""
		case ms >= 310_000:
			leader, tl = "node1", 2
		}
		h.Samples = append(h.Samples, lead(ms, leader, tl))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var r Report
	for b.Loop() {
		r = Check(h, Limits{AllowFailover: true})
	}
	b.StopTimer()
	if !r.OK() || r.Writes.Acked != n-2000 || r.Leadership.Failovers != 1 {
		b.Fatalf("unexpected report: ok %v, acked %d, failovers %d, violations %q",
			r.OK(), r.Writes.Acked, r.Leadership.Failovers, r.Violations())
	}
}
