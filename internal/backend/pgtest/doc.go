// Package pgtest starts real PostgreSQL 15 servers and real PgBouncer 1.18 poolers for tests,
// on 127.0.0.1 with free ports, in temporary directories that the test's cleanup removes.
//
// Both refuse to run as root, so when the test runs as root they run as the postgres user.
// Each runs in a process group of its own, which Stop, Kill and the cleanup signal by PID:
// nothing else on the machine is touched. Stop and Start (and Kill) let outage tests take a
// server away and bring it back on the same data directory and port.
//
// PostgreSQL is initialised with SCRAM-SHA-256 authentication and a random superuser
// password, and runs with fsync off: it is fast and durable only until the test ends.
// PgBouncer pools in transaction mode by default (the stricter of the modes pghac deploys, so
// that what passes here works behind either), authenticates its
// clients with SCRAM-SHA-256 from a userlist of plaintext passwords, and uses them to log in
// to PostgreSQL.
//
// A package whose tests start many servers can wrap its tests in RunMain, which initialises
// one data directory per test binary and copies it for each server (a copy is far faster
// than initdb).
//
// The binaries come from Debian's postgresql-15 and pgbouncer packages (make deps).
package pgtest
