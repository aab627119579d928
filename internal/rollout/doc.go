// Package rollout is pghac's day 2: operations on a running cluster that change it and wait,
// health-gated, until it is healthy again, so that the next step starts from a cluster that
// can take it, on internal/patroni and internal/health's one definition of a follower:
//
//   - Survey compares a running cluster with the generated tree: each node's managed files
//     (its user-data's, rendered as Terraform's templatefile renders them) read over SSH,
//     and Patroni's dynamic configuration against GET /config, with pg_settings telling
//     which changed parameters need a restart. Apply rolls the difference out one node at a
//     time, replicas first, each node's reloads and restarts followed by a wait for healthy,
//     then the dynamic configuration (ApplyDCS) with restarts in PostgreSQL's order.
//   - Switchover hands the leadership to another member and waits until the old leader
//     streams from the new one.
//   - Reinit rebuilds a replica's data directory from the leader and waits until its new
//     PostgreSQL streams again.
//
// Switchover and Reinit refuse, before they ask Patroni anything, what cannot work (no leader, a member that
// is not one, a switchover to the leader, a rebuild of the leader), bound everything by a
// timeout, and tell a Progress what they wait for while the wait lasts. Their errors are
// sentences for pghac's users; UnreachableError and ErrBusy let a caller add what only it
// knows (where the cluster runs, which flag forces a rebuild).
//
// The package knows nothing of the sandbox or the CLI: it is given clients, a Dialer to the
// nodes and the caller's definition of healthy.
package rollout
