package compiler

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// Compile resolves f for target. It returns the model only when there is no error
// diagnostic; warnings come with a model.
func Compile(f *schema.File, target model.Target) (*model.Cluster, hcl.Diagnostics) {
	var d diags
	if f == nil || f.Cluster == nil {
		var rng hcl.Range
		if f != nil {
			rng = hcl.Range{Filename: f.Filename, Start: hcl.InitialPos, End: hcl.InitialPos}
		}
		d.errorf(rng, "Missing cluster block", "There is no cluster to compile.")
		return nil, d.Diagnostics
	}
	sc := f.Cluster
	c := &model.Cluster{Name: sc.Name, Target: target, DeclRange: sc.DefRange}
	checkName(&d, "cluster", sc.Name, sc.NameRange)
	if len(sc.Name) > maxClusterName {
		d.errorf(sc.NameRange, "Name too long",
			"The cluster's name prefixes every cloud resource's name (<cluster>-<node>, <cluster>-<zone>, ...), which Yandex Cloud limits to 63 characters: keep it to %d.", maxClusterName)
	}
	if !contains(targetNames(), string(target)) {
		d.errorf(sc.DefRange, "Unknown target", "pghac cannot build for target %q. Targets: %s.", target, strings.Join(targetNames(), ", "))
	}

	cv := resolveClusterVM(&d, sc.VM)
	os, osOK := image(cv.family)
	if !osOK {
		d.errorf(cv.familyRange, "Unsupported image family",
			"pghac knows the packages and paths of these images only: %s.", strings.Join(imageFamilies(), ", "))
	}
	c.OS = os

	c.Network = compileNetwork(&d, sc)
	c.Nodes = compileNodes(&d, sc, cv, c.Network)
	c.DevSingleNode = deref(sc.DevSingleNode, false)
	checkQuorum(&d, sc, c)
	c.Etcd = compileEtcd(&d, sc)
	for _, n := range c.EtcdNodes() {
		c.Etcd.Members = append(c.Etcd.Members, n.Name)
	}
	c.Patroni = compilePatroni(&d, sc, c)
	c.PgBouncer = compilePgBouncer(&d, sc.PgBouncer)
	c.HAProxy = compileHAProxy(&d, sc.HAProxy)
	c.Postgres = compilePostgres(&d, sc, c, osOK)
	c.Backend = compileBackend(&d, sc.Backend, c.Network)
	if c.Backend != nil && sc.Backend.Artifact == nil && target != model.TargetSandbox {
		d.errorf(sc.Backend.DefRange, "Backend without artifact",
			"Every node downloads the backend binary: add artifact { url = \"https://...\", sha256 = \"...\" } with the location of a build of cmd/pghac-backend (make build puts one in bin/, and sha256sum prints its checksum). The sandbox serves its own build and needs none.")
	}
	c.Roles = compileRoles(&d, sc, c)
	c.Databases = compileDatabases(&d, sc, c)
	c.LoadGenerator = compileLoadGenerator(&d, sc, cv, c)
	if c.LoadGenerator != nil && sc.LoadGenerator.Artifact == nil && target != model.TargetSandbox {
		d.errorf(sc.LoadGenerator.DefRange, "Load generator without artifact",
			"The load generator installs pghac to run the load tests: add artifact { url = \"https://...\", sha256 = \"...\" } with the location of a linux/amd64 build of cmd/pghac (bin/pghac after make build). The sandbox has none: the host runs the tests.")
	}
	c.LoadBalancer = compileLoadBalancer(&d, sc, c.Network)
	c.State = compileState(&d, sc)
	c.LoadTests = compileLoadTests(&d, sc, c)
	checkPorts(&d, sc, c)
	sandbox := compileSandbox(&d, sc)
	if target == model.TargetSandbox {
		c.Sandbox = sandbox
		localize(&d, sc, c, cv)
	}

	if d.HasErrors() {
		return nil, d.Diagnostics
	}
	return c, d.Diagnostics
}

func targetNames() []string {
	out := make([]string, len(model.Targets))
	for i, t := range model.Targets {
		out[i] = string(t)
	}
	return out
}

// maxClusterName leaves room in 63 characters for the longest suffix pghac adds to it (a zone
// name, "-ru-central1-a", or a node name as long as the cluster's).
const maxClusterName = 30

