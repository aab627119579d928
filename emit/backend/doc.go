// Package backend emits what runs the notes HTTP API (cmd/pghac-backend) on a node: its
// systemd unit and root-only password file, the runcmd lines that download the binary and
// check its SHA-256 before installing it (package roles creates its role and database).
// Nothing without a backend block.
package backend
