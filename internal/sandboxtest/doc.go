// Package sandboxtest brings the repository's cluster up in the local sandbox for tests, as a
// user would: it builds pghac, runs `pghac up` in a project directory of its own, and removes
// the sandbox with `pghac down` when the test ends. Tests of the backend and the load runner
// reuse Up; this package's own test runs the seed's manual checks against it. It needs root,
// systemd-nspawn, debootstrap, Terraform and psql on the host (make deps).
package sandboxtest