var (
	nameRE   = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	identRE  = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`) // a PostgreSQL identifier that needs no quoting
	sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// checkName: names become hostnames, etcd member names and Terraform resource names.
func checkName(d *diags, what, name string, rng hcl.Range) {
	if !nameRE.MatchString(name) {
		d.errorf(rng, "Invalid "+what+" name",
			"%q can't be used as a %s name: use lowercase letters, digits and dashes, starting with a letter (at most 63 characters), because it becomes a hostname.", name, what)
	}
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// clusterVM is the cluster's vm block with defaults applied, plus where each value came from.
type clusterVM struct {
	vm          model.VM
	family      string
	familyRange hcl.Range
}

func resolveClusterVM(d *diags, v *schema.VM) clusterVM {
	cv := clusterVM{
		vm: model.VM{Platform: defaultPlatform, Cores: defaultCores, CoreFraction: defaultCoreFraction,
			MemoryGB: defaultMemoryGB, DiskSizeGB: defaultDiskSizeGB, DiskType: defaultDiskType, Preemptible: defaultPreemptible,
			PublicIP: defaultPublicIP},
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

func compileNetwork(d *diags, sc *schema.Cluster) model.Network {
	var n model.Network
	if sc.Network == nil {
		d.errorf(sc.DefRange, "Missing network block",
			`The cluster needs a network block with one subnet per zone, like network { subnet "ru-central1-a" { cidr = "10.128.0.0/24" } }.`)
		return n
	}
	seen := map[string]hcl.Range{}
	for _, s := range sc.Network.Subnets {
		if first, dup := seen[s.Zone]; dup {
			d.errorf(s.ZoneRange, "Duplicate subnet zone",
				"A subnet for zone %q was already declared at %s. Each zone has one subnet.", s.Zone, at(first))
			continue
		}
		seen[s.Zone] = s.ZoneRange
		checkZone(d, s.Zone, s.ZoneRange)
		p, ok := parseCIDR(d, s.CIDR, s.CIDRRange)
		if !ok {
			// Remember the zone so that its nodes are not also told it has no subnet.
			n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, DeclRange: s.CIDRRange})
			continue
		}
		if !p.Addr().Is4() || !isPrivate(p) {
			d.errorf(s.CIDRRange, "Subnet outside the private ranges",
				"%s is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16; Yandex VPC subnets use private IPv4 ranges.", p)
			n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, DeclRange: s.CIDRRange})
			continue
		}
		if p.Bits() < 16 || p.Bits() > 28 {
			d.errorf(s.CIDRRange, "Invalid subnet size",
				"%s has a /%d prefix; Yandex VPC subnets are /16 to /28.", p, p.Bits())
			n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, DeclRange: s.CIDRRange})
			continue
		}
		for _, other := range n.Subnets {
			if other.CIDR.IsValid() && other.CIDR.Overlaps(p) {
				d.errorf(s.CIDRRange, "Overlapping subnets",
					"%s overlaps %s of zone %s, declared at %s. Subnets of one network must not overlap.", p, other.CIDR, other.Zone, at(other.DeclRange))
			}
		}
		n.Subnets = append(n.Subnets, model.Subnet{Zone: s.Zone, CIDR: p, DeclRange: s.CIDRRange})
	}
	if len(sc.Network.Subnets) == 0 {
		d.errorf(sc.Network.DefRange, "Missing subnets",
			`Declare one subnet per zone that holds a node, like subnet "ru-central1-a" { cidr = "10.128.0.0/24" }.`)
	}
	sort.Slice(n.Subnets, func(i, j int) bool { return n.Subnets[i].Zone < n.Subnets[j].Zone })

	n.AdminCIDRs = cidrList(d, sc.Network.AdminCIDRs)
	for i, p := range n.AdminCIDRs {
		if p.Bits() == 0 {
			d.warnf(sc.Network.AdminCIDRs[i].Range, "SSH open to the internet",
				"%s lets anyone try to log in over SSH. List the networks your administrators come from.", p)
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
				d.warnf(sc.Network.ClientCIDRs[i].Range, "Database endpoints open to the internet",
					"%s lets anyone reach HAProxy's primary and replica ports (passwords are all that is left). List your application networks instead.", p)
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
		d.errorf(rng, "Invalid CIDR", "%q is not a CIDR block: write an IPv4 network and prefix length, like \"10.128.0.0/24\".", s)
		return p, false
	}
	if !p.Addr().Is4() {
		d.errorf(rng, "IPv6 not supported", "%q is an IPv6 network; Yandex VPC subnets and security group rules here are IPv4 only.", s)
		return p, false
	}
	if p.Masked() != p {
		d.errorf(rng, "Invalid CIDR", "%q has host bits set: the network is %s.", s, p.Masked())
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

func checkZone(d *diags, zone string, rng hcl.Range) bool {
	if repl, retired := retiredZones[zone]; retired {
		d.errorf(rng, "Retired zone", "%s no longer takes new resources. Use %s instead.", zone, repl)
		return false
	}
	if !contains(zones, zone) {
		d.errorf(rng, "Unknown zone", "%q is not a Yandex Cloud availability zone. Zones: %s.", zone, strings.Join(zones, ", "))
		return false
	}
	return true
}

func compileNodes(d *diags, sc *schema.Cluster, cv clusterVM, net model.Network) []model.Node {
	if len(sc.Nodes) == 0 {
		d.errorf(sc.DefRange, "No nodes", `Declare the cluster's nodes, like node "node0" { zone = "ru-central1-a"  address = "10.128.0.16" }.`)
		return nil
	}
	names := map[string]hcl.Range{}
	addrs := map[netip.Addr]hcl.Range{}
	var nodes []model.Node
	for _, sn := range sc.Nodes {
		if first, dup := names[sn.Name]; dup {
			d.errorf(sn.NameRange, "Duplicate node name",
				"A node named %q was already declared at %s. Node names must be unique.", sn.Name, at(first))
			continue
		}
		names[sn.Name] = sn.NameRange
		checkName(d, "node", sn.Name, sn.NameRange)
		if n := len(sc.Name) + 1 + len(sn.Name); n > 63 && nameRE.MatchString(sn.Name) {
			d.errorf(sn.NameRange, "Name too long",
				"Cloud resources are named <cluster>-<node>: %q is %d characters, more than the 63 Yandex Cloud allows. Shorten the cluster or node name.", sc.Name+"-"+sn.Name, n)
		}

		n := model.Node{Name: sn.Name, Zone: sn.Zone, EtcdMember: deref(sn.EtcdMember, true), DeclRange: sn.DefRange}
		n.VM = cv.vm
		if sn.VM != nil {
			n.VM = overlayVM(n.VM, sn.VM)
			if sn.VM.ImageFamily != nil {
				d.errorf(sn.VM.ImageFamilyRange, "Image family set per node",
					"All nodes run the same image, because their PostgreSQL versions must match. Set image_family in the cluster's vm block.")
			}
		}
		def := vmRanges{sn.DefRange, sn.DefRange, sn.DefRange, sn.DefRange, sn.DefRange, sn.DefRange}
		checkVM(d, n.VM, n.Zone, rangesOf(sn.VM, rangesOf(sc.VM, def)))

		zoneOK := checkZone(d, sn.Zone, sn.ZoneRange)
		addr, err := netip.ParseAddr(sn.Address)
		if err != nil || !addr.Is4() {
			d.errorf(sn.AddressRange, "Invalid address", "%q is not an IPv4 address.", sn.Address)
			nodes = append(nodes, n)
			continue
		}
		n.Address = addr
		if first, dup := addrs[addr]; dup {
			d.errorf(sn.AddressRange, "Duplicate node address",
				"%s is already the address of the node declared at %s. Each node needs its own address.", addr, at(first))
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
			d.errorf(sn.AddressRange, "Address outside its subnet",
				"%s is not in %s, the subnet of zone %s declared at %s. Pick an address inside it.", addr, s.CIDR, s.Zone, at(s.DeclRange))
			return
		}
		// Yandex VPC keeps the network address, the gateway (.1) and DNS (.2), and the last one.
		first := s.CIDR.Addr()
		last := lastAddr(s.CIDR)
		if addr == first || addr == first.Next() || addr == first.Next().Next() || addr == last {
			d.errorf(sn.AddressRange, "Reserved address",
				"%s is reserved in %s (network, gateway, DNS or broadcast address). Pick another address.", addr, s.CIDR)
		}
		return
	}
	d.errorf(sn.ZoneRange, "No subnet for zone",
		"Node %q is in zone %s, but the network block has no subnet for it. Add subnet %q { cidr = \"...\" }.", sn.Name, sn.Zone, sn.Zone)
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func checkVM(d *diags, vm model.VM, zone string, r vmRanges) {
	p, ok := findPlatform(vm.Platform)
	if !ok {
		d.errorf(r.platform, "Unknown platform", "%q is not a platform pghac knows. Platforms: %s.", vm.Platform, strings.Join(platformIDs(), ", "))
	} else {
		if contains(p.NotInZones, zone) {
			d.errorf(r.platform, "Platform not offered in zone", "%s (%s) is not offered in %s. Use standard-v3.", p.ID, p.CPU, zone)
		}
		switch {
		case vm.Cores < 2 || vm.Cores%2 != 0:
			d.errorf(r.cores, "Invalid core count", "cores = %d: Yandex VMs have an even number of vCPUs, at least 2.", vm.Cores)
		case vm.Cores > p.MaxCores:
			d.errorf(r.cores, "Invalid core count", "%s allows at most %d vCPUs per VM; cores = %d.", p.ID, p.MaxCores, vm.Cores)
		}
		if !containsInt(p.Fractions, vm.CoreFraction) {
			d.errorf(r.fraction, "Invalid core fraction", "%s allows core_fraction %s; got %d.", p.ID, joinInts(p.Fractions), vm.CoreFraction)
		} else if vm.CoreFraction < 50 && p.LowFractionMaxCores > 0 && vm.Cores > p.LowFractionMaxCores {
			d.errorf(r.fraction, "Invalid core fraction", "%s allows core_fraction %d with at most %d vCPUs.", p.ID, vm.CoreFraction, p.LowFractionMaxCores)
		}
		lo, hi := p.MinGBPerCore, p.MaxGBPerCore
		if vm.CoreFraction < 100 {
			lo, hi = p.MinGBPerCoreShared, p.MaxGBPerCoreShared
		}
		if hi > 0 && vm.Cores > 0 {
			if per := vm.MemoryGB / float64(vm.Cores); per < lo || per > hi {
				d.errorf(r.memory, "Memory outside the platform's range",
					"%s at %d%% core fraction allows %g-%g GB per vCPU: with %d vCPUs, memory_gb must be between %g and %g; got %g.",
					p.ID, vm.CoreFraction, lo, hi, vm.Cores, lo*float64(vm.Cores), hi*float64(vm.Cores), vm.MemoryGB)
			}
		}
	}
	if vm.MemoryGB < 2 {
		d.errorf(r.memory, "Too little memory", "memory_gb = %g: etcd, Patroni, PostgreSQL, PgBouncer and HAProxy need at least 2 GB.", vm.MemoryGB)
	}
	if !contains(diskTypes, vm.DiskType) {
		d.errorf(r.diskType, "Unknown disk type", "%q is not a disk type. Types: %s.", vm.DiskType, strings.Join(diskTypes, ", "))
	}
	switch {
	case vm.DiskSizeGB < 10:
		d.errorf(r.diskSize, "Disk too small", "size_gb = %d: the image, PostgreSQL and its WAL need at least 10 GB.", vm.DiskSizeGB)
	case (vm.DiskType == "network-ssd-nonreplicated" || vm.DiskType == "network-ssd-io-m3") && vm.DiskSizeGB%nonreplicatedStepGB != 0:
		d.errorf(r.diskSize, "Invalid disk size", "%s disks come in steps of %d GB; size_gb = %d.", vm.DiskType, nonreplicatedStepGB, vm.DiskSizeGB)
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

// checkQuorum: etcd needs an odd number of members, at least 3, to keep a majority through the
// loss of one; a one-node development cluster must say so.
func checkQuorum(d *diags, sc *schema.Cluster, c *model.Cluster) {
	if len(c.Nodes) == 0 {
		return
	}
	members := c.EtcdNodes()
	if c.DevSingleNode {
		if len(c.Nodes) != 1 {
			d.errorf(sc.DevSingleNodeRange, "Development flag on a multi-node cluster",
				"dev_single_node is for a cluster of exactly one node; this one has %d. Remove the flag.", len(c.Nodes))
			return
		}
		d.warnf(sc.DevSingleNodeRange, "Single-node development cluster",
			"A one-node cluster has no failover and no replica: use it for development only.")
		if len(members) != 1 {
			d.errorf(c.Nodes[0].DeclRange, "No etcd member", "The single node must run etcd: remove etcd_member = false.")
		}
		return
	}
	switch {
	case len(members) < 3:
		d.errorf(sc.NameRange, "Too few etcd members",
			"The cluster has %d etcd member(s); etcd needs at least 3 to survive losing one. Add nodes, or set dev_single_node = true for a one-node development cluster.", len(members))
	case len(members)%2 == 0:
		last := sc.Nodes[len(sc.Nodes)-1]
		for _, sn := range sc.Nodes {
			if deref(sn.EtcdMember, true) {
				last = sn
			}
		}
		d.errorf(last.NameRange, "Even number of etcd members",
			"The cluster has %d etcd members: an even number tolerates no more failures than one member fewer, and splits votes. Set etcd_member = false on one node (for example this one).", len(members))
	}
}

func compileEtcd(d *diags, sc *schema.Cluster) model.Etcd {
	e := model.Etcd{ClientPort: defaultEtcdClientPort, PeerPort: defaultEtcdPeerPort, Token: "pghac-" + sc.Name,
		HeartbeatInterval: defaultEtcdHeartbeat, ElectionTimeout: defaultEtcdElection}
	se := sc.Etcd
	if se == nil {
		return e
	}
	e.ClientPort = deref(se.ClientPort, e.ClientPort)
	e.PeerPort = deref(se.PeerPort, e.PeerPort)
	hbOK := raftTiming(d, se.HeartbeatInterval, &e.HeartbeatInterval, "heartbeat_interval", se.HeartbeatIntervalRange)
	elOK := raftTiming(d, se.ElectionTimeout, &e.ElectionTimeout, "election_timeout", se.ElectionTimeoutRange)
	hb, el := e.HeartbeatInterval, e.ElectionTimeout
	if elOK && el > maxEtcdElection {
		d.errorf(se.ElectionTimeoutRange, "etcd election timeout too long",
			"election_timeout = %s; etcd refuses to start with more than %dms. Members would also take that long to notice a lost leader: about 10 heartbeats is enough.",
			el, maxEtcdElection.Milliseconds())
		return e
	}
	if !elOK || !hbOK {
		return e
	}
	// A rule between the two belongs to the one the user wrote; election_timeout when both.
	ruleRange := orRange(se.ElectionTimeoutRange, se.ElectionTimeout != nil, se.HeartbeatIntervalRange)
	elText, fix := el.String(), "Raise"
	if se.ElectionTimeout == nil {
		elText, fix = elText+" (the default)", "Set"
	}
	if minimum := minEtcdElectionHeartbeats * hb; el < minimum {
		d.errorf(ruleRange, "etcd election timeout too short",
			"election_timeout = %s is less than %d x heartbeat_interval (%d x %s = %s), and etcd refuses to start then. %s election_timeout to at least %dms (pghac's default is 10 heartbeats) or lower heartbeat_interval.",
			elText, minEtcdElectionHeartbeats, minEtcdElectionHeartbeats, hb, minimum, fix, minimum.Milliseconds())
	} else if el%hb != 0 {
		// etcd counts the timeout in whole heartbeats, rounding down.
		d.warnf(ruleRange, "etcd election timeout not a multiple of the heartbeat",
			"etcd counts election_timeout in whole heartbeats: %s with heartbeat_interval = %s acts as %s. Use a multiple of heartbeat_interval.",
			elText, hb, el/hb*hb)
	}
	return e
}

// raftTiming sets *dst from an etcd timing attribute, when it is set and valid: a positive
// whole number of milliseconds, which is all etcd's flags take. It reports whether the value
// (or the default) can be used.
func raftTiming(d *diags, v *string, dst *time.Duration, name string, rng hcl.Range) bool {
	if v == nil {
		return true
	}
	if strings.HasPrefix(strings.TrimSpace(*v), "-") {
		d.errorf(rng, "Invalid duration", "%s = %q; it must be positive.", name, *v)
		return false
	}
	n := len(d.Diagnostics)
	dur := duration(d, v, 0, name, rng, time.Millisecond)
	switch {
	case len(d.Diagnostics) > n:
		return false
	case dur == 0:
		d.errorf(rng, "Invalid duration", "%s = %q; it must be positive: etcd refuses to start with 0.", name, *v)
		return false
	}
	*dst = dur
	return true
}

func compilePatroni(d *diags, sc *schema.Cluster, c *model.Cluster) model.Patroni {
	p := model.Patroni{
		Scope: sc.Name, Namespace: "/service/",
		TTL: defaultTTL, LoopWait: defaultLoopWait, RetryTimeout: defaultRetryTimeout,
		SynchronousMode: defaultSynchronousMode, SynchronousModeStrict: defaultSynchronousStrict,
		FailsafeMode: c.OS.SupportsFailsafe, UsePgRewind: defaultUsePgRewind,
		RestAPIPort: defaultRestAPIPort, Watchdog: defaultWatchdog,
	}
	lag, _ := parseSize(defaultMaximumLagOnFailover)
	p.MaximumLagOnFailover = lag
	sp := sc.Patroni
	if sp == nil {
		sp = &schema.Patroni{DefRange: sc.DefRange}
	}
	p.TTL = deref(sp.TTL, p.TTL)
	p.LoopWait = deref(sp.LoopWait, p.LoopWait)
	p.RetryTimeout = deref(sp.RetryTimeout, p.RetryTimeout)
	p.SynchronousMode = deref(sp.SynchronousMode, p.SynchronousMode)
	p.SynchronousModeStrict = deref(sp.SynchronousModeStrict, p.SynchronousModeStrict)
	p.FailsafeMode = deref(sp.FailsafeMode, p.FailsafeMode)
	p.UsePgRewind = deref(sp.UsePgRewind, p.UsePgRewind)
	p.RestAPIPort = deref(sp.RestAPIPort, p.RestAPIPort)
	p.Watchdog = deref(sp.Watchdog, p.Watchdog)

	ttlRange := orRange(sp.TTLRange, sp.TTL != nil, sp.DefRange)
	minimum := func(v, lo int, name string, rng hcl.Range, set bool) bool {
		if v < lo {
			d.errorf(orRange(rng, set, sp.DefRange), "Patroni "+name+" too low", "%s = %d; Patroni requires at least %d.", name, v, lo)
			return false
		}
		return true
	}
	ok := minimum(p.TTL, minTTL, "ttl", sp.TTLRange, sp.TTL != nil)
	ok = minimum(p.LoopWait, minLoopWait, "loop_wait", sp.LoopWaitRange, sp.LoopWait != nil) && ok
	ok = minimum(p.RetryTimeout, minRetryTimeout, "retry_timeout", sp.RetryTimeoutRange, sp.RetryTimeout != nil) && ok
	if ok && p.LoopWait+2*p.RetryTimeout > p.TTL {
		d.errorf(ttlRange, "Patroni timings break the leader lease",
			"loop_wait + 2*retry_timeout = %d + 2*%d = %d exceeds ttl = %d: the leader could lose its lock while still retrying the DCS, and two primaries could run. Raise ttl to at least %d or lower the others.",
			p.LoopWait, p.RetryTimeout, p.LoopWait+2*p.RetryTimeout, p.TTL, p.LoopWait+2*p.RetryTimeout)
	}
	if sp.MaximumLagOnFailover != nil {
		if n, err := parseSize(*sp.MaximumLagOnFailover); err != nil {
			d.errorf(sp.MaximumLagOnFailoverRange, "Invalid size", "maximum_lag_on_failover: %s.", err)
		} else {
			p.MaximumLagOnFailover = n
		}
	}
	if p.FailsafeMode && !c.OS.SupportsFailsafe && c.OS.ImageFamily != "" {
		d.errorf(sp.FailsafeModeRange, "failsafe_mode not supported by the image",
			"%s ships Patroni %s; failsafe_mode needs Patroni 3.0 or later. Remove it or use another image_family.", c.OS.Name, c.OS.PatroniVersion)
	}
	if !contains([]string{"off", "automatic", "required"}, p.Watchdog) {
		d.errorf(sp.WatchdogRange, "Invalid watchdog mode", "watchdog = %q; use \"off\", \"automatic\" or \"required\".", p.Watchdog)
	}
	replicas := len(c.Nodes) - 1
	syncRange := orRange(sp.SynchronousModeRange, sp.SynchronousMode != nil, sc.NameRange)
	switch {
	case c.DevSingleNode:
		// No replica to wait for: the default turns off, and asking for it is a mistake.
		if sp.SynchronousMode == nil {
			p.SynchronousMode = false
		} else if p.SynchronousMode && p.SynchronousModeStrict {
			d.errorf(sp.SynchronousModeStrictRange, "Strict synchronous mode without replicas",
				"A single-node cluster has no replica to confirm writes, so strict synchronous mode would block every write. Remove synchronous_mode_strict.")
		} else if p.SynchronousMode {
			d.warnf(syncRange, "Synchronous mode without replicas",
				"A single-node cluster has no replica; synchronous_mode has no effect.")
		}
	case p.SynchronousMode && replicas == 1 && p.SynchronousModeStrict:
		d.warnf(syncRange, "Synchronous mode with too few replicas",
			"With synchronous_mode_strict and one replica, losing that replica stops all writes. Add a node or turn strict mode off.")
	case p.SynchronousMode && replicas == 1:
		d.warnf(syncRange, "Synchronous mode with too few replicas",
			"With one replica, losing it turns replication asynchronous until it returns, and a failover in that window can lose acknowledged writes. Add a node.")
	}
	return p
}

// orRange picks the attribute's range when it was set, else the enclosing block's.
func orRange(r hcl.Range, set bool, fallback hcl.Range) hcl.Range {
	if set {
		return r
	}
	return fallback
}

func compilePostgres(d *diags, sc *schema.Cluster, c *model.Cluster, osOK bool) model.Postgres {
	pg := model.Postgres{Major: c.OS.PostgresMajor, Port: defaultPostgresPort}
	if sp := sc.Postgres; sp != nil {
		pg.Port = deref(sp.Port, pg.Port)
		if sp.Version != nil && osOK && *sp.Version != c.OS.PostgresMajor {
			var other []string
			for _, fam := range imageFamilies() {
				if os, _ := image(fam); os.PostgresMajor == *sp.Version {
					other = append(other, fam)
				}
			}
			hint := "No supported image ships it."
			if len(other) > 0 {
				hint = fmt.Sprintf("Images that ship it: %s.", strings.Join(other, ", "))
			}
			d.errorf(sp.VersionRange, "PostgreSQL version does not match the image",
				"%s ships PostgreSQL %d, not %d. Remove version (it follows the image) or change image_family. %s",
				c.OS.Name, c.OS.PostgresMajor, *sp.Version, hint)
		}
	}
	if len(c.Nodes) == 0 {
		return pg
	}
	var params *schema.Parameters
	if sc.Postgres != nil {
		params = sc.Postgres.Parameters
	}
	pg.Parameters = applyUserParameters(d, deriveParameters(c.Nodes, c.PgBouncer.DefaultPoolSize), params)
	return pg
}

func compilePgBouncer(d *diags, sp *schema.PgBouncer) model.PgBouncer {
	b := model.PgBouncer{Port: defaultPgBouncerPort, PoolMode: defaultPoolMode,
		MaxClientConn: defaultMaxClientConn, ServerLoginRetry: defaultServerLoginRetry, QueryWaitTimeout: defaultQueryWaitTimeout}
	var poolSize *int
	var poolSizeRange hcl.Range
	if sp != nil {
		b.Port = deref(sp.Port, b.Port)
		b.PoolMode = deref(sp.PoolMode, b.PoolMode)
		if checkPoolMode(d, b.PoolMode, sp.PoolModeRange) && b.PoolMode != model.PoolSession {
			d.warnf(sp.PoolModeRange, "Pooling that breaks prepared statements",
				"pool_mode = %q applies to every client of the HAProxy ports, whatever it is. PgBouncer 1.18 (Debian 12) does not keep protocol-level prepared statements across server connections, so clients that prepare them fail with \"prepared statement ... does not exist\": asyncpg, JDBC (after 5 executions), Npgsql, pgx in its default mode and many ORMs. Keep the default \"session\", or set pool_mode on the database blocks of the clients you know use the simple protocol.", b.PoolMode)
		}
		poolSize, poolSizeRange = sp.DefaultPoolSize, sp.DefaultPoolSizeRange
		b.MaxClientConn = positive(d, sp.MaxClientConn, b.MaxClientConn, "max_client_conn", sp.MaxClientConnRange)
		b.ServerLoginRetry = duration(d, sp.ServerLoginRetry, b.ServerLoginRetry, "server_login_retry", sp.ServerLoginRetryRange, time.Second)
		b.QueryWaitTimeout = duration(d, sp.QueryWaitTimeout, b.QueryWaitTimeout, "query_wait_timeout", sp.QueryWaitTimeoutRange, time.Second)
	}
	// In session pooling every client session holds a server connection as long as it
	// lasts, idle or not: a pool must be as large as the sessions it serves.
	def := defaultSessionPoolSize
	if b.PoolMode != model.PoolSession {
		def = defaultTransactionPoolSize
	}
	b.DefaultPoolSize = positive(d, poolSize, def, "default_pool_size", poolSizeRange)
	return b
}

func compileHAProxy(d *diags, sh *schema.HAProxy) model.HAProxy {
	h := model.HAProxy{PrimaryPort: defaultPrimaryPort, ReplicaPort: defaultReplicaPort, StatsPort: defaultStatsPort,
		MaxConn: defaultHAProxyMaxCon, Check: model.HealthCheck{Inter: defaultCheckInter, Fall: defaultCheckFall, Rise: defaultCheckRise}}
	h.ReplicaMaxLagBytes, _ = parseSize(defaultReplicaMaxLag)
	if sh == nil {
		return h
	}
	h.PrimaryPort = deref(sh.PrimaryPort, h.PrimaryPort)
	h.ReplicaPort = deref(sh.ReplicaPort, h.ReplicaPort)
	h.StatsPort = deref(sh.StatsPort, h.StatsPort)
	h.MaxConn = positive(d, sh.MaxConn, h.MaxConn, "maxconn", sh.MaxConnRange)
	if sh.ReplicaMaxLag != nil {
		if n, err := parseSize(*sh.ReplicaMaxLag); err != nil {
			d.errorf(sh.ReplicaMaxLagRange, "Invalid size", "replica_max_lag: %s.", err)
		} else {
			h.ReplicaMaxLagBytes = n
		}
	}
	if ck := sh.Check; ck != nil {
		h.Check.Inter = duration(d, ck.Inter, h.Check.Inter, "inter", ck.InterRange, time.Millisecond)
		h.Check.Fall = positive(d, ck.Fall, h.Check.Fall, "fall", ck.FallRange)
		h.Check.Rise = positive(d, ck.Rise, h.Check.Rise, "rise", ck.RiseRange)
		switch {
		case h.Check.Inter <= 0:
			// "0s" parses; HAProxy would refuse it, after the build.
			d.errorf(ck.InterRange, "Invalid duration", "inter = %s: the check interval must be positive (at least 100ms).", h.Check.Inter)
		case h.Check.Inter < 100*time.Millisecond:
			d.errorf(ck.InterRange, "Health check too frequent", "inter = %s would flood Patroni's REST API; use at least 100ms.", h.Check.Inter)
		}
		if slow := h.Check.Inter * time.Duration(h.Check.Fall); slow > 5*time.Second {
			d.warnf(ck.InterRange, "Slow health checks",
				"HAProxy takes inter x fall = %s to take a failed primary out; during that window it can route writes to a demoted node, and both old and new primary can show UP. inter 1s, fall 2 measured ~2 s graceful failovers here.", slow)
		}
	}
	return h
}

func compileBackend(d *diags, sb *schema.Backend, net model.Network) *model.Backend {
	if sb == nil {
		return nil
	}
	b := &model.Backend{Port: deref(sb.Port, defaultBackendPort), Database: deref(sb.Database, defaultBackendDatabase),
		User: deref(sb.User, defaultBackendUser), DeclRange: sb.DefRange}
	if sb.AllowFrom == nil {
		b.AllowFrom = net.ClientCIDRs
	} else {
		b.AllowFrom = cidrList(d, sb.AllowFrom)
		for i, p := range b.AllowFrom {
			if p.Bits() == 0 && !deref(sb.Public, false) {
				d.warnf(sb.AllowFrom[i].Range, "Backend open to the internet",
					"%s exposes the backend's port %d to everyone. If that is intended, say so with public = true in the backend block; otherwise list the networks your clients use.", p, b.Port)
			}
		}
	}
	if !identRE.MatchString(b.Database) {
		d.errorf(sb.DatabaseRange, "Invalid database name", "%q: use lowercase letters, digits and underscores, starting with a letter.", b.Database)
	}
	if !identRE.MatchString(b.User) || b.User == model.SuperuserName || b.User == model.ReplicationUser || b.User == model.RewindUser {
		d.errorf(sb.UserRange, "Invalid database user", "%q: use lowercase letters, digits and underscores, and not one of pghac's own roles (postgres, replicator, rewinder).", b.User)
	}
	b.ArtifactURL, b.ArtifactSHA256 = compileArtifact(d, sb.Artifact)
	return b
}

// compileArtifact checks a downloadable binary's location and checksum; "" for a nil block.
func compileArtifact(d *diags, a *schema.Artifact) (url, sha256 string) {
	if a == nil {
		return "", ""
	}
	if strings.Contains(a.URL, "${") || strings.Contains(a.URL, "%{") {
		d.errorf(a.URLRange, "Invalid artifact URL", "%q: the URL is written into a Terraform template, where ${ and %%{ start an expression; percent-encode them.", a.URL)
	}
	if !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") {
		d.errorf(a.URLRange, "Invalid artifact URL", "%q: the binary is fetched over HTTP(S); give an http:// or https:// URL.", a.URL)
	}
	if !sha256RE.MatchString(a.SHA256) {
		d.errorf(a.SHA256Range, "Invalid SHA-256", "sha256 must be 64 hexadecimal digits (the output of sha256sum).")
	}
	return a.URL, strings.ToLower(a.SHA256)
}

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
			d.errorf(sl.VM.ImageFamilyRange, "Image family set per VM",
				"The load generator runs the cluster's image. Set image_family in the cluster's vm block.")
		}
	}
	checkVM(d, lg.VM, sl.Zone, rangesOf(sl.VM, rangesOf(sc.VM, def)))
	for _, n := range c.Nodes {
		if n.Name == lg.Name {
			d.errorf(sl.DefRange, "Duplicate node name", "The load generator's VM is named %q, like the node declared at %s. Rename the node.", lg.Name, at(n.DeclRange))
		}
	}
	if !checkZone(d, sl.Zone, sl.ZoneRange) {
		return lg
	}
	addr, err := netip.ParseAddr(sl.Address)
	if err != nil || !addr.Is4() {
		d.errorf(sl.AddressRange, "Invalid address", "%q is not an IPv4 address.", sl.Address)
		return lg
	}
	lg.Address = addr
	for _, n := range c.Nodes {
		if n.Address == addr {
			d.errorf(sl.AddressRange, "Duplicate node address",
				"%s is already the address of node %q, declared at %s. The load generator needs its own address.", addr, n.Name, at(n.DeclRange))
		}
	}
	checkAddressInSubnet(d, addr, schema.Node{Name: lg.Name, Zone: sl.Zone, ZoneRange: sl.ZoneRange, AddressRange: sl.AddressRange}, c.Network)
	return lg
}

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
				d.errorf(sb.ZoneRange, "No subnet for zone",
					"An internal load balancer takes its address from a subnet, and the network block has none in %s.", lb.Zone)
			}
		}
	case "external":
		if sb.Zone != nil {
			d.errorf(sb.ZoneRange, "Zone of an external load balancer", "An external load balancer has a public address and no zone: remove zone.")
		}
		d.warnf(sb.TypeRange, "Primary reachable from the internet",
			"An external load balancer gives the primary's PgBouncer a public address; only passwords protect it. Prefer type = \"internal\".")
	default:
		d.errorf(sb.TypeRange, "Invalid load balancer type", "type = %q; use \"internal\" or \"external\".", lb.Type)
	}
	if lb.Port < 1 || lb.Port > 65535 {
		d.errorf(sb.PortRange, "Invalid port", "port = %d; use a port from 1 to 65535.", lb.Port)
	}
	return lb
}

