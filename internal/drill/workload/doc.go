// Package workload is the load and the eyes of a failover drill: writers that insert
// unique ids through HAProxy's primary port on every node and record each outcome,
// readers on the replica port, and a monitor that samples the leader lock in etcd and
// Patroni's view of the members. What they see becomes a drill.History.
//
// Outcomes are classified the way Jepsen's clients do, erring towards "unknown": a
// write is Failed only when PostgreSQL (or PgBouncer) certainly did not commit it —
// the connection was never made, the request was never sent (pgconn.SafeToRetry), or
// the statement ended in an ERROR, which aborts an implicit transaction. Timeouts,
// resets and FATALs while a COMMIT may be in flight (a primary shut down while
// waiting for its synchronous standby) are Unknown.
//
// The acknowledging server is identified inside the same statement, from the first
// address of its listen_addresses (PgBouncer connects over loopback, so
// inet_server_addr() would say 127.0.0.1), and its timeline is computed from the
// current WAL file name, as Patroni reports it.
package workload
