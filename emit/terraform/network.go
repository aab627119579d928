package terraform

import (
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/emit/tfwrite"
)

// network writes network.tf: the cluster's VPC network and one subnet per zone.
func (m *module) network(b *hclwrite.Body) error {
	n := tfwrite.Block(b, nil, "resource", typeNetwork, networkName)
	n.SetAttributeValue("name", cty.StringVal(m.name()))
	n.SetAttributeRaw("labels", m.labels())
	for _, s := range m.c.Network.Subnets {
		sb := tfwrite.Block(b, nil, "resource", typeSubnet, s.Zone)
		sb.SetAttributeValue("name", cty.StringVal(m.name(s.Zone)))
		sb.SetAttributeValue("zone", cty.StringVal(s.Zone))
		sb.SetAttributeRaw("network_id", m.networkID())
		sb.SetAttributeRaw("v4_cidr_blocks", tfwrite.Strs([]string{s.CIDR.String()}))
		sb.SetAttributeRaw("labels", m.labels())
	}
	return nil
}
