// Package backend emits what runs the notes HTTP API (cmd/pghac-backend) on a node: its
// systemd unit and root-only password file, the runcmd lines that download the binary and
// check its SHA-256 before installing it, and Patroni's post_bootstrap script that creates the
// backend's role and database once. Nothing without a backend block.
package backend
