// Package patroni is a small client of Patroni's REST API over the members of one cluster:
// what pghac needs to watch a cluster and to drive planned failovers.
//
//   - Cluster: GET /cluster from the first member that answers: every member's role, state,
//     timeline and replication lag, as `patronictl list` shows them.
//   - Status: GET /patroni of one member: its own view, with the postmaster's start time
//     (which tells a restarted PostgreSQL apart) and, on the leader, the WAL senders
//     (which tell a streaming replica from one that only runs).
//   - Switchover: POST /switchover, sent to the leader's own API. Patroni answers only once
//     a new leader holds the lock, or it gave up.
//   - Reinitialize: POST /reinitialize, sent to the member to rebuild. Patroni answers at
//     once and rebuilds in the background.
//   - WaitFor: polls Cluster until a condition holds.
//
// The behaviour it relies on is Patroni 3.0.2's (Debian 12), read from its api.py:
// /cluster lists a replica's lag as bytes or as the string "unknown"; a replica's state is
// "running" whether or not it streams (Patroni 3.0.4 added "streaming"); /switchover needs
// the leader's name and takes an optional candidate (one is required only in a paused
// cluster); it answers 200 with `Successfully switched over to "node1"`, 412 when no
// candidate qualifies, 503 when the switchover failed or Patroni lost track of it, and 400
// on a request it does not take; /reinitialize answers 200 "reinitialize started" or 503
// with the reason (for example "I am the leader, can not reinitialize").
//
// The POST endpoints need the REST API's basic-auth credentials; the GET endpoints do not.
// The password never appears in an error.
//
// The package knows nothing of the model, the sandbox or the CLI: it is given endpoints.
package patroni
