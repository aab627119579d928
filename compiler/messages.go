package compiler

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
)

// Every diagnostic the compiler reports is one of the constructors below: this file is the one
// home of their Summary and Detail texts, in the order of Compile's phases. A call site says
// which problem it found and with what values; the words are here. Summary: a short noun phrase;
// Detail: full sentences with the fix; a duplicate is reported at the second site and cites the
// first (DESIGN.md, Conventions).

// Summaries that several messages share. add folds a diagnostic into an earlier one of the
// same summary and range, so variants of one problem must keep one summary.
const (
	summaryNameTooLong         = "Name too long"
	summaryInvalidCIDR         = "Invalid CIDR"
	summaryInvalidAddress      = "Invalid address"
	summaryDuplicateNodeName   = "Duplicate node name"
	summaryDuplicateNodeAddr   = "Duplicate node address"
	summaryNoSubnetForZone     = "No subnet for zone"
	summaryInvalidCoreCount    = "Invalid core count"
	summaryInvalidCoreFraction = "Invalid core fraction"
	summaryInvalidDuration     = "Invalid duration"
	summaryTooFewReplicas      = "Synchronous mode with too few replicas"
	summaryInvalidArtifactURL  = "Invalid artifact URL"
	summaryInvalidPort         = "Invalid port"
	summaryInvalidSandboxNet   = "Invalid sandbox network"
)

// hostBitsDetail is the Detail of a network written with host bits, wherever it is written.
const hostBitsDetail = "%q has host bits set: the network is %s."

// invalidNameSummary is the Summary of every name refused for its form: node, load test,
// role, database, ...
func invalidNameSummary(what string) string { return "Invalid " + what + " name" }

// The cluster block.

func (d *diags) missingCluster(rng hcl.Range) {
	d.errorf(rng, "Missing cluster block", "There is no cluster to compile.")
}

func (d *diags) clusterNameTooLong(rng hcl.Range) {
	d.errorf(rng, summaryNameTooLong,
		"The cluster's name prefixes every cloud resource's name (<cluster>-<node>, <cluster>-<zone>, ...), which Yandex Cloud limits to 63 characters: keep it to %d.", maxClusterName)
}

func (d *diags) unknownTarget(rng hcl.Range, target model.Target, known []string) {
	d.errorf(rng, "Unknown target", "pghac cannot build for target %q. Targets: %s.", target, strings.Join(known, ", "))
}

// invalidHostname: what (cluster, node, load test) becomes a hostname.
func (d *diags) invalidHostname(rng hcl.Range, what, name string) {
	d.errorf(rng, invalidNameSummary(what),
		"%q can't be used as a %s name: use lowercase letters, digits and dashes, starting with a letter (at most 63 characters), because it becomes a hostname.", name, what)
}

// The vm blocks (the cluster's, a node's, the load generator's).

func (d *diags) unsupportedImageFamily(rng hcl.Range, known []string) {
	d.errorf(rng, "Unsupported image family",
		"pghac knows the packages and paths of these images only: %s.", strings.Join(known, ", "))
}

func (d *diags) unknownPlatform(rng hcl.Range, id string, known []string) {
	d.errorf(rng, "Unknown platform", "%q is not a platform pghac knows. Platforms: %s.", id, strings.Join(known, ", "))
}

func (d *diags) platformNotInZone(rng hcl.Range, p platform, zone string) {
	d.errorf(rng, "Platform not offered in zone", "%s (%s) is not offered in %s. Use standard-v3.", p.ID, p.CPU, zone)
}

func (d *diags) oddCoreCount(rng hcl.Range, cores int) {
	d.errorf(rng, summaryInvalidCoreCount, "cores = %d: Yandex VMs have an even number of vCPUs, at least 2.", cores)
}

func (d *diags) tooManyCores(rng hcl.Range, p platform, cores int) {
	d.errorf(rng, summaryInvalidCoreCount, "%s allows at most %d vCPUs per VM; cores = %d.", p.ID, p.MaxCores, cores)
}

func (d *diags) coreFractionNotOffered(rng hcl.Range, p platform, fraction int) {
	d.errorf(rng, summaryInvalidCoreFraction, "%s allows core_fraction %s; got %d.", p.ID, joinInts(p.Fractions), fraction)
}

func (d *diags) lowCoreFractionTooManyCores(rng hcl.Range, p platform, fraction int) {
	d.errorf(rng, summaryInvalidCoreFraction, "%s allows core_fraction %d with at most %d vCPUs.", p.ID, fraction, p.LowFractionMaxCores)
}

// memoryOutsidePlatform: lo and hi are the GB per vCPU the platform allows at vm's core fraction.
func (d *diags) memoryOutsidePlatform(rng hcl.Range, p platform, vm model.VM, lo, hi float64) {
	d.errorf(rng, "Memory outside the platform's range",
		"%s at %d%% core fraction allows %g-%g GB per vCPU: with %d vCPUs, memory_gb must be between %g and %g; got %g.",
		p.ID, vm.CoreFraction, lo, hi, vm.Cores, lo*float64(vm.Cores), hi*float64(vm.Cores), vm.MemoryGB)
}

func (d *diags) tooLittleMemory(rng hcl.Range, gb float64) {
	d.errorf(rng, "Too little memory", "memory_gb = %g: etcd, Patroni, PostgreSQL, PgBouncer and HAProxy need at least 2 GB.", gb)
}

