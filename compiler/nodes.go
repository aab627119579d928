package compiler

import (
	"net/netip"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

func compileNodes(d *diags, sc *schema.Cluster, cv clusterVM, net model.Network, target model.Target) []model.Node {
	if len(sc.Nodes) == 0 {
		d.noNodes(sc.DefRange)
		return nil
	}
	names := firstSeen{}
	addrs := map[netip.Addr]hcl.Range{}
	var nodes []model.Node
	for _, sn := range sc.Nodes {
		if first, dup := names.again(sn.Name, sn.NameRange); dup {
			d.duplicateNode(sn.NameRange, first, sn.Name)
			continue
		}
		checkName(d, "node", sn.Name, sn.NameRange)
		if resource := sc.Name + "-" + sn.Name; len(resource) > 63 && nameRE.MatchString(sn.Name) {
			d.nodeNameTooLong(sn.NameRange, resource)
		}

		n := model.Node{Name: sn.Name, Zone: sn.Zone, EtcdMember: deref(sn.EtcdMember, true), DeclRange: sn.DefRange}
		n.VM = cv.vm
		if sn.VM != nil {
			n.VM = overlayVM(n.VM, sn.VM)
			if sn.VM.ImageFamily != nil {
				d.nodeImageFamily(sn.VM.ImageFamilyRange)
			}
		}
		def := vmRanges{sn.DefRange, sn.DefRange, sn.DefRange, sn.DefRange, sn.DefRange, sn.DefRange}
		checkVM(d, n.VM, n.Zone, rangesOf(sn.VM, rangesOf(sc.VM, def)), true)
		if n.VM.Preemptible && target == model.TargetYandex {
			d.preemptibleDatabaseVM(preemptibleRange(sc.VM, sn.VM))
		}

		zoneOK := checkZone(d, sn.Zone, sn.ZoneRange)
		addr, err := netip.ParseAddr(sn.Address)
		if err != nil || !addr.Is4() {
			d.invalidAddress(sn.AddressRange, sn.Address)
			nodes = append(nodes, n)
			continue
		}
		n.Address = addr
		if first, dup := addrs[addr]; dup {
			d.duplicateNodeAddress(sn.AddressRange, first, addr)
		}
		addrs[addr] = sn.AddressRange
		if zoneOK && sc.Network != nil {
			checkAddressInSubnet(d, addr, sn, net)
		}
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes
}

func checkAddressInSubnet(d *diags, addr netip.Addr, sn schema.Node, net model.Network) {
	for _, s := range net.Subnets {
		if s.Zone != sn.Zone {
			continue
		}
		if !s.CIDR.IsValid() {
			return // the subnet's own error says enough
		}
		if !s.CIDR.Contains(addr) {
			d.addressOutsideSubnet(sn.AddressRange, addr, s)
			return
		}
		// Yandex VPC keeps the network address, the gateway (.1) and DNS (.2), and the last one.
		first := s.CIDR.Addr()
		last := lastAddr(s.CIDR)
		if addr == first || addr == first.Next() || addr == first.Next().Next() || addr == last {
			d.reservedAddress(sn.AddressRange, addr, s.CIDR)
		}
		return
	}
	d.noSubnetForNode(sn.ZoneRange, sn.Name, sn.Zone)
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
