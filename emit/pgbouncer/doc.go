// Package pgbouncer emits PgBouncer's part of a node: pgbouncer.ini, which Debian's
// pgbouncer.service runs with, the userlist.txt it authenticates clients against, and the boot
// lines that enable and start the unit.
//
// Each node's PgBouncer pools connections to its own PostgreSQL over loopback; HAProxy on every
// node picks which PgBouncer a client reaches. PgBouncer logs to stderr, that is the journal,
// instead of a logfile that a root-owned first start could make unwritable.
package pgbouncer