func (d *diags) unknownDiskType(rng hcl.Range, diskType string, known []string) {
	d.errorf(rng, "Unknown disk type", "%q is not a disk type. Types: %s.", diskType, strings.Join(known, ", "))
}

func (d *diags) diskTooSmall(rng hcl.Range, sizeGB int) {
	d.errorf(rng, "Disk too small", "size_gb = %d: the image, PostgreSQL and its WAL need at least 10 GB.", sizeGB)
}

func (d *diags) diskSizeNotInSteps(rng hcl.Range, diskType string, sizeGB int) {
	d.errorf(rng, "Invalid disk size", "%s disks come in steps of %d GB; size_gb = %d.", diskType, nonreplicatedStepGB, sizeGB)
}

// The network block.

func (d *diags) missingNetwork(rng hcl.Range) {
	d.errorf(rng, "Missing network block",
		`The cluster needs a network block with one subnet per zone, like network { subnet "ru-central1-a" { cidr = "10.128.0.0/24" } }.`)
}

func (d *diags) missingSubnets(rng hcl.Range) {
	d.errorf(rng, "Missing subnets",
		`Declare one subnet per zone that holds a node, like subnet "ru-central1-a" { cidr = "10.128.0.0/24" }.`)
}

func (d *diags) duplicateSubnetZone(rng, first hcl.Range, zone string) {
	d.errorf(rng, "Duplicate subnet zone",
		"A subnet for zone %q was already declared at %s. Each zone has one subnet.", zone, at(first))
}

func (d *diags) subnetNotPrivate(rng hcl.Range, p netip.Prefix) {
	d.errorf(rng, "Subnet outside the private ranges",
		"%s is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16; Yandex VPC subnets use private IPv4 ranges.", p)
}

func (d *diags) invalidSubnetSize(rng hcl.Range, p netip.Prefix) {
	d.errorf(rng, "Invalid subnet size",
		"%s has a /%d prefix; Yandex VPC subnets are /16 to /28.", p, p.Bits())
}

func (d *diags) overlappingSubnets(rng hcl.Range, p netip.Prefix, other model.Subnet) {
	d.errorf(rng, "Overlapping subnets",
		"%s overlaps %s of zone %s, declared at %s. Subnets of one network must not overlap.", p, other.CIDR, other.Zone, at(other.DeclRange))
}

// sshOpenToInternet: with a bastion, the database nodes admit nothing from admin_cidrs.
func (d *diags) sshOpenToInternet(rng hcl.Range, p netip.Prefix, bastion bool) {
	if bastion {
		d.warnf(rng, "SSH open to the internet",
			"%s opens to anyone SSH (port 22) on the bastion and the load generator, where only the operator's key and "+
				"ssh_public_key log in. List the networks your administrators come from.", p)
		return
	}
	d.warnf(rng, "SSH open to the internet",
		"%s opens to anyone SSH (port 22) on every VM, where only the operator's key logs in, and HAProxy's statistics page "+
			"on every database node, behind its password. List the networks your administrators come from.", p)
}

func (d *diags) endpointsOpenToInternet(rng hcl.Range, p netip.Prefix) {
	d.warnf(rng, "Database endpoints open to the internet",
		"%s lets anyone reach HAProxy's primary and replica ports (passwords are all that is left). List your application networks instead.", p)
}

func (d *diags) jumpHostNotAdmin(rng hcl.Range, a netip.Addr, admins []netip.Prefix) {
	d.warnf(rng, "Jump host outside the admin CIDRs",
		"The nodes admit SSH only from admin_cidrs (%s), and %s is not among them: unless the jump host reaches the nodes from another "+
			"address (a bastion inside the cluster's network uses its private one, which admin_cidrs must then hold), pghac reaches no node "+
			"through it. Add the address the nodes see it from to admin_cidrs.", cmp.Or(joinPrefixes(admins), "none"), a)
}

func (d *diags) invalidJumpHost(rng hcl.Range, s, why string) {
	d.errorf(rng, "Invalid jump host", "%q: %s. The form is [user@]host[:port]; the user defaults to the image's, the port to 22.", s, why)
}

func (d *diags) notCIDR(rng hcl.Range, s string) {
	d.errorf(rng, summaryInvalidCIDR, "%q is not a CIDR block: write an IPv4 network and prefix length, like \"10.128.0.0/24\".", s)
}

func (d *diags) ipv6CIDR(rng hcl.Range, s string) {
	d.errorf(rng, "IPv6 not supported", "%q is an IPv6 network; Yandex VPC subnets and security group rules here are IPv4 only.", s)
}

func (d *diags) cidrHostBits(rng hcl.Range, s string, masked netip.Prefix) {
	d.errorf(rng, summaryInvalidCIDR, hostBitsDetail, s, masked)
}

func (d *diags) retiredZone(rng hcl.Range, zone, replacement string) {
	d.errorf(rng, "Retired zone", "%s no longer takes new resources. Use %s instead.", zone, replacement)
}

func (d *diags) unknownZone(rng hcl.Range, zone string, known []string) {
	d.errorf(rng, "Unknown zone", "%q is not a Yandex Cloud availability zone. Zones: %s.", zone, strings.Join(known, ", "))
}

