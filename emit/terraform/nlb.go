package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/tfwrite"
)

// Health check of the network load balancer: the fastest Yandex Cloud allows (the timeout must
// be shorter than the interval, thresholds are at least 2), so that a new primary takes
// traffic about 4 s after Patroni promotes it.
const (
	lbCheckInterval  = 2 // seconds
	lbCheckTimeout   = 1 // seconds
	lbCheckThreshold = 2 // healthy and unhealthy
	lbCheckPath      = "/primary"
)

// nlb writes nlb.tf: a network load balancer whose only healthy target is the primary, the
// cloud's replacement for a floating address. Patroni answers GET /primary with 200 on the
// primary only; the listener forwards to that node's PgBouncer.
func (m *module) nlb(b *hclwrite.Body) error {
	lb := m.c.LoadBalancer
	tg := tfwrite.Block(b, nil, "resource", typeTargetGroup, targetGroupName)
	tg.SetAttributeValue("name", cty.StringVal(m.name(targetGroupName)))
	tg.SetAttributeRaw("labels", m.labels())
	for _, n := range m.c.Nodes {
		t := tfwrite.Block(tg, nil, "target")
		t.SetAttributeRaw("subnet_id", m.subnetID(n.Zone))
		// The instance's attribute rather than the literal address: the target group waits
		// for the VM.
		t.SetAttributeRaw("address", m.firstInterface(n.Name, "ip_address"))
	}

	r := tfwrite.Block(b, nil, "resource", typeLoadBalancer, loadBalancerName)
	r.SetAttributeValue("name", cty.StringVal(m.name(loadBalancerName)))
	r.SetAttributeValue("type", cty.StringVal(lb.Type))
	r.SetAttributeRaw("labels", m.labels())

	l := tfwrite.Block(r, nil, "listener")
	l.SetAttributeValue("name", cty.StringVal("postgres"))
	l.SetAttributeRaw("port", tfwrite.Num(lb.Port))
	l.SetAttributeRaw("target_port", tfwrite.Num(m.c.PgBouncer.Port))
	l.SetAttributeValue("protocol", cty.StringVal("tcp"))
	var address hclwrite.Tokens
	switch lb.Type {
	case "internal":
		spec := tfwrite.Block(l, nil, "internal_address_spec")
		spec.SetAttributeRaw("subnet_id", m.subnetID(lb.Zone))
		setLBAddress(spec, lb)
		spec.SetAttributeValue("ip_version", cty.StringVal("ipv4"))
		address = listenerAddress("internal_address_spec")
	case "external":
		spec := tfwrite.Block(l, nil, "external_address_spec")
		setLBAddress(spec, lb)
		spec.SetAttributeValue("ip_version", cty.StringVal("ipv4"))
		address = listenerAddress("external_address_spec")
	default:
		return fmt.Errorf("load balancer type %q", lb.Type)
	}

	atg := tfwrite.Block(r, nil, "attached_target_group")
	atg.SetAttributeRaw("target_group_id", tfwrite.ResourceRef(typeTargetGroup, targetGroupName, "id"))
	hc := tfwrite.Block(atg, nil, "healthcheck")
	hc.SetAttributeValue("name", cty.StringVal("patroni-primary"))
	hc.SetAttributeRaw("interval", tfwrite.Num(lbCheckInterval))
	hc.SetAttributeRaw("timeout", tfwrite.Num(lbCheckTimeout))
	hc.SetAttributeRaw("unhealthy_threshold", tfwrite.Num(lbCheckThreshold))
	hc.SetAttributeRaw("healthy_threshold", tfwrite.Num(lbCheckThreshold))
	ho := tfwrite.Block(hc, nil, "http_options")
	ho.SetAttributeRaw("port", tfwrite.Num(m.c.Patroni.RestAPIPort))
	ho.SetAttributeValue("path", cty.StringVal(lbCheckPath))

	locals := tfwrite.Block(b, nil, "locals")
	tfwrite.Comment(locals, "The listener's address: listeners and address specs are sets of one element each.")
	locals.SetAttributeRaw(localLBAddress, address)
	return nil
}

// setLBAddress gives an address spec the address cluster.hcl gives, which the service
// certificate is valid for; without one the cloud picks it.
func setLBAddress(spec *hclwrite.Body, lb *model.LoadBalancer) {
	if lb.Address.IsValid() {
		spec.SetAttributeValue("address", cty.StringVal(lb.Address.String()))
	}
}

// listenerAddress is the address of the load balancer's only listener, from its address
// spec of kind spec: one(one(<lb>.listener).<spec>).address.
func listenerAddress(spec string) hclwrite.Tokens {
	listener := tfwrite.Call("one", tfwrite.ResourceRef(typeLoadBalancer, loadBalancerName, "listener"))
	return tfwrite.Attr(tfwrite.Call("one", tfwrite.Attr(listener, spec)), "address")
}
