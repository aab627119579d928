// Package pgbouncer emits a node's PgBouncer configuration: pgbouncer.ini, which Debian's
// pgbouncer.service runs with, and the userlist.txt it authenticates clients against.
//
// Each node's PgBouncer pools connections to its own PostgreSQL over loopback; HAProxy on every
// node picks which PgBouncer a client reaches. PgBouncer logs to stderr, that is the journal,
// instead of a logfile that a root-owned first start could make unwritable.
package pgbouncer
