package compiler

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

func compileNetwork(d *diags, sc *schema.Cluster) model.Network {
	var n model.Network
	if sc.Network == nil {
		d.missingNetwork(sc.DefRange)
		return n
	}
	seen := firstSeen{}
	for _, s := range sc.Network.Subnets {
		if first, dup := seen.again(s.Zone, s.ZoneRange); dup {
			d.duplicateSubnetZone(s.ZoneRange, first, s.Zone)
			continue
		}
		checkZone(d, s.Zone, s.ZoneRange)
		p, ok := parseCIDR(d, s.CIDR, s.CIDRRange)
		if !ok {
			// Remember the zone so that its nodes are not also told it has no subnet.
			n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, DeclRange: s.CIDRRange})
			continue
		}
		if !p.Addr().Is4() || !isPrivate(p) {
			d.subnetNotPrivate(s.CIDRRange, p)
			n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, DeclRange: s.CIDRRange})
			continue
		}
		if p.Bits() < 16 || p.Bits() > 28 {
			d.invalidSubnetSize(s.CIDRRange, p)
			n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, DeclRange: s.CIDRRange})
			continue
		}
		for _, other := range n.Subnets {
			if other.CIDR.IsValid() && other.CIDR.Overlaps(p) {
				d.overlappingSubnets(s.CIDRRange, p, other)
			}
		}
		n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, CIDR: p, DeclRange: s.CIDRRange})
	}
	if len(sc.Network.Subnets) == 0 {
		d.missingSubnets(sc.Network.DefRange)
	}
	sort.Slice(n.Subnets, func(i, j int) bool { return n.Subnets[i].Zone < n.Subnets[j].Zone })

	n.AdminCIDRs = cidrList(d, sc.Network.AdminCIDRs)
	for i, p := range n.AdminCIDRs {
		if p.Bits() == 0 {
			d.sshOpenToInternet(sc.Network.AdminCIDRs[i].Range, p, sc.Bastion != nil)
		}
	}
	if j := sc.Network.JumpHost; j != nil {
		n.JumpHost = parseJumpHost(d, *j, sc.Network.JumpHostRange)
		// The nodes admit SSH from admin_cidrs only: a jump host given by its IPv4 address is
		// warned about when it is not among them (one given by name cannot be checked here).
		if n.JumpHost != nil {
			if a, err := netip.ParseAddr(n.JumpHost.Host); err == nil && a.Unmap().Is4() && !slices.ContainsFunc(n.AdminCIDRs, func(p netip.Prefix) bool { return p.Contains(a.Unmap()) }) {
				d.jumpHostNotAdmin(sc.Network.JumpHostRange, a, n.AdminCIDRs)
			}
		}
	}
	if sc.Network.ClientCIDRs == nil {
		for _, s := range n.Subnets {
			if s.CIDR.IsValid() {
				n.ClientCIDRs = append(n.ClientCIDRs, s.CIDR)
			}
		}
	} else {
		n.ClientCIDRs = cidrList(d, sc.Network.ClientCIDRs)
		for i, p := range n.ClientCIDRs {
			if p.Bits() == 0 {
				d.endpointsOpenToInternet(sc.Network.ClientCIDRs[i].Range, p)
			}
		}
	}
	return n
}

func cidrList(d *diags, in []schema.String) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range in {
		if p, ok := parseCIDR(d, s.Value, s.Range); ok {
			out = append(out, p)
		}
	}
	return out
}

func parseCIDR(d *diags, s string, rng hcl.Range) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		d.notCIDR(rng, s)
		return p, false
	}
	if !p.Addr().Is4() {
		d.ipv6CIDR(rng, s)
		return p, false
	}
	if p.Masked() != p {
		d.cidrHostBits(rng, s, p.Masked())
		return p, false
	}
	return p, true
}

var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func isPrivate(p netip.Prefix) bool {
	for _, r := range privateRanges {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// checkZone checks a zone (of a subnet, a node, the load generator) against zones.go.
func checkZone(d *diags, zone string, rng hcl.Range) bool {
	if repl, retired := retiredZones[zone]; retired {
		d.retiredZone(rng, zone, repl)
		return false
	}
	if !contains(zones, zone) {
		d.unknownZone(rng, zone, zones)
		return false
	}
	return true
}

// parseJumpHost reads "[user@]host[:port]" (an IPv6 address in brackets when it has a port);
// the port is 22 unless given. nil after an error.
func parseJumpHost(d *diags, s string, rng hcl.Range) *model.JumpHost {
	j := &model.JumpHost{Host: s, Port: 22, DeclRange: rng}
	if at := strings.LastIndex(j.Host, "@"); at >= 0 {
		j.User, j.Host = j.Host[:at], j.Host[at+1:]
		if j.User == "" || strings.ContainsAny(j.User, " \t:/@") {
			d.invalidJumpHost(rng, s, "the user before @ is not a login name")
			return nil
		}
	}
	if host, port, err := net.SplitHostPort(j.Host); err == nil {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			d.invalidJumpHost(rng, s, fmt.Sprintf("%q is not a port (1-65535)", port))
			return nil
		}
		j.Host, j.Port = host, p
	}
	if j.Host == "" || strings.ContainsAny(j.Host, " \t/[]") {
		d.invalidJumpHost(rng, s, "write a host name or address, like \"bastion.example.com\" or \"debian@203.0.113.10:22\"")
		return nil
	}
	return j
}
