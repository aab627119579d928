package compiler

import (
	"net/netip"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

func compileLoadBalancer(d *diags, sc *schema.Cluster, net model.Network, nodes []model.Node) *model.LoadBalancer {
	sb := sc.LoadBalancer
	if sb == nil {
		return nil
	}
	lb := &model.LoadBalancer{Type: deref(sb.Type, defaultLoadBalancerType), Port: deref(sb.Port, defaultLoadBalancerPort), DeclRange: sb.DefRange}
	switch lb.Type {
	case "internal":
		if len(net.Subnets) > 0 {
			lb.Zone = net.Subnets[0].Zone
		}
		if sb.Zone != nil {
			lb.Zone = *sb.Zone
			found := false
			for _, s := range net.Subnets {
				found = found || s.Zone == lb.Zone
			}
			if !found {
				d.noSubnetForLoadBalancer(sb.ZoneRange, lb.Zone)
			}
		}
	case "external":
		if sb.Zone != nil {
			d.externalLoadBalancerZone(sb.ZoneRange)
		}
		if sc.Network != nil && sc.Network.ClientCIDRs == nil {
			// Yandex's load balancer passes the clients' own addresses on, and the nodes'
			// security group admits client_cidrs only: by default the cluster's subnets.
			d.externalLoadBalancerNoClients(sb.TypeRange)
		} else {
			d.primaryOnInternet(sb.TypeRange, net.ClientCIDRs)
		}
	default:
		d.invalidLoadBalancerType(sb.TypeRange, lb.Type)
	}
	if lb.Port < 1 || lb.Port > 65535 {
		d.invalidLoadBalancerPort(sb.PortRange, lb.Port)
	}
	if lb.Type != "internal" && lb.Type != "external" {
		return lb
	}
	if sb.Address == nil {
		d.loadBalancerAddressUnset(sb.DefRange, lb.Type)
		return lb
	}
	a, err := netip.ParseAddr(*sb.Address)
	if err != nil || !a.Is4() {
		d.invalidLoadBalancerAddress(sb.AddressRange, *sb.Address, "is not an IPv4 address")
		return lb
	}
	lb.Address = a
	switch lb.Type {
	case "internal":
		var subnet netip.Prefix
		for _, s := range net.Subnets {
			if s.Zone == lb.Zone {
				subnet = s.CIDR
			}
		}
		if subnet.IsValid() && !subnet.Contains(a) {
			d.invalidLoadBalancerAddress(sb.AddressRange, *sb.Address, "is not in the subnet of "+lb.Zone+" ("+subnet.String()+"), where an internal load balancer takes its address")
		}
		for _, n := range nodes {
			if n.Address == a {
				d.invalidLoadBalancerAddress(sb.AddressRange, *sb.Address, "is "+n.Name+"'s address")
			}
		}
	case "external":
		if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
			d.invalidLoadBalancerAddress(sb.AddressRange, *sb.Address, "is not a public address, which an external load balancer needs")
		}
	}
	return lb
}
