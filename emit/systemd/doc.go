// Package systemd emits a node's drop-ins for the units Debian's packages ship
// (/etc/systemd/system/<unit>.d/pghac.conf), each directive with the reason it is there.
// The packages' units stay in charge; a drop-in changes only what pghac's cluster needs:
// start order against the node's address and etcd, restarts, start timeout and file limits,
// and the patroni family's etcd3 fix before every Patroni start (its commands come in as an
// argument: this family imports no other).
//
// HAProxy gets none: Debian's haproxy.service already waits for network-online.target and
// restarts always, HAProxy sizes its file limit from maxconn by itself, and since it checks
// every node's Patroni over the network, ordering it after the local services gains nothing.
package systemd
