package terraform

import (
	"fmt"
	"net/netip"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/tfwrite"
)

// outputs writes outputs.tf: where the nodes are and where clients connect. Private addresses
// are literals (they are fixed in cluster.hcl, so plans show them); public ones are assigned
// by the cloud.
func (m *module) outputs(b *hclwrite.Body) error {
	c := m.c
	output := func(name, description string, value hclwrite.Tokens) {
		o := tfwrite.Block(b, nil, "output", name)
		o.SetAttributeValue("description", cty.StringVal(description))
		o.SetAttributeRaw("value", value)
	}
	endpoints := func(format string, port int) hclwrite.Tokens {
		var out []string
		for _, n := range c.Nodes {
			out = append(out, fmt.Sprintf(format, netip.AddrPortFrom(n.Address, uint16(port))))
		}
		return tfwrite.Strs(out)
	}

	var private, public []tfwrite.Item
	for _, n := range c.Nodes {
		private = append(private, tfwrite.Item{Key: n.Name, Value: tfwrite.Str(n.Address.String())})
		if n.VM.PublicIP {
			public = append(public, tfwrite.Item{Key: n.Name, Value: m.firstInterface(n.Name, "nat_ip_address")})
		}
	}
	output("node_addresses", "Private address of every node.", tfwrite.Object(private...))
	if len(public) > 0 {
		output("node_public_addresses", "Public address of every node that has one (SSH goes here).", tfwrite.Object(public...))
	}
	output("primary_endpoints", "HAProxy on every node: each forwards to the primary's PgBouncer. Connect to any.",
		endpoints("%s", c.HAProxy.PrimaryPort))
	output("replica_endpoints", "HAProxy on every node: each balances over the replicas' PgBouncers. Connect to any.",
		endpoints("%s", c.HAProxy.ReplicaPort))
	output("haproxy_stats_urls", fmt.Sprintf("HAProxy's statistics page on every node (user %q, from the admin networks; the cluster's certificate).", model.StatsUser),
		endpoints("https://%s/", c.HAProxy.StatsPort))
	if c.Backend != nil {
		output("backend_urls", "The backend's HTTP API on every node (HTTPS, the cluster's certificate).", endpoints("https://%s/", c.Backend.Port))
	}
	if lb := c.LoadBalancer; lb != nil {
		output("load_balancer_address", fmt.Sprintf("Address of the %s network load balancer in front of the primary.", lb.Type),
			tfwrite.Ref("local", localLBAddress))
		output("load_balancer_endpoint", "The primary's PgBouncer through the network load balancer.",
			tfwrite.Template(tfwrite.Ref("local", localLBAddress), fmt.Sprintf(":%d", lb.Port)))
	}
	if lg := c.LoadGenerator; lg != nil {
		output("load_generator_address", "Private address of the load generator.", tfwrite.Str(lg.Address.String()))
		if lg.VM.PublicIP {
			output("load_generator_public_address", "Public address of the load generator (SSH goes here).",
				m.firstInterface(lg.Name, "nat_ip_address"))
		}
	}
	return nil
}
