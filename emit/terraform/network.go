package terraform

import (
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/emit/tfwrite"
)

// network writes network.tf: the cluster's VPC network, one subnet per zone, and, when a VM
// has no public address, the NAT gateway it reaches the internet through.
func (m *module) network(b *hclwrite.Body) error {
	n := tfwrite.Block(b, nil, "resource", typeNetwork, networkName)
	n.SetAttributeValue("name", cty.StringVal(m.name()))
	n.SetAttributeRaw("labels", m.labels())
	egress := m.needsEgress()
	if egress {
		g := tfwrite.Block(b, []string{
			"VMs without a public address reach the package archives and Object Storage through this NAT",
			"gateway (the subnets' route table sends every other destination to it); nothing reaches them through it.",
		}, "resource", typeGateway, egressName)
		g.SetAttributeValue("name", cty.StringVal(m.name("egress")))
		g.SetAttributeRaw("labels", m.labels())
		tfwrite.Block(g, nil, "shared_egress_gateway")
		rt := tfwrite.Block(b, nil, "resource", typeRouteTable, egressName)
		rt.SetAttributeValue("name", cty.StringVal(m.name("egress")))
		rt.SetAttributeRaw("network_id", m.networkID())
		rt.SetAttributeRaw("labels", m.labels())
		r := tfwrite.Block(rt, nil, "static_route")
		r.SetAttributeValue("destination_prefix", cty.StringVal("0.0.0.0/0"))
		r.SetAttributeRaw("gateway_id", tfwrite.ResourceRef(typeGateway, egressName, "id"))
	}
	for _, s := range m.c.Network.Subnets {
		sb := tfwrite.Block(b, nil, "resource", typeSubnet, s.Zone)
		sb.SetAttributeValue("name", cty.StringVal(m.name(s.Zone)))
		sb.SetAttributeValue("zone", cty.StringVal(s.Zone))
		sb.SetAttributeRaw("network_id", m.networkID())
		sb.SetAttributeRaw("v4_cidr_blocks", tfwrite.Strs([]string{s.CIDR.String()}))
		if egress {
			sb.SetAttributeRaw("route_table_id", tfwrite.ResourceRef(typeRouteTable, egressName, "id"))
		}
		sb.SetAttributeRaw("labels", m.labels())
	}
	return nil
}

// needsEgress reports whether a VM of the cluster has no public address: it then needs the
// NAT gateway for packages, downloads and the backup bucket.
func (m *module) needsEgress() bool {
	for _, n := range m.c.Nodes {
		if !n.VM.PublicIP {
			return true
		}
	}
	return m.c.LoadGenerator != nil && !m.c.LoadGenerator.VM.PublicIP
}
