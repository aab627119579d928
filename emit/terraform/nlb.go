package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
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
	tg := block(b, nil, "resource", typeTargetGroup, targetGroupName)
	tg.SetAttributeValue("name", cty.StringVal(m.name(targetGroupName)))
	tg.SetAttributeRaw("labels", m.labels())
	for _, n := range m.c.Nodes {
		t := block(tg, nil, "target")
		t.SetAttributeRaw("subnet_id", m.subnetID(n.Zone))
		// The instance's attribute rather than the literal address: the target group waits
		// for the VM.
		t.SetAttributeRaw("address", m.firstInterface(n.Name, "ip_address"))
	}

	r := block(b, nil, "resource", typeLoadBalancer, loadBalancerName)
	r.SetAttributeValue("name", cty.StringVal(m.name(loadBalancerName)))
	r.SetAttributeValue("type", cty.StringVal(lb.Type))
	r.SetAttributeRaw("labels", m.labels())

	l := block(r, nil, "listener")
	l.SetAttributeValue("name", cty.StringVal("postgres"))
	l.SetAttributeRaw("port", num(lb.Port))
	l.SetAttributeRaw("target_port", num(m.c.PgBouncer.Port))
	l.SetAttributeValue("protocol", cty.StringVal("tcp"))
	var address hclwrite.Tokens
	switch lb.Type {
	case "internal":
		spec := block(l, nil, "internal_address_spec")
		spec.SetAttributeRaw("subnet_id", m.subnetID(lb.Zone))
		spec.SetAttributeValue("ip_version", cty.StringVal("ipv4"))
		address = listenerAddress("internal_address_spec")
	case "external":
		block(l, nil, "external_address_spec").SetAttributeValue("ip_version", cty.StringVal("ipv4"))
		address = listenerAddress("external_address_spec")
	default:
		return fmt.Errorf("load balancer type %q", lb.Type)
	}

	atg := block(r, nil, "attached_target_group")
	atg.SetAttributeRaw("target_group_id", resourceRef(typeTargetGroup, targetGroupName, "id"))
	hc := block(atg, nil, "healthcheck")
	hc.SetAttributeValue("name", cty.StringVal("patroni-primary"))
	hc.SetAttributeRaw("interval", num(lbCheckInterval))
	hc.SetAttributeRaw("timeout", num(lbCheckTimeout))
	hc.SetAttributeRaw("unhealthy_threshold", num(lbCheckThreshold))
	hc.SetAttributeRaw("healthy_threshold", num(lbCheckThreshold))
	ho := block(hc, nil, "http_options")
	ho.SetAttributeRaw("port", num(m.c.Patroni.RestAPIPort))
	ho.SetAttributeValue("path", cty.StringVal(lbCheckPath))

	locals := block(b, nil, "locals")
	comment(locals, "The listener's address: listeners and address specs are sets of one element each.")
	locals.SetAttributeRaw(localLBAddress, address)
	return nil
}

// listenerAddress is the address of the load balancer's only listener, from its address
// spec of kind spec: one(one(<lb>.listener).<spec>).address.
func listenerAddress(spec string) hclwrite.Tokens {
	listener := call("one", resourceRef(typeLoadBalancer, loadBalancerName, "listener"))
	return attr(call("one", attr(listener, spec)), "address")
}
