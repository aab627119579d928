package compiler

import (
	"net/netip"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// compileLoadGenerator resolves the load_generator block: one more VM, in the cluster's network
// and with the cluster's image. c.Nodes and c.Network must be compiled.
func compileLoadGenerator(d *diags, sc *schema.Cluster, cv clusterVM, c *model.Cluster) *model.LoadGenerator {
	sl := sc.LoadGenerator
	if sl == nil {
		return nil
	}
	lg := &model.LoadGenerator{Name: loadGeneratorName, Zone: sl.Zone, VM: cv.vm, DeclRange: sl.DefRange}
	lg.ArtifactURL, lg.ArtifactSHA256 = compileArtifact(d, sl.Artifact)
	def := vmRanges{sl.DefRange, sl.DefRange, sl.DefRange, sl.DefRange, sl.DefRange, sl.DefRange}
	if sl.VM != nil {
		lg.VM = overlayVM(lg.VM, sl.VM)
		if sl.VM.ImageFamily != nil {
			d.loadGeneratorImageFamily(sl.VM.ImageFamilyRange)
		}
	}
	checkVM(d, lg.VM, sl.Zone, rangesOf(sl.VM, rangesOf(sc.VM, def)))
	for _, n := range c.Nodes {
		if n.Name == lg.Name {
			d.loadGeneratorNodeName(sl.DefRange, lg.Name, n.DeclRange)
		}
	}
	if !checkZone(d, sl.Zone, sl.ZoneRange) {
		return lg
	}
	addr, err := netip.ParseAddr(sl.Address)
	if err != nil || !addr.Is4() {
		d.invalidAddress(sl.AddressRange, sl.Address)
		return lg
	}
	lg.Address = addr
	for _, n := range c.Nodes {
		if n.Address == addr {
			d.loadGeneratorNodeAddress(sl.AddressRange, addr, n)
		}
	}
	checkAddressInSubnet(d, addr, schema.Node{Name: lg.Name, Zone: sl.Zone, ZoneRange: sl.ZoneRange, AddressRange: sl.AddressRange}, c.Network)
	return lg
}

// requireLoadGeneratorArtifact: the load generator installs pghac in the cloud; the sandbox has
// none (the host runs the tests).
func requireLoadGeneratorArtifact(d *diags, sl *schema.LoadGenerator, target model.Target) {
	if sl != nil && sl.Artifact == nil && target != model.TargetSandbox {
		d.loadGeneratorWithoutArtifact(sl.DefRange)
	}
}