// The node blocks.

func (d *diags) noNodes(rng hcl.Range) {
	d.errorf(rng, "No nodes", `Declare the cluster's nodes, like node "node0" { zone = "ru-central1-a"  address = "10.128.0.16" }.`)
}

func (d *diags) duplicateNode(rng, first hcl.Range, name string) {
	d.errorf(rng, summaryDuplicateNodeName,
		"A node named %q was already declared at %s. Node names must be unique.", name, at(first))
}

// nodeNameTooLong: resource is the cloud resource name <cluster>-<node>.
func (d *diags) nodeNameTooLong(rng hcl.Range, resource string) {
	d.errorf(rng, summaryNameTooLong,
		"Cloud resources are named <cluster>-<node>: %q is %d characters, more than the 63 Yandex Cloud allows. Shorten the cluster or node name.", resource, len(resource))
}

func (d *diags) preemptibleDatabaseVM(rng hcl.Range) {
	d.warnf(rng, "Preemptible database VMs",
		"Yandex Cloud stops a preemptible VM within 24 hours, and whenever it needs the capacity: possibly every node of the cluster at once, "+
			"which leaves no quorum and no database until they are started again. Fine for a test cluster; set preemptible = false for one that serves.")
}

func (d *diags) nodeImageFamily(rng hcl.Range) {
	d.errorf(rng, "Image family set per node",
		"All nodes run the same image, because their PostgreSQL versions must match. Set image_family in the cluster's vm block.")
}

func (d *diags) invalidAddress(rng hcl.Range, addr string) {
	d.errorf(rng, summaryInvalidAddress, "%q is not an IPv4 address.", addr)
}

func (d *diags) duplicateNodeAddress(rng, first hcl.Range, addr netip.Addr) {
	d.errorf(rng, summaryDuplicateNodeAddr,
		"%s is already the address of the node declared at %s. Each node needs its own address.", addr, at(first))
}

func (d *diags) addressOutsideSubnet(rng hcl.Range, addr netip.Addr, s model.Subnet) {
	d.errorf(rng, "Address outside its subnet",
		"%s is not in %s, the subnet of zone %s declared at %s. Pick an address inside it.", addr, s.CIDR, s.Zone, at(s.DeclRange))
}

func (d *diags) reservedAddress(rng hcl.Range, addr netip.Addr, cidr netip.Prefix) {
	d.errorf(rng, "Reserved address",
		"%s is reserved in %s (network, gateway, DNS or broadcast address). Pick another address.", addr, cidr)
}

func (d *diags) noSubnetForNode(rng hcl.Range, node, zone string) {
	d.errorf(rng, summaryNoSubnetForZone,
		"Node %q is in zone %s, but the network block has no subnet for it. Add subnet %q { cidr = \"...\" }.", node, zone, zone)
}

// Quorum: dev_single_node and the etcd members.

func (d *diags) devFlagMultiNode(rng hcl.Range, nodes int) {
	d.errorf(rng, "Development flag on a multi-node cluster",
		"dev_single_node is for a cluster of exactly one node; this one has %d. Remove the flag.", nodes)
}

func (d *diags) singleNodeCluster(rng hcl.Range) {
	d.warnf(rng, "Single-node development cluster",
		"A one-node cluster has no failover and no replica: use it for development only.")
}

func (d *diags) singleNodeNotEtcdMember(rng hcl.Range) {
	d.errorf(rng, "No etcd member", "The single node must run etcd: remove etcd_member = false.")
}

func (d *diags) tooFewEtcdMembers(rng hcl.Range, members int) {
	d.errorf(rng, "Too few etcd members",
		"The cluster has %d etcd member(s); etcd needs at least 3 to survive losing one. Add nodes, or set dev_single_node = true for a one-node development cluster.", members)
}

func (d *diags) evenEtcdMembers(rng hcl.Range, members int) {
	d.errorf(rng, "Even number of etcd members",
		"The cluster has %d etcd members: an even number tolerates no more failures than one member fewer, and splits votes. Set etcd_member = false on one node (for example this one).", members)
}

// The etcd block.

func (d *diags) etcdElectionTooLong(rng hcl.Range, election time.Duration) {
	d.errorf(rng, "etcd election timeout too long",
		"election_timeout = %s; etcd refuses to start with more than %dms. Members would also take that long to notice a lost leader: about 10 heartbeats is enough.",
		election, maxEtcdElection.Milliseconds())
}

// etcdElectionTooShort: defaulted says the file left election_timeout to pghac's default.
func (d *diags) etcdElectionTooShort(rng hcl.Range, election, heartbeat time.Duration, defaulted bool) {
	minimum := minEtcdElectionHeartbeats * heartbeat
	fix := "Raise"
	if defaulted {
		fix = "Set"
	}
	d.errorf(rng, "etcd election timeout too short",
		"election_timeout = %s is less than %d x heartbeat_interval (%d x %s = %s), and etcd refuses to start then. %s election_timeout to at least %dms (pghac's default is 10 heartbeats) or lower heartbeat_interval.",
		electionText(election, defaulted), minEtcdElectionHeartbeats, minEtcdElectionHeartbeats, heartbeat, minimum, fix, minimum.Milliseconds())
}

