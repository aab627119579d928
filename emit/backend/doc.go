// Package backend emits the part of a node that runs the notes HTTP API (cmd/pghac-backend):
// its systemd unit and root-only password file, and the boot lines that download the binary,
// check its SHA-256 before installing it, and start the service (Patroni's post_bootstrap
// script creates its role and database). Nothing without a backend block.
package backend
