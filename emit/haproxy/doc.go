// Package haproxy emits HAProxy's part of a node: its configuration, /etc/haproxy/haproxy.cfg,
// and the boot lines that enable and start the unit.
//
// Every node runs HAProxy (the seed ran one, on one node), so a client can use any node:
// port 5000 reaches the primary, 5001 the replicas, 7000 shows the stats page behind a
// password. Each backend server is a node's PgBouncer, health-checked against that node's
// Patroni REST API, which alone knows the node's role. Servers are IP addresses: `haproxy -c`
// and HAProxy's start fail on a name they cannot resolve.
package haproxy
