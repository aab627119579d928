package terraform

import (
	"fmt"
	"net/netip"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/emit/tfwrite"
)

// Predefined targets of Yandex security group rules.
const (
	targetSelf         = "self_security_group"       // members of the rule's own group
	targetHealthChecks = "loadbalancer_healthchecks" // the network load balancer's checkers
)

const sshPort = 22

// anywhere is every IPv4 address: the destination of outbound rules.
var anywhere = netip.MustParsePrefix("0.0.0.0/0")

// rule is one ingress or egress rule. Exactly one source is set: cidrs, group (a security
// group resource of the module) or target (a predefined target).
type rule struct {
	description string
	protocol    string // "TCP" or "ANY"
	port        int    // 0 is any port
	cidrs       []netip.Prefix
	group       string
	target      string
}

// from returns the rules that open port to the networks in cidrs (named who in the
// description) and, when the cluster has a load generator, to the load generator: none for
// nobody.
func (m *module) from(what string, port int, who string, cidrs []netip.Prefix) []rule {
	var out []rule
	if len(cidrs) > 0 {
		out = append(out, rule{description: what + ", from " + who, protocol: "TCP", port: port, cidrs: cidrs})
	}
	if m.c.LoadGenerator != nil {
		out = append(out, rule{description: what + ", from the load generator", protocol: "TCP", port: port, group: loadgenSGName})
	}
	return out
}

// nodeIngress is what may reach the database nodes, least privilege first: the cluster's own
// ports only from its members, client ports from clients and the load generator, and the
// administrative ports from the admin networks.
func (m *module) nodeIngress() []rule {
	c := m.c
	self := func(description string, port int) rule {
		return rule{description: description, protocol: "TCP", port: port, target: targetSelf}
	}
	out := []rule{
		self("etcd client API, between cluster members", c.Etcd.ClientPort),
		self("etcd peers, between cluster members", c.Etcd.PeerPort),
		self("PostgreSQL replication and pg_rewind, between cluster members", c.Postgres.Port),
		self("PgBouncer, from HAProxy on every member", c.PgBouncer.Port),
		self("Patroni REST API, from HAProxy's checks and Patroni on every member", c.Patroni.RestAPIPort),
	}
	out = append(out, m.from("HAProxy to the primary", c.HAProxy.PrimaryPort, "clients", c.Network.ClientCIDRs)...)
	out = append(out, m.from("HAProxy to the replicas", c.HAProxy.ReplicaPort, "clients", c.Network.ClientCIDRs)...)
	if c.Backend != nil {
		out = append(out, m.from("Backend HTTP API", c.Backend.Port, "its allowed networks", c.Backend.AllowFrom)...)
	}
	if c.LoadBalancer != nil {
		// The network load balancer keeps the client's source address, so the primary's
		// PgBouncer must accept the clients themselves.
		out = append(out, m.from("PgBouncer through the network load balancer", c.PgBouncer.Port, "clients", c.Network.ClientCIDRs)...)
		out = append(out, rule{description: "Patroni REST API, from the network load balancer's health checks",
			protocol: "TCP", port: c.Patroni.RestAPIPort, target: targetHealthChecks})
	}
	if c.Bastion != nil {
		// pghac's day-2 path and the administrators' way in: SSH, and the endpoints pghac
		// tunnels over it. Nothing administrative is open to any other network.
		bastion := func(description string, port int) rule {
			return rule{description: description + ", from the bastion", protocol: "TCP", port: port, group: bastionSGName}
		}
		out = append(out,
			bastion("SSH", sshPort),
			bastion("HAProxy statistics page", c.HAProxy.StatsPort),
			bastion("Patroni REST API", c.Patroni.RestAPIPort),
			bastion("etcd client API", c.Etcd.ClientPort),
			// The superuser, which pg_hba admits from the bastion's address (and the nodes).
			bastion("PostgreSQL, for the superuser", c.Postgres.Port))
		if c.Backend != nil {
			out = append(out, bastion("Backend HTTP API", c.Backend.Port))
		}
	} else if admins := c.Network.AdminCIDRs; len(admins) > 0 {
		out = append(out,
			rule{description: "SSH, from administrators", protocol: "TCP", port: sshPort, cidrs: admins},
			rule{description: "HAProxy statistics page, from administrators", protocol: "TCP", port: c.HAProxy.StatsPort, cidrs: admins},
		)
	}
	return out
}

