// Package rollout is pghac's day 2: operations on a running cluster that change it and wait,
// health-gated, until it is healthy again, so that the next step starts from a cluster that
// can take it. Today it holds the first building blocks of the rollout engine, on
// internal/patroni and internal/health's one definition of a follower:
//
//   - Switchover hands the leadership to another member and waits until the old leader
//     streams from the new one.
//   - Reinit rebuilds a replica's data directory from the leader and waits until its new
//     PostgreSQL streams again.
//
// Both refuse, before they ask Patroni anything, what cannot work (no leader, a member that
// is not one, a switchover to the leader, a rebuild of the leader), bound everything by a
// timeout, and tell a Progress what they wait for while the wait lasts. Their errors are
// sentences for pghac's users; UnreachableError and ErrBusy let a caller add what only it
// knows (where the cluster runs, which flag forces a rebuild).
//
// The package knows nothing of the model, the sandbox or the CLI: it is given a client.
package rollout