func (d *diags) etcdElectionNotMultiple(rng hcl.Range, election, heartbeat time.Duration, defaulted bool) {
	d.warnf(rng, "etcd election timeout not a multiple of the heartbeat",
		"etcd counts election_timeout in whole heartbeats: %s with heartbeat_interval = %s acts as %s. Use a multiple of heartbeat_interval.",
		electionText(election, defaulted), heartbeat, election/heartbeat*heartbeat)
}

func electionText(election time.Duration, defaulted bool) string {
	if defaulted {
		return election.String() + " (the default)"
	}
	return election.String()
}

func (d *diags) raftTimingNegative(rng hcl.Range, name, value string) {
	d.errorf(rng, summaryInvalidDuration, "%s = %q; it must be positive.", name, value)
}

func (d *diags) raftTimingZero(rng hcl.Range, name, value string) {
	d.errorf(rng, summaryInvalidDuration, "%s = %q; it must be positive: etcd refuses to start with 0.", name, value)
}

// The patroni block.

func (d *diags) patroniTooLow(rng hcl.Range, name string, v, lo int) {
	d.errorf(rng, "Patroni "+name+" too low", "%s = %d; Patroni requires at least %d.", name, v, lo)
}

func (d *diags) patroniLeaderLease(rng hcl.Range, p model.Patroni) {
	need := p.LoopWait + 2*p.RetryTimeout
	d.errorf(rng, "Patroni timings break the leader lease",
		"loop_wait + 2*retry_timeout = %d + 2*%d = %d exceeds ttl = %d: the leader could lose its lock while still retrying the DCS, and two primaries could run. Raise ttl to at least %d or lower the others.",
		p.LoopWait, p.RetryTimeout, need, p.TTL, need)
}

func (d *diags) failsafeNotSupported(rng hcl.Range, os model.OS) {
	d.errorf(rng, "failsafe_mode not supported by the image",
		"%s ships Patroni %s; failsafe_mode needs Patroni 3.0 or later. Remove it or use another image_family.", os.Name, os.PatroniVersion)
}

func (d *diags) invalidWatchdog(rng hcl.Range, mode string) {
	d.errorf(rng, "Invalid watchdog mode", "watchdog = %q; use \"off\", \"automatic\" or \"required\".", mode)
}

func (d *diags) strictSyncWithoutReplicas(rng hcl.Range) {
	d.errorf(rng, "Strict synchronous mode without replicas",
		"A single-node cluster has no replica to confirm writes, so strict synchronous mode would block every write. Remove synchronous_mode_strict.")
}

func (d *diags) syncWithoutReplicas(rng hcl.Range) {
	d.warnf(rng, "Synchronous mode without replicas",
		"A single-node cluster has no replica; synchronous_mode has no effect.")
}

func (d *diags) strictSyncOneReplica(rng hcl.Range) {
	d.warnf(rng, summaryTooFewReplicas,
		"With synchronous_mode_strict and one replica, losing that replica stops all writes. Add a node or turn strict mode off.")
}

func (d *diags) syncOneReplica(rng hcl.Range) {
	d.warnf(rng, summaryTooFewReplicas,
		"With one replica, losing it turns replication asynchronous until it returns, and a failover in that window can lose acknowledged writes. Add a node.")
}

// The postgres block and its parameters.

// postgresVersionMismatch: others are the image families that ship version.
func (d *diags) postgresVersionMismatch(rng hcl.Range, os model.OS, version int, others []string) {
	hint := "No supported image ships it."
	if len(others) > 0 {
		hint = fmt.Sprintf("Images that ship it: %s.", strings.Join(others, ", "))
	}
	d.errorf(rng, "PostgreSQL version does not match the image",
		"%s ships PostgreSQL %d, not %d. Remove version (it follows the image) or change image_family. %s",
		os.Name, os.PostgresMajor, version, hint)
}

// reservedParameter: why is the parameter's reason in reservedParameters.
func (d *diags) reservedParameter(rng hcl.Range, name, why string) {
	d.errorf(rng, "Reserved PostgreSQL parameter",
		"pghac does not let %s be set here. %s", name, why)
}

func (d *diags) unsupportedParameterValue(rng hcl.Range, name, value string, allowed []string) {
	d.errorf(rng, "Unsupported PostgreSQL parameter value",
		"%s = %q would break replication, failover or authentication. Allowed: %s.", name, value, strings.Join(allowed, ", "))
}

// The pgbouncer block.

func (d *diags) poolingBreaksPrepared(rng hcl.Range, mode string) {
	d.warnf(rng, "Pooling that breaks prepared statements",
		"pool_mode = %q applies to every client of the HAProxy ports, whatever it is. PgBouncer 1.18 (Debian 12) does not keep protocol-level prepared statements across server connections, so clients that prepare them fail with \"prepared statement ... does not exist\": asyncpg, JDBC (after 5 executions), Npgsql, pgx in its default mode and many ORMs. Keep the default \"session\", or set pool_mode on the database blocks of the clients you know use the simple protocol.", mode)
}

func (d *diags) invalidPoolMode(rng hcl.Range, mode string) {
	d.errorf(rng, "Invalid pool mode", "pool_mode = %q; use \"session\", \"transaction\" or \"statement\".", mode)
}

// The haproxy block.