// bucketRE is Object Storage's rule for bucket names (S3's, without the dotted-IP form).
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func compileState(d *diags, sc *schema.Cluster) *model.State {
	ss := sc.State
	if ss == nil {
		return nil
	}
	st := &model.State{Bucket: ss.Bucket, Key: deref(ss.Key, "pghac/"+sc.Name+"/terraform.tfstate"), DeclRange: ss.DefRange}
	if !bucketRE.MatchString(st.Bucket) || strings.Contains(st.Bucket, "..") {
		d.errorf(ss.BucketRange, "Invalid bucket name",
			"%q is not an Object Storage bucket name: 3-63 lowercase letters, digits, dots and dashes, starting and ending with a letter or digit.", st.Bucket)
	}
	if st.Key == "" || strings.HasPrefix(st.Key, "/") || strings.HasSuffix(st.Key, "/") {
		d.errorf(ss.KeyRange, "Invalid state key", "key = %q; give an object name like \"pghac/main/terraform.tfstate\", without a leading or trailing slash.", st.Key)
	}
	return st
}

func positive(d *diags, v *int, def int, name string, rng hcl.Range) int {
	if v == nil {
		return def
	}
	if *v < 1 {
		d.errorf(rng, "Invalid "+name, "%s = %d; it must be at least 1.", name, *v)
		return def
	}
	return *v
}

func duration(d *diags, v *string, def time.Duration, name string, rng hcl.Range, unit time.Duration) time.Duration {
	if v == nil {
		return def
	}
	dur, err := parseDuration(*v)
	if err != nil {
		d.errorf(rng, "Invalid duration", "%s: %s.", name, err)
		return def
	}
	if dur%unit != 0 {
		d.errorf(rng, "Invalid duration", "%s = %s; it must be a whole number of %s.", name, dur, unit)
		return def
	}
	return dur
}
