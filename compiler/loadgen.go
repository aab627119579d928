package compiler

import (
	"fmt"
	"net/netip"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// compileLoadGenerator resolves the load_generator block: one more VM, in the cluster's network
// and with the cluster's image. c.Nodes and c.Network must be compiled.
func compileLoadGenerator(d *diags, sc *schema.Cluster, cv clusterVM, c *model.Cluster, target model.Target) *model.LoadGenerator {
	sl := sc.LoadGenerator
	if sl == nil {
		return nil
	}
	lg := &model.LoadGenerator{Name: loadGeneratorName, Zone: sl.Zone, DeclRange: sl.DefRange}
	lg.ArtifactURL, lg.ArtifactSHA256, lg.LocalBuild = compileArtifact(d, sl.Artifact, target, model.PghacURLVar, model.PghacSHA256Var)
	// Tank reports and the operator reach it at its public address, whether or not the
	// database VMs have one.
	base := cv.vm
	if sc.VM == nil || sc.VM.PublicIP == nil {
		base.PublicIP = true
	}
	lg.VM, lg.Address = compileExtraVM(d, sc, c, extraVM{what: "load generator", name: lg.Name, def: sl.DefRange,
		zone: sl.Zone, zoneRange: sl.ZoneRange, address: sl.Address, addressRange: sl.AddressRange, vm: sl.VM}, base)
	return lg
}

// compileBastion resolves the bastion block: a small VM with a public address, in the
// cluster's network and with its image, whatever the cluster's vm block says of the shape.
// c.Nodes, c.Network and c.LoadGenerator must be compiled.
func compileBastion(d *diags, sc *schema.Cluster, cv clusterVM, c *model.Cluster, target model.Target) *model.Bastion {
	sb := sc.Bastion
	if sb == nil {
		return nil
	}
	b := &model.Bastion{Name: bastionName, Zone: sb.Zone, DeclRange: sb.DefRange}
	base := model.VM{Platform: cv.vm.Platform, Cores: defaultBastionCores, CoreFraction: defaultBastionCoreFraction,
		MemoryGB: defaultBastionMemoryGB, DiskSizeGB: defaultBastionDiskSizeGB, DiskType: defaultBastionDiskType, PublicIP: true}
	b.VM, b.Address = compileExtraVM(d, sc, c, extraVM{what: "bastion", name: b.Name, def: sb.DefRange,
		zone: sb.Zone, zoneRange: sb.ZoneRange, address: sb.Address, addressRange: sb.AddressRange, vm: sb.VM}, base)
	if c.LoadGenerator != nil && c.LoadGenerator.Address == b.Address && b.Address.IsValid() {
		d.extraVMAddress(sb.AddressRange, "bastion", b.Address, "the load generator", c.LoadGenerator.DeclRange)
	}
	if !b.VM.PublicIP && sb.VM != nil {
		d.bastionWithoutPublicIP(sb.VM.PublicIPRange)
	}
	// The sandbox makes no bastion (its host is inside the network): nothing unused there.
	if sc.Network != nil && sc.Network.JumpHost != nil && target != model.TargetSandbox {
		d.bastionUnused(sb.DefRange, sc.Network.JumpHostRange)
	}
	return b
}

// extraVM is the block of a VM that is no database node (the load generator, the bastion).
type extraVM struct {
	what, name              string // how messages call it; its VM's name
	def                     hcl.Range
	zone, address           string
	zoneRange, addressRange hcl.Range
	vm                      *schema.VM
}

// compileExtraVM resolves e's VM over base and its address, which must be in its zone's subnet
// and no node's.
func compileExtraVM(d *diags, sc *schema.Cluster, c *model.Cluster, e extraVM, base model.VM) (model.VM, netip.Addr) {
	vm := base
	def := vmRanges{e.def, e.def, e.def, e.def, e.def, e.def}
	if e.vm != nil {
		vm = overlayVM(vm, e.vm)
		if e.vm.ImageFamily != nil {
			d.extraVMImageFamily(e.vm.ImageFamilyRange, e.what)
		}
	}
	ranges := rangesOf(e.vm, def)
	if e.what == "load generator" {
		ranges = rangesOf(e.vm, rangesOf(sc.VM, def))
	}
	checkVM(d, vm, e.zone, ranges, e.what != "bastion")
	for _, n := range c.Nodes {
		if n.Name == e.name {
			d.extraVMNodeName(e.def, e.what, e.name, n.DeclRange)
		}
	}
	if !checkZone(d, e.zone, e.zoneRange) {
		return vm, netip.Addr{}
	}
	addr, err := netip.ParseAddr(e.address)
	if err != nil || !addr.Is4() {
		d.invalidAddress(e.addressRange, e.address)
		return vm, netip.Addr{}
	}
	for _, n := range c.Nodes {
		if n.Address == addr {
			d.extraVMAddress(e.addressRange, e.what, addr, fmt.Sprintf("node %q", n.Name), n.DeclRange)
		}
	}
	checkAddressInSubnet(d, addr, schema.Node{Name: e.name, Zone: e.zone, ZoneRange: e.zoneRange, AddressRange: e.addressRange}, c.Network)
	return vm, addr
}
