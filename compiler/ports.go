package compiler

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// listener is one TCP port a node listens on, and where the file set it (or, for a default,
// the cluster block).
type listener struct {
	what string
	port int
	rng  hcl.Range
	set  bool
}

// checkPorts refuses ports outside 1024-65535 (the daemons run unprivileged) and two services
// on one port of a node.
func checkPorts(d *diags, sc *schema.Cluster, c *model.Cluster) {
	l := listeners(sc, c)
	for _, x := range l {
		if x.set && (x.port < 1024 || x.port > 65535) {
			d.unprivilegedPort(x.rng, x.what, x.port)
		}
	}
	// All nodes run the same services except etcd (members only), and members are the superset
	// where it matters, so checking with etcd included covers every node.
	for i, x := range l {
		for _, first := range l[:i] {
			if first.port != x.port {
				continue
			}
			// Point at the setting the user wrote; the other one is cited.
			culprit, other := x, first
			if !x.set && first.set {
				culprit, other = first, x
			}
			d.portCollision(culprit, other)
			break
		}
	}
}

func listeners(sc *schema.Cluster, c *model.Cluster) []listener {
	def := sc.NameRange
	l := []listener{{what: "ssh", port: sshPort, rng: def}}
	add := func(what string, port int, rng hcl.Range, set bool) {
		if !set {
			rng = def
		}
		l = append(l, listener{what: what, port: port, rng: rng, set: set})
	}
	e := deref(sc.Etcd, schema.Etcd{})
	add("etcd.client_port", c.Etcd.ClientPort, e.ClientPortRange, e.ClientPort != nil)
	add("etcd.peer_port", c.Etcd.PeerPort, e.PeerPortRange, e.PeerPort != nil)
	p := deref(sc.Patroni, schema.Patroni{})
	add("patroni.restapi_port", c.Patroni.RestAPIPort, p.RestAPIPortRange, p.RestAPIPort != nil)
	pg := deref(sc.Postgres, schema.Postgres{})
	add("postgres.port", c.Postgres.Port, pg.PortRange, pg.Port != nil)
	b := deref(sc.PgBouncer, schema.PgBouncer{})
	add("pgbouncer.port", c.PgBouncer.Port, b.PortRange, b.Port != nil)
	h := deref(sc.HAProxy, schema.HAProxy{})
	add("haproxy.primary_port", c.HAProxy.PrimaryPort, h.PrimaryPortRange, h.PrimaryPort != nil)
	add("haproxy.replica_port", c.HAProxy.ReplicaPort, h.ReplicaPortRange, h.ReplicaPort != nil)
	add("haproxy.stats_port", c.HAProxy.StatsPort, h.StatsPortRange, h.StatsPort != nil)
	if c.Backend != nil {
		add("backend.port", c.Backend.Port, sc.Backend.PortRange, sc.Backend.Port != nil)
	}
	return l
}