func (d *diags) checkIntervalNotPositive(rng hcl.Range, inter time.Duration) {
	d.errorf(rng, summaryInvalidDuration, "inter = %s: the check interval must be positive (at least 100ms).", inter)
}

func (d *diags) checkTooFrequent(rng hcl.Range, inter time.Duration) {
	d.errorf(rng, "Health check too frequent", "inter = %s would flood Patroni's REST API; use at least 100ms.", inter)
}

// slowHealthChecks: slow is inter x fall.
func (d *diags) slowHealthChecks(rng hcl.Range, slow time.Duration) {
	d.warnf(rng, "Slow health checks",
		"HAProxy takes inter x fall = %s to take a failed primary out; during that window it can route writes to a demoted node, and both old and new primary can show UP. inter 1s, fall 2 measured ~2 s graceful failovers here.", slow)
}

// The backend block.

func (d *diags) backendOpenToInternet(rng hcl.Range, p netip.Prefix, port int) {
	d.warnf(rng, "Backend open to the internet",
		"%s exposes the backend's port %d to everyone. If that is intended, say so with public = true in the backend block; otherwise list the networks your clients use.", p, port)
}

func (d *diags) invalidBackendDatabase(rng hcl.Range, name string) {
	d.errorf(rng, invalidNameSummary("database"), "%q: use lowercase letters, digits and underscores, starting with a letter.", name)
}

func (d *diags) invalidBackendUser(rng hcl.Range, name string) {
	d.errorf(rng, "Invalid database user", "%q: use lowercase letters, digits and underscores, and not one of pghac's own roles (postgres, replicator, rewinder).", name)
}

// The artifact blocks (backend, load generator).

func (d *diags) artifactURLTemplate(rng hcl.Range, url string) {
	d.errorf(rng, summaryInvalidArtifactURL, "%q: the URL is written into a Terraform template, where ${ and %%{ start an expression; percent-encode them.", url)
}

func (d *diags) artifactURLScheme(rng hcl.Range, url string) {
	d.errorf(rng, summaryInvalidArtifactURL, "%q: the binary is fetched over HTTP(S); give an http:// or https:// URL.", url)
}

func (d *diags) invalidSHA256(rng hcl.Range) {
	d.errorf(rng, "Invalid SHA-256", "sha256 must be 64 hexadecimal digits (the output of sha256sum).")
}

func (d *diags) placeholderSHA256(rng hcl.Range, sum string) {
	what := "one digit repeated"
	if sum == emptySHA256 {
		what = "the checksum of an empty file"
	}
	d.errorf(rng, "Placeholder SHA-256",
		"sha256 is %s: a placeholder, which no binary has, so every VM's boot would fail at the download. "+
			"Give the checksum of the binary at url (sha256sum prints it), or remove the artifact block: "+
			"pghac then uploads its own build (make build) and computes the checksum itself.", what)
}

// The roles and databases.

func (d *diags) duplicateRole(rng, first hcl.Range, name string) {
	d.errorf(rng, "Duplicate role", "A role named %q was already declared at %s.", name, at(first))
}

func (d *diags) tooManySecrets(rng hcl.Range, roles int) {
	d.errorf(rng, "Too many roles",
		"A cluster has at most %d role blocks here: each role's password is an entry of the Lockbox secret the nodes read their secrets from, which holds at most %d entries, and pghac's own secrets take the others (among them one per node, its TLS certificate and key).", roles, maxSecretEntries)
}

func (d *diags) duplicateDatabase(rng, first hcl.Range, name string) {
	d.errorf(rng, "Duplicate database", "A database named %q was already declared at %s.", name, at(first))
}

// undeclaredOwner: roles are the roles of the file that compiled.
func (d *diags) undeclaredOwner(rng hcl.Range, owner string, roles []string) {
	hint := "Declare it with a role block, or name one of the declared roles."
	if len(roles) > 0 {
		hint = "Declared roles: " + strings.Join(roles, ", ") + "."
	}
	d.errorf(rng, "Undeclared database owner",
		"owner = %q is not a role of this file: a database's owner must be a role block, so that pghac creates it (with its password) before the database. %s", owner, hint)
}

// invalidIdent: what (role, database) is written into SQL unquoted.
func (d *diags) invalidIdent(rng hcl.Range, what, name string) {
	d.errorf(rng, invalidNameSummary(what),
		"%q can't be used as a %s name: use lowercase letters, digits and underscores, starting with a letter or underscore (at most 63 characters).", name, what)
}

func (d *diags) pgPrefixedName(rng hcl.Range, what, name string) {
	d.errorf(rng, "Reserved "+what+" name", "%q: PostgreSQL reserves names starting with pg_.", name)
}

func (d *diags) ownName(rng hcl.Range, what, name string, own []string) {
	d.errorf(rng, "Reserved "+what+" name",
		"%q is one of pghac's own (%s): pghac creates and manages it. Choose another name.", name, strings.Join(own, ", "))
}

func (d *diags) invalidConnectionLimit(rng hcl.Range, v int) {
	d.errorf(rng, "Invalid connection_limit", "connection_limit = %d; use a number of connections, or -1 for no limit.", v)
}

// The load_generator block.

func (d *diags) extraVMImageFamily(rng hcl.Range, what string) {
	d.errorf(rng, "Image family set per VM",
		"The %s runs the cluster's image. Set image_family in the cluster's vm block.", what)
}

