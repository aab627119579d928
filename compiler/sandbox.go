package compiler

import (
	"net/netip"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// The sandbox's network. The host (bridge) takes the first usable address and the nodes
// sandboxFirstNode onwards, in name order; the addresses between are left for the host's
// own use (the apt proxy binds the bridge address).
const (
	defaultSandboxCIDR = "10.213.0.0/24"
	sandboxBridge      = "pghac0"
	sandboxFirstNode   = 11
	// maxSandboxNodeName keeps nspawn's host-side veth name, "vb-" + machine name, within
	// Linux's 15-character interface names.
	maxSandboxNodeName = 12
	// sandboxImageFamily is the only image the sandbox's machines run (debootstrap bookworm).
	sandboxImageFamily = "debian-12"
)

// compileSandbox checks the sandbox block (for every target: it is part of the file) and
// returns the sandbox network, invalid when the block is.
func compileSandbox(d *diags, sc *schema.Cluster) *model.Sandbox {
	sb := &model.Sandbox{Bridge: sandboxBridge, DeclRange: sc.DefRange}
	cidr, rng := defaultSandboxCIDR, sc.NameRange
	if s := sc.Sandbox; s != nil {
		sb.DeclRange = s.DefRange
		rng = s.DefRange
		if s.CIDR != nil {
			cidr, rng = *s.CIDR, s.CIDRRange
		}
	}
	p, err := netip.ParsePrefix(cidr)
	switch {
	case err != nil || !p.Addr().Is4():
		d.sandboxNotIPv4(rng, cidr)
		return sb
	case p.Masked() != p:
		d.sandboxHostBits(rng, cidr, p.Masked())
		return sb
	case !isPrivate(p):
		d.sandboxNotPrivate(rng, p)
		return sb
	case p.Bits() < 16 || p.Bits() > 28:
		d.invalidSandboxSize(rng, p)
		return sb
	}
	// The host's address is the network's first usable one; node i gets the (sandboxFirstNode+i)th.
	nodes := len(sc.Nodes)
	if room := 1<<(32-p.Bits()) - sandboxFirstNode - 1; nodes > room {
		d.sandboxTooSmall(rng, p, room, nodes)
		return sb
	}
	sb.CIDR = p
	sb.HostAddress = p.Addr().Next()
	return sb
}

// localize turns c, compiled for the cloud, into the sandbox: the nodes take addresses from the
// sandbox network, which is the cluster's one subnet and the only network that reaches it;
// the host plays the load generator and the load balancer, so neither exists; Terraform's
// state stays local. Everything else is as compiled.
func localize(d *diags, sc *schema.Cluster, c *model.Cluster, cv clusterVM) {
	for _, sn := range sc.Nodes {
		if len(sn.Name) > maxSandboxNodeName && nameRE.MatchString(sn.Name) {
			d.sandboxNodeNameTooLong(sn.NameRange, sn.Name)
		}
	}
	if cv.family != sandboxImageFamily {
		d.sandboxImage(orRange(cv.familyRange, cv.familyRange != (hcl.Range{}), sc.NameRange), cv.family)
	}
	sb := c.Sandbox
	if !sb.CIDR.IsValid() {
		return
	}
	for i := range c.Nodes {
		c.Nodes[i].Address = nthAddr(sb.CIDR, sandboxFirstNode+i)
	}
	jump := c.Network.JumpHost
	c.Network = model.Network{
		// The nodes keep their zones: they name nothing in the sandbox.
		Subnets:     []model.Subnet{{Zone: string(model.TargetSandbox), CIDR: sb.CIDR, DeclRange: sb.DeclRange}},
		AdminCIDRs:  []netip.Prefix{sb.CIDR},
		ClientCIDRs: []netip.Prefix{sb.CIDR},
	}
	if jump != nil {
		// The cloud's jump host is out of reach: the sandbox stands in its own, so that pghac
		// reaches the machines the way it reaches the cloud's VMs.
		c.Network.JumpHost = &model.JumpHost{User: model.SandboxJumpUser, Host: sb.HostAddress.String(), Port: model.SandboxJumpPort, DeclRange: jump.DeclRange}
	}
	if c.Backend != nil {
		if sc.Backend.AllowFrom == nil {
			c.Backend.AllowFrom = c.Network.ClientCIDRs
		}
	}
	c.LoadGenerator = nil
	// The host is inside the sandbox network already: it is the bastion.
	c.Bastion = nil
	if c.Backup != nil {
		// The host serves the repository's S3 on the bridge, as Object Storage would.
		c.Backup.Endpoint = sb.HostAddress.String()
		c.Backup.Port = model.SandboxS3Port
	}
	c.LoadBalancer = nil
	c.State = nil
}

// nthAddr is the address n after p's network address.
func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) + uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
