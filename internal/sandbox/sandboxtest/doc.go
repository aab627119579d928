// Package sandboxtest is the sandbox target's end-to-end test kit and tests: Up builds pghac,
// runs `pghac up` in a project directory of its own, and removes the sandbox with `pghac
// down` when the test ends, as a user would. Its tests run against that cluster: the seed's
// manual checks, the backend and the load runner through the emitted bundle, application
// clients (libpq, pgx, asyncpg) across a switchover, and the drills. It drives the pghac
// binary and reads the cluster file through the compiler, so it sits above everything it
// tests; nothing imports it. It needs root, systemd-nspawn, debootstrap, Terraform and psql
// on the host (make deps).
package sandboxtest