func (d *diags) extraVMNodeName(rng hcl.Range, what, name string, node hcl.Range) {
	d.errorf(rng, summaryDuplicateNodeName, "The %s's VM is named %q, like the node declared at %s. Rename the node.", what, name, at(node))
}

// extraVMAddress: other is what has addr already ("node \"node0\"", "the load generator").
func (d *diags) extraVMAddress(rng hcl.Range, what string, addr netip.Addr, other string, decl hcl.Range) {
	d.errorf(rng, summaryDuplicateNodeAddr,
		"%s is already the address of %s, declared at %s. The %s needs its own address.", addr, other, at(decl), what)
}

func (d *diags) bastionWithoutPublicIP(rng hcl.Range) {
	d.errorf(rng, "Bastion without a public address",
		"The bastion is how pghac and the administrators reach the nodes from outside the cloud: it needs its public address.")
}

func (d *diags) bastionUnused(rng, jump hcl.Range) {
	d.warnf(rng, "Bastion not used by pghac",
		"network.jump_host (%s) names the SSH server pghac goes through, so pghac does not use this bastion: the VM is made all the same. Remove one of the two.", at(jump))
}

// The load_balancer block.

func (d *diags) noSubnetForLoadBalancer(rng hcl.Range, zone string) {
	d.errorf(rng, summaryNoSubnetForZone,
		"An internal load balancer takes its address from a subnet, and the network block has none in %s.", zone)
}

func (d *diags) externalLoadBalancerZone(rng hcl.Range) {
	d.errorf(rng, "Zone of an external load balancer", "An external load balancer has a public address and no zone: remove zone.")
}

func (d *diags) primaryOnInternet(rng hcl.Range, clients []netip.Prefix) {
	d.warnf(rng, "Primary reachable from the internet",
		"An external load balancer gives the primary's PgBouncer a public address, open to client_cidrs (%s). PgBouncer offers TLS but does not require it yet: "+
			"a client that does not ask for it sends queries and results across the internet unencrypted, and passwords, though SCRAM keeps them off the wire, are all that stops a stranger. "+
			"Prefer type = \"internal\".", joinPrefixes(clients))
}