// loadgenIngress is what may reach the load generator, and bastionIngress the bastion: SSH
// from the administrators.
func (m *module) loadgenIngress() []rule { return m.adminSSH() }

func (m *module) bastionIngress() []rule { return m.adminSSH() }

func (m *module) adminSSH() []rule {
	if admins := m.c.Network.AdminCIDRs; len(admins) > 0 {
		return []rule{{description: "SSH, from administrators", protocol: "TCP", port: sshPort, cidrs: admins}}
	}
	return nil
}

// egressAny lets a VM open any connection: its packages and the backend's artifact come over
// the public address (or a NAT gateway), from mirrors whose addresses are not known here.
var egressAny = rule{description: "Any outbound connection", protocol: "ANY", cidrs: []netip.Prefix{anywhere}}

// security writes security.tf: the security group of the database nodes and, with a load
// generator or a bastion, theirs.
func (m *module) security(b *hclwrite.Body) error {
	nodes := tfwrite.Block(b, nil, "resource", typeSecurityGroup, nodesSGName)
	nodes.SetAttributeValue("name", cty.StringVal(m.name(nodesSGName)))
	nodes.SetAttributeValue("description", cty.StringVal(fmt.Sprintf("Database nodes of cluster %s", m.c.Name)))
	nodes.SetAttributeRaw("network_id", m.networkID())
	nodes.SetAttributeRaw("labels", m.labels())
	if err := m.rules(nodes, "ingress", m.nodeIngress()); err != nil {
		return err
	}
	if err := m.rules(nodes, "egress", []rule{egressAny}); err != nil {
		return err
	}
	if m.c.LoadGenerator != nil {
		if err := m.group(b, loadgenSGName, "Load generator", m.loadgenIngress()); err != nil {
			return err
		}
	}
	if m.c.Bastion != nil {
		return m.group(b, bastionSGName, "Bastion", m.bastionIngress())
	}
	return nil
}

// group appends security group name of a VM that is no database node (what it is for), with
// ingress and any egress.
func (m *module) group(b *hclwrite.Body, name, what string, ingress []rule) error {
	g := tfwrite.Block(b, nil, "resource", typeSecurityGroup, name)
	g.SetAttributeValue("name", cty.StringVal(m.name(name)))
	g.SetAttributeValue("description", cty.StringVal(fmt.Sprintf("%s of cluster %s", what, m.c.Name)))
	g.SetAttributeRaw("network_id", m.networkID())
	g.SetAttributeRaw("labels", m.labels())
	if err := m.rules(g, "ingress", ingress); err != nil {
		return err
	}
	return m.rules(g, "egress", []rule{egressAny})
}

// rules appends one block of kind ("ingress" or "egress") per rule.
func (m *module) rules(b *hclwrite.Body, kind string, rules []rule) error {
	for _, r := range rules {
		var comments []string
		if r.protocol == "ANY" && kind == "egress" {
			comments = []string{"Packages and downloads come from mirrors, over the public address or the NAT gateway: any destination."}
		}
		rb := tfwrite.Block(b, comments, kind)
		rb.SetAttributeValue("description", cty.StringVal(r.description))
		rb.SetAttributeValue("protocol", cty.StringVal(r.protocol))
		if r.port != 0 {
			if r.port < 1 || r.port > 65535 {
				return fmt.Errorf("%s rule %q: port %d", kind, r.description, r.port)
			}
			rb.SetAttributeRaw("port", tfwrite.Num(r.port))
		}
		switch {
		case len(r.cidrs) > 0:
			for _, p := range r.cidrs {
				if !p.Addr().Is4() {
					// Yandex security groups do not take IPv6 rules yet.
					return fmt.Errorf("%s rule %q: %s is not an IPv4 network", kind, r.description, p)
				}
			}
			rb.SetAttributeRaw("v4_cidr_blocks", tfwrite.CIDRs(r.cidrs))
		case r.group != "":
			rb.SetAttributeRaw("security_group_id", m.sgID(r.group))
		case r.target != "":
			rb.SetAttributeValue("predefined_target", cty.StringVal(r.target))
		default:
			return fmt.Errorf("%s rule %q has no source", kind, r.description)
		}
	}
	return nil
}
