package compiler

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// clusterVM is the cluster's vm block with defaults applied, plus where each value came from.
type clusterVM struct {
	vm          model.VM
	family      string
	familyRange hcl.Range
}

// resolveClusterVM is the cluster's vm block over the defaults. With a bastion, pghac reaches
// the database VMs through it: they get no public address unless the block says so.
func resolveClusterVM(d *diags, v *schema.VM, bastion bool) clusterVM {
	cv := clusterVM{
		vm: model.VM{Platform: defaultPlatform, Cores: defaultCores, CoreFraction: defaultCoreFraction,
			MemoryGB: defaultMemoryGB, DiskSizeGB: defaultDiskSizeGB, DiskType: defaultDiskType, Preemptible: defaultPreemptible,
			PublicIP: defaultPublicIP && !bastion},
		family: defaultImageFamily,
	}
	if v == nil {
		return cv
	}
	cv.vm = overlayVM(cv.vm, v)
	if v.ImageFamily != nil {
		cv.family, cv.familyRange = *v.ImageFamily, v.ImageFamilyRange
	}
	return cv
}

// compileImage looks the cluster's image family up in images.go; ok is false when pghac does
// not know it.
func compileImage(d *diags, cv clusterVM) (os model.OS, ok bool) {
	os, ok = image(cv.family)
	if !ok {
		d.unsupportedImageFamily(cv.familyRange, imageFamilies())
	}
	return os, ok
}

func overlayVM(vm model.VM, v *schema.VM) model.VM {
	vm.Platform = deref(v.Platform, vm.Platform)
	vm.Cores = deref(v.Cores, vm.Cores)
	vm.CoreFraction = deref(v.CoreFraction, vm.CoreFraction)
	vm.MemoryGB = deref(v.MemoryGB, vm.MemoryGB)
	vm.Preemptible = deref(v.Preemptible, vm.Preemptible)
	vm.PublicIP = deref(v.PublicIP, vm.PublicIP)
	if v.Disk != nil {
		vm.DiskSizeGB = deref(v.Disk.SizeGB, vm.DiskSizeGB)
		vm.DiskType = deref(v.Disk.Type, vm.DiskType)
	}
	return vm
}

// vmRanges points each VM attribute at the block that set it last: the node's vm block, else
// the cluster's, else the node (a default).
type vmRanges struct{ platform, cores, fraction, memory, diskSize, diskType hcl.Range }

func rangesOf(v *schema.VM, r vmRanges) vmRanges {
	if v == nil {
		return r
	}
	if v.Platform != nil {
		r.platform = v.PlatformRange
	}
	if v.Cores != nil {
		r.cores = v.CoresRange
	}
	if v.CoreFraction != nil {
		r.fraction = v.CoreFractionRange
	}
	if v.MemoryGB != nil {
		r.memory = v.MemoryGBRange
	}
	if v.Disk != nil && v.Disk.SizeGB != nil {
		r.diskSize = v.Disk.SizeGBRange
	}
	if v.Disk != nil && v.Disk.Type != nil {
		r.diskType = v.Disk.TypeRange
	}
	return r
}

// checkVM checks one VM's size against its platform (platforms.go) in zone. A VM that runs
// the cluster's software (a node, the load generator) needs 2 GB; a bastion only forwards.
func checkVM(d *diags, vm model.VM, zone string, r vmRanges, runsCluster bool) {
	p, ok := findPlatform(vm.Platform)
	if !ok {
		d.unknownPlatform(r.platform, vm.Platform, platformIDs())
	} else {
		if contains(p.NotInZones, zone) {
			d.platformNotInZone(r.platform, p, zone)
		}
		switch {
		case vm.Cores < 2 || vm.Cores%2 != 0:
			d.oddCoreCount(r.cores, vm.Cores)
		case vm.Cores > p.MaxCores:
			d.tooManyCores(r.cores, p, vm.Cores)
		}
		if !containsInt(p.Fractions, vm.CoreFraction) {
			d.coreFractionNotOffered(r.fraction, p, vm.CoreFraction)
		} else if vm.CoreFraction < 50 && p.LowFractionMaxCores > 0 && vm.Cores > p.LowFractionMaxCores {
			d.lowCoreFractionTooManyCores(r.fraction, p, vm.CoreFraction)
		}
		lo, hi := p.MinGBPerCore, p.MaxGBPerCore
		if vm.CoreFraction < 100 {
			lo, hi = p.MinGBPerCoreShared, p.MaxGBPerCoreShared
		}
		if hi > 0 && vm.Cores > 0 {
			if per := vm.MemoryGB / float64(vm.Cores); per < lo || per > hi {
				d.memoryOutsidePlatform(r.memory, p, vm, lo, hi)
			}
		}
	}
	if vm.MemoryGB < 2 && runsCluster {
		d.tooLittleMemory(r.memory, vm.MemoryGB)
	}
	if !contains(diskTypes, vm.DiskType) {
		d.unknownDiskType(r.diskType, vm.DiskType, diskTypes)
	}
	switch {
	case vm.DiskSizeGB < 10:
		d.diskTooSmall(r.diskSize, vm.DiskSizeGB)
	case (vm.DiskType == "network-ssd-nonreplicated" || vm.DiskType == "network-ssd-io-m3") && vm.DiskSizeGB%nonreplicatedStepGB != 0:
		d.diskSizeNotInSteps(r.diskSize, vm.DiskType, vm.DiskSizeGB)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = itoa(v)
	}
	return strings.Join(s, ", ")
}

// preemptibleRange is where a node's preemptible = true was written: its own vm block, else
// the cluster's.
func preemptibleRange(cluster, node *schema.VM) hcl.Range {
	if node != nil && node.Preemptible != nil {
		return node.PreemptibleRange
	}
	return cluster.PreemptibleRange
}
