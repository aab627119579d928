// Package scenario runs failover drills on the sandbox: it starts the write and read
// load and the monitor (internal/drill/workload), waits for a steady state, injects
// one fault through internal/sandbox (kill, freeze or partition a machine, stop a
// service) or Patroni's REST API (switchover, reinitialize), undoes it, waits until
// every member is healthy again, reads back every id from the final primary and
// returns the drill.History for drill.Check.
//
// Each Scenario carries the limits pghac's defaults must meet (issue 6): no lost and
// no split-brain write anywhere; a write outage under 25 s for a crash, freeze or
// partition of the leader and under 5 s for a graceful stop or a switchover; no
// failover when a replica or an etcd member is lost.
//
// Whatever happens, a run ends by undoing every fault it may have left (thaw, heal,
// start machines and services), so that the next run, or the user, finds the cluster
// whole.
//
// NewEnv makes a run's Env from the resolved cluster (compiler/model), its secrets and a
// Patroni client; WriteHistory, WriteReport and WriteReports keep a set of runs in a report
// folder (per run NAME-REP.history.json and .report.json, then summary.txt and report.html),
// so that the CLI only orders the runs and prints.
package scenario
