// Package pgbackrest emits the part of a node that backs the cluster up with pgBackRest:
// its configuration (the repository in an S3 bucket, with the key pair as placeholders), the
// backup script and its systemd service, and the timers that run it on every node, where it
// acts only on the leader, so that the schedule survives a failover. Patroni's part wires the
// archive in (archive_command, restore_command, replicas created from the repository).
// Nothing when backups are off.
package pgbackrest