func (d *diags) externalLoadBalancerNoClients(rng hcl.Range) {
	d.errorf(rng, "External load balancer that admits no one",
		"The load balancer passes the clients' own addresses on, and the nodes' security group admits client_cidrs only, which defaults to the "+
			"cluster's own subnets: no client on the internet would get through. Set client_cidrs in the network block to the networks your "+
			"applications connect from, or use type = \"internal\".")
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

func (d *diags) invalidLoadBalancerType(rng hcl.Range, typ string) {
	d.errorf(rng, "Invalid load balancer type", "type = %q; use \"internal\" or \"external\".", typ)
}

func (d *diags) invalidLoadBalancerPort(rng hcl.Range, port int) {
	d.errorf(rng, summaryInvalidPort, "port = %d; use a port from 1 to 65535.", port)
}

// The state block.

func (d *diags) invalidBucket(rng hcl.Range, bucket string) {
	d.errorf(rng, "Invalid bucket name",
		"%q is not an Object Storage bucket name: 3-63 lowercase letters, digits, dots and dashes, starting and ending with a letter or digit.", bucket)
}

func (d *diags) invalidStateKey(rng hcl.Range, key string) {
	d.errorf(rng, "Invalid state key", "key = %q; give an object name like \"pghac/main/terraform.tfstate\", without a leading or trailing slash.", key)
}

// The load_test blocks.

func (d *diags) duplicateLoadTest(rng, first hcl.Range, name string) {
	d.errorf(rng, "Duplicate load test", "A load_test named %q was already declared at %s.", name, at(first))
}

func (d *diags) loadTestWithoutBackend(rng hcl.Range) {
	d.errorf(rng, "Load test without a backend",
		"A load test fires HTTP requests at the notes backend; add a backend block, or remove this load_test.")
}

func (d *diags) invalidSchedule(rng hcl.Range, err error) {
	d.errorf(rng, "Invalid schedule", "%s. A schedule is Yandex Tank's: line(from, to, duration), const(rps, duration) and step(from, to, step, duration) one after another, like \"line(10, 500, 2m) const(500, 5m)\".", err)
}

func (d *diags) unknownAmmo(rng hcl.Range, ammo string, kinds []string) {
	d.errorf(rng, "Unknown ammo", "%q: the ammo kinds are %s.", ammo, strings.Join(kinds, ", "))
}

func (d *diags) duplicateAmmo(rng hcl.Range, ammo string) {
	d.errorf(rng, "Duplicate ammo", "%q is listed twice.", ammo)
}

func (d *diags) noAmmo(rng hcl.Range, kinds []string) {
	d.errorf(rng, "No ammo", "List the request kinds to fire: %s.", strings.Join(kinds, ", "))
}

func (d *diags) loadTestUnknownNode(rng hcl.Range, node string) {
	d.errorf(rng, "Unknown node", "No node is named %q; the load test fires at one node's backend.", node)
}

func (d *diags) invalidAutostop(rng hcl.Range, criterion string, err error) {
	d.errorf(rng, "Invalid autostop criterion", "%q: %s.", criterion, err)
}

// Ports of every block.

func (d *diags) unprivilegedPort(rng hcl.Range, what string, port int) {
	d.errorf(rng, summaryInvalidPort, "%s = %d; use a port from 1024 to 65535 (the services run as unprivileged users).", what, port)
}

// portCollision is reported at culprit, citing other (by where the file set it, or as a default).
func (d *diags) portCollision(culprit, other listener) {
	where := "its default"
	if other.set {
		where = "set at " + at(other.rng)
	}
	d.errorf(culprit.rng, "Port collision",
		"%s = %d is also the port of %s (%s). Give each service its own port.", culprit.what, culprit.port, other.what, where)
}

// The sandbox block and the sandbox target.

func (d *diags) sandboxNotIPv4(rng hcl.Range, cidr string) {
	d.errorf(rng, summaryInvalidSandboxNet, "%q is not an IPv4 network: write one like %q.", cidr, defaultSandboxCIDR)
}

func (d *diags) sandboxHostBits(rng hcl.Range, cidr string, masked netip.Prefix) {
	d.errorf(rng, summaryInvalidSandboxNet, hostBitsDetail, cidr, masked)
}

func (d *diags) sandboxNotPrivate(rng hcl.Range, p netip.Prefix) {
	d.errorf(rng, "Sandbox network outside the private ranges",
		"%s is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16: the sandbox's machines must not take addresses that belong to someone else.", p)
}

func (d *diags) invalidSandboxSize(rng hcl.Range, p netip.Prefix) {
	d.errorf(rng, "Invalid sandbox network size", "%s has a /%d prefix; use /16 to /28.", p, p.Bits())
}

// sandboxTooSmall: room is how many nodes p holds.
func (d *diags) sandboxTooSmall(rng hcl.Range, p netip.Prefix, room, nodes int) {
	d.errorf(rng, "Sandbox network too small",
		"%s has room for %d nodes (from .%d on, below the broadcast address); the cluster has %d. Use a larger network, like %q.",
		p, room, sandboxFirstNode, nodes, defaultSandboxCIDR)
}

func (d *diags) sandboxNodeNameTooLong(rng hcl.Range, name string) {
	d.errorf(rng, "Node name too long for the sandbox",
		"The sandbox names each machine's network interface \"vb-<node>\", and Linux allows 15 characters: shorten %q to at most %d characters.",
		name, maxSandboxNodeName)
}

func (d *diags) sandboxImage(rng hcl.Range, family string) {
	d.errorf(rng, "Image not available in the sandbox",
		"The sandbox's machines run Debian 12 (bookworm), built with debootstrap; %q can only be built for the cloud. Use image_family = %q to run this cluster in the sandbox.",
		family, sandboxImageFamily)
}

// The backup block.

func (d *diags) missingBackupBucket(rng hcl.Range, hasBlock bool) {
	where := "Add a backup block with bucket = \"<name>\" to the cluster"
	if hasBlock {
		where = "Set bucket = \"<name>\" in the backup block"
	}
	d.errorf(rng, "Missing backup bucket",
		"Backups are on by default, and Object Storage bucket names are global, so pghac cannot pick one for you. %s (Terraform creates the bucket), or turn backups off with enabled = false.", where)
}

func (d *diags) backupInStateBucket(rng, state hcl.Range) {
	d.errorf(rng, "Backups in the Terraform state bucket",
		"The state block keeps Terraform's state in this bucket (%s). Backups need a bucket of their own: Terraform manages the backup bucket (versioning, encryption, who may write), and the state bucket must exist before Terraform runs. Name another bucket.", at(state))
}

func (d *diags) invalidBackupSchedule(rng hcl.Range, name string, err error) {
	d.errorf(rng, "Invalid backup schedule",
		"%s: %s. A schedule is days and a time (UTC), like \"Sun 03:00\", \"Mon..Sat 03:00\", \"Sat,Sun 01:30\", or \"daily\".", name, err)
}

func (d *diags) differentialAndIncremental(rng, first hcl.Range) {
	d.errorf(rng, "Differential and incremental backups together",
		"differential is already set at %s. Between full backups pghac takes one kind: differential (each holds everything since the last full backup: restores read two backups) or incremental (each holds what changed since the previous backup: smaller, but a restore reads a chain). Keep one.", at(first))
}

func (d *diags) invalidRetention(rng hcl.Range, err error) {
	d.errorf(rng, "Invalid retention", "retention: %s.", err)
}

func (d *diags) retentionShorterThanFulls(rng hcl.Range, retention string, interval int, full string) {
	d.errorf(rng, "Retention shorter than the full-backup interval",
		"retention = %q, but full backups (%q) are up to %d days apart. pgBackRest expires whole full backups with what depends on them, so it would keep up to %d days anyway, while the file says fewer. Set retention to at least \"%dd\", or take full backups more often.",
		retention, full, interval, interval, interval)
}

func (d *diags) archiveTimeoutTooShort(rng hcl.Range, v time.Duration) {
	d.errorf(rng, summaryInvalidDuration, "archive_timeout = %s; it must be at least 1s (each timeout can archive a whole 16 MB WAL segment).", v)
}

func (d *diags) archiveQueueTooSmall(rng hcl.Range, v string) {
	d.errorf(rng, "WAL archive queue too small", "archive_queue_max = %q holds less than one 16 MB WAL segment: make it at least \"16MB\".", v)
}

func (d *diags) archiveQueueTooLarge(rng hcl.Range, v string, diskGB int) {
	d.errorf(rng, "WAL archive queue too large",
		"archive_queue_max = %q is more than half of the smallest database disk (%d GB). WAL waiting for an unreachable bucket would fill the disk and stop PostgreSQL before pgBackRest drops any: keep it at most half the disk, or grow the disk.", v, diskGB)
}

func (d *diags) invalidCompression(rng hcl.Range, typ string, types []string) {
	d.errorf(rng, "Invalid compression", "compression = %q; use one of %s.", typ, strings.Join(types, ", "))
}

func (d *diags) invalidCompressionLevel(rng hcl.Range, typ string, level, lo, hi int) {
	d.errorf(rng, "Invalid compression level", "compression_level = %d; %s takes levels %d to %d.", level, typ, lo, hi)
}

func (d *diags) archiveParameter(rng hcl.Range, name string) {
	d.errorf(rng, "Parameter owned by the backup block",
		"%s archives WAL into the backup repository, which point-in-time recovery depends on: pghac sets it while backups are on. Use the backup block (archive_timeout there), or turn backups off with backup { enabled = false } to set it yourself.", name)
}

// Attribute values shared by several blocks.

func (d *diags) notPositive(rng hcl.Range, name string, v int) {
	d.errorf(rng, "Invalid "+name, "%s = %d; it must be at least 1.", name, v)
}

func (d *diags) invalidDuration(rng hcl.Range, name string, err error) {
	d.errorf(rng, summaryInvalidDuration, "%s: %s.", name, err)
}

func (d *diags) durationNotWhole(rng hcl.Range, name string, dur, unit time.Duration) {
	d.errorf(rng, summaryInvalidDuration, "%s = %s; it must be a whole number of %s.", name, dur, unit)
}

func (d *diags) invalidSize(rng hcl.Range, name string, err error) {
	d.errorf(rng, "Invalid size", "%s: %s.", name, err)
}

func (d *diags) stateUnlocked(rng hcl.Range) {
	d.warnf(rng, "Terraform state not locked",
		"Nothing stops two applies from writing the state at once, which can lose track of resources. "+
			"Lock it in a YDB table as Yandex documents for Terraform: create a serverless YDB database with a document table "+
			"whose key is LockID (a string), and set lock_table and lock_endpoint (the database's Document API endpoint) here.")
}

func (d *diags) lockHalf(rng hcl.Range, set, missing string) {
	d.errorf(rng, "Half a state lock",
		"%s is set without %s: the lock needs both the YDB table and its database's Document API endpoint.", set, missing)
}

func (d *diags) invalidLockTable(rng hcl.Range, name string) {
	d.errorf(rng, "Invalid lock table", "%q is not a table name the Document API accepts: 3 to 255 letters, digits, _, . or -.", name)
}

func (d *diags) invalidLockEndpoint(rng hcl.Range, endpoint string) {
	d.errorf(rng, "Invalid lock endpoint",
		"%q is not an https URL; the YDB database's Document API endpoint looks like https://docapi.serverless.yandexcloud.net/ru-central1/<cloud>/<database>.", endpoint)
}

func (d *diags) duplicateExtraName(rng hcl.Range, name string) {
	d.errorf(rng, "Duplicate extra name", "%q is in extra_names already.", name)
}

func (d *diags) invalidExtraName(rng hcl.Range, name string) {
	d.errorf(rng, "Invalid extra name",
		"%q is neither an IP address nor a DNS name (letters, digits and inner hyphens between dots, optionally under \"*.\").", name)
}

func (d *diags) invalidCertLifetime(rng hcl.Range, why string) {
	d.errorf(rng, "Invalid certificate lifetime", "%s.", why)
}

func (d *diags) invalidRenewBefore(rng hcl.Range, why string) {
	d.errorf(rng, "Invalid renew_before", "%s.", why)
}

func (d *diags) lifetimeWithinRenewal(rng hcl.Range, lifetime, renewBefore time.Duration) {
	d.warnf(rng, "Certificates renewed on every run",
		"A certificate lives %s and pghac issues the next %s before its end, so every run of pghac up, plan or secrets init issues every certificate again and rolls them out. Make lifetime longer than renew_before.",
		days(lifetime), days(renewBefore))
}

func (d *diags) loadBalancerAddressUnset(rng hcl.Range, typ string) {
	how := "give it a free address of the zone's subnet"
	if typ == "external" {
		how = "reserve a public address (yc vpc address create) and give it"
	}
	d.warnf(rng, "Load balancer address not in the certificate",
		"Without address, the cloud picks the load balancer's address at apply, and the service certificate PgBouncer presents is not valid for it: clients that verify (sslmode=verify-full) and dial the load balancer are refused. Set address: %s, as address = \"...\".", how)
}

func (d *diags) invalidLoadBalancerAddress(rng hcl.Range, addr, why string) {
	d.errorf(rng, "Invalid load balancer address", "%q %s.", addr, why)
}

// days writes d as whole days, "30d".
func days(d time.Duration) string { return strconv.Itoa(int(d/(24*time.Hour))) + "d" }
