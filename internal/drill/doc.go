// Package drill holds what a failover drill records and the checker that judges it:
// were acknowledged writes lost, did a server without the leader lock acknowledge
// writes (split-brain), how long were writes and reads out, how long did the cluster
// take to recover, and did the leader change when it should not have.
//
// A drill (`pghac drill`, issue 6) runs a fault on the sandbox under a steady load of
// inserts of unique ids through HAProxy on every node and of reads, while a monitor
// samples the leader lock and each member's role, state and timeline every ~200 ms.
// It records all of that in a History and hands it to Check, which returns a Report:
//
//   - History: Writes (id, node sent to, start, end, outcome Acked/Failed/Unknown,
//     the acknowledging server and its timeline), Reads, LeaderSamples, the fault and
//     heal times, FinalIDs (every id on the final primary once the cluster is healthy)
//     and RecoveredAt. WriteJSON/ReadHistory keep it on disk.
//   - Check(h, Limits): the invariants, after Jepsen's set checker (an acknowledged
//     insert absent from the final read is lost; an id read that nobody wrote is
//     unexpected) and Patroni's promise that only the holder of the leader lock
//     accepts writes. Split-brain is judged conservatively against the sampling: a
//     write counts only when every sample bracketing it names another holder (or none),
//     or shows the holder on a newer timeline; writes across a change of holder are
//     "ambiguous". Writes with an unknown outcome are right either way.
//   - Report: the figures; Violations (one sentence per broken invariant or limit),
//     OK, WriteJSON (durations in milliseconds) and WriteText.
//   - Run, WriteSummary and WriteHTML: a set of runs (scenario × repetition) as a
//     fixed-width table with the spread of the write outage per scenario and the
//     failed runs' violations, or as one self-contained HTML page with, per run, the
//     figures, an SVG timeline of acked/failed/unknown writes and failed reads around
//     the fault (gonum/plot) and the changes the monitor saw.
//
// Problems of the history itself (duplicate ids, a missing final read, writes that end
// before they start) are input errors that make the report fail: a checker that
// quietly skips what it cannot check would pass broken drills.
//
// The package is pure: no clock, no I/O besides the writers it is given, no cluster.
// It knows nothing of the sandbox, the model or the CLI. The drills themselves run in
// internal/drill/scenario, with the load and the monitor of internal/drill/workload.
package drill
