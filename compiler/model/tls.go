package model

import (
	"net/netip"
	"time"
)

// Where a node keeps its TLS material, filled in from the cluster's secrets (TLSSecrets).
const (
	// TLSDir holds them all.
	TLSDir = "/etc/pghac/tls/"
	// TLSCAPath is the certificate authorities the node trusts, PEM.
	TLSCAPath = TLSDir + "ca.crt"
	// TLSNodePath is the node's certificate followed by its private key, PEM: PostgreSQL,
	// PgBouncer, etcd, HAProxy and Python's ssl all read a certificate and a key from one
	// file, skipping the other block.
	TLSNodePath = TLSDir + "node.pem"
	// TLSServicePath is the cluster's service certificate followed by its key, PEM: what
	// PgBouncer, HAProxy's statistics page and the backend present to clients. HAProxy on any node passes 5000 and 5001 to another
	// node's PgBouncer, so a client meets it at whichever address it dialled: it is valid
	// for every node's name and address.
	TLSServicePath = TLSDir + "service.pem"
	// TLSGroup may read TLSNodePath: Debian's ssl-cert package makes it (PostgreSQL's packages
	// depend on it) and puts postgres in it; PostgreSQL takes a root-owned key readable by a
	// group.
	TLSGroup = "ssl-cert"
)

// TLS is how pghac issues the cluster's certificates (internal/site).
type TLS struct {
	// ExtraDNSNames and ExtraIPs are names and addresses, besides the nodes' and the load
	// balancer's, that the service certificate is valid for: what clients dial.
	ExtraDNSNames []string
	ExtraIPs      []netip.Addr
	// Lifetime is a certificate's; RenewBefore, how long before its end pghac issues the
	// next (when up, plan or secrets init runs).
	Lifetime, RenewBefore time.Duration
}
