package compiler

import (
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

func compileLoadBalancer(d *diags, sc *schema.Cluster, net model.Network) *model.LoadBalancer {
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
	return lb
}
