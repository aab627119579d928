package model

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Target names where a cluster is built for. It changes addresses and artifact locations, never
// which components run or how they are configured.
type Target string

const (
	// TargetYandex is Yandex Cloud: three VMs in three zones.
	TargetYandex Target = "yandex"
	// TargetSandbox is three local machines (systemd-nspawn) on a host bridge: the same
	// user-data, with addresses from the sandbox's network.
	TargetSandbox Target = "sandbox"
)

// Targets lists every target pghac can build, in the order help texts show them.
var Targets = []Target{TargetYandex, TargetSandbox}

// TargetNames is the targets' names as help texts list them: "yandex, sandbox".
func TargetNames() string {
	names := make([]string, len(Targets))
	for i, t := range Targets {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// ParseTarget is the target called name.
func ParseTarget(name string) (Target, error) {
	if slices.Contains(Targets, Target(name)) {
		return Target(name), nil
	}
	return "", fmt.Errorf("unknown --target %q: want one of %s", name, TargetNames())
}

// Cluster is one compiled cluster.hcl.
type Cluster struct {
	Name   string
	Target Target
	// DevSingleNode is set when the file opted into a one-node development cluster.
	DevSingleNode bool
	// DeletionProtection: the cloud refuses to delete the Lockbox secret of the cluster's
	// secrets and its KMS key (without which no version can be read) until it is lifted.
	DeletionProtection bool

	OS        OS
	Network   Network
	Nodes     []Node // sorted by name
	Etcd      Etcd
	Patroni   Patroni
	Postgres  Postgres
	PgBouncer PgBouncer
	HAProxy   HAProxy
	Backend   *Backend   // nil when the file has no backend block
	LoadTests []LoadTest // sorted by name
	// Roles and Databases are the applications' own, created through the leader; sorted by
	// name.
	Roles     []Role
	Databases []Database
	// LoadGenerator is the VM the load tests run from; nil when the file has none.
	LoadGenerator *LoadGenerator
	// Bastion is the VM pghac reaches the nodes through in the cloud (the sandbox's host is
	// inside its network already); nil for none.
	Bastion *Bastion
	// LoadBalancer is the optional network load balancer in front of the primary.
	LoadBalancer *LoadBalancer
	// State is the remote Terraform state; nil keeps state in pghac's local working directory.
	State *State
	// Sandbox is the local network of the sandbox target; nil for every other target.
	Sandbox *Sandbox
	// Backup is pgBackRest's repository and schedule; nil when backups are off.
	Backup *Backup
	// TLS is how pghac issues the certificates.
	TLS TLS

	DeclRange hcl.Range
}

// OS is everything about the image's operating system that changes package names, versions
// and paths. One row of the compiler's image table.
type OS struct {
	ImageFamily   string // e.g. "debian-12"
	Name          string // e.g. "Debian 12 (bookworm)"
	PostgresMajor int    // the PostgreSQL major version the image's archive ships
	// Packages are installed by cloud-init, sorted.
	Packages []string
	BinDir   string // PostgreSQL server binaries
	DataDir  string // PGDATA managed by Patroni
	// PatroniVersion is the version the image's archive ships, as "major.minor".
	PatroniVersion string
	// SupportsFailsafe is true when that Patroni has failsafe_mode (3.0+).
	SupportsFailsafe bool
	// DefaultCluster is the cluster the postgresql package creates on install ("15/main"),
	// which must be dropped before Patroni takes the port.
	DefaultCluster string
	// DefaultUser is the login user the cloud image creates for SSH keys ("debian", "ubuntu").
	DefaultUser string
}

// Network is the cluster's private network.
type Network struct {
	Subnets []Subnet // sorted by zone
	// AdminCIDRs may reach SSH. ClientCIDRs may reach the HAProxy and backend ports.
	AdminCIDRs  []netip.Prefix
	ClientCIDRs []netip.Prefix
	// JumpHost is the SSH server pghac goes through to reach the nodes (its day-2 path:
	// SSH, and the nodes' HTTP endpoints tunnelled over it); nil reaches them directly.
	JumpHost *JumpHost
}

// JumpHost is an SSH server in front of the nodes.
type JumpHost struct {
	User      string // "" for the image's default user
	Host      string
	Port      int
	DeclRange hcl.Range
}

// RoleDatabase is the "role" label of a cluster's database VMs, by which a plan's changes to
// them are known (a removed node is in no cluster file any more).
const RoleDatabase = "database"

// The sandbox stands in a cluster's jump host with an sshd of its own on the host's bridge
// address (internal/sandbox), which lets the operator in as SandboxJumpUser for TCP
// forwarding only.
const (
	SandboxJumpPort = 2222
	SandboxJumpUser = "root"
)

// Addr is the jump host's host:port.
func (j JumpHost) Addr() string { return net.JoinHostPort(j.Host, strconv.Itoa(j.Port)) }

// Subnet is one zone's subnet.
type Subnet struct {
	Zone      string
	CIDR      netip.Prefix
	DeclRange hcl.Range
}

// Node is one VM of the cluster.
type Node struct {
	Name    string
	Zone    string
	Address netip.Addr
	VM      VM
	// EtcdMember is true when the node runs an etcd member (every node by default).
	EtcdMember bool
	DeclRange  hcl.Range
}

// AddrPort is where the node serves port, e.g. Patroni's REST API or PgBouncer, for the
// configuration files that list the nodes and the tools that reach them.
func (n Node) AddrPort(port int) netip.AddrPort { return netip.AddrPortFrom(n.Address, uint16(port)) }

// VM is a node's machine shape.
type VM struct {
	Platform     string
	Cores        int
	CoreFraction int
	MemoryGB     float64
	DiskSizeGB   int
	DiskType     string
	Preemptible  bool
	// PublicIP gives the VM a public address (one-to-one NAT) for outbound traffic: the
	// package archive. Inbound traffic is still limited by the security groups.
	PublicIP bool
}

// MemoryMB is the VM's memory in MiB.
func (v VM) MemoryMB() int { return int(v.MemoryGB * 1024) }

// Etcd is the DCS.
type Etcd struct {
	ClientPort int
	PeerPort   int
	// HeartbeatInterval and ElectionTimeout are raft's timings, the same on every member: whole
	// milliseconds, positive, ElectionTimeout at least 5 x HeartbeatInterval and at most 50 s
	// (etcd refuses to start otherwise).
	HeartbeatInterval time.Duration
	ElectionTimeout   time.Duration
	// Members are the names of the nodes that run etcd, sorted.
	Members []string
	// Token is the initial cluster token, unique per cluster name.
	Token string
}

// Patroni holds the DCS timings and replication policy.
type Patroni struct {
	Scope     string
	Namespace string
	// TTL, LoopWait and RetryTimeout are in seconds, as Patroni takes them.
	TTL          int
	LoopWait     int
	RetryTimeout int
	// MaximumLagOnFailover is in bytes.
	MaximumLagOnFailover  int64
	SynchronousMode       bool
	SynchronousModeStrict bool
	FailsafeMode          bool
	UsePgRewind           bool
	RestAPIPort           int
	// Watchdog is "off", "automatic" or "required".
	Watchdog string
}

// Postgres is the database server.
type Postgres struct {
	Major int
	Port  int
	// Parameters are postgresql.conf settings for every member, sorted by name: the ones derived
	// from the VM size with the user's overrides applied.
	Parameters []Parameter
}

// Parameter is one postgresql.conf setting.
type Parameter struct {
	Name  string
	Value string
	// FromUser is true when cluster.hcl set it (as opposed to pghac deriving it).
	FromUser bool
}

// PgBouncer is the per-node connection pooler.
type PgBouncer struct {
	Port             int
	PoolMode         string // session, transaction or statement
	DefaultPoolSize  int
	MaxClientConn    int
	ServerLoginRetry time.Duration
	QueryWaitTimeout time.Duration
}

// Pool modes of PgBouncer.
const (
	PoolSession     = "session"
	PoolTransaction = "transaction"
	PoolStatement   = "statement"
)

// Role is an application's login role. Its password is the secret RolePassword(Name).
type Role struct {
	Name string
	// ConnectionLimit is PostgreSQL's CONNECTION LIMIT; -1 is none.
	ConnectionLimit int
	DeclRange       hcl.Range
}

// Database is an application's database, owned by one of Cluster.Roles.
type Database struct {
	Name  string
	Owner string
	// ConnectionLimit is PostgreSQL's CONNECTION LIMIT; -1 is none.
	ConnectionLimit int
	// PoolMode is PgBouncer's pool mode for this database; "" is the cluster's.
	PoolMode  string
	DeclRange hcl.Range
}

// HAProxy is the per-node router to the primary and the replicas.
type HAProxy struct {
	PrimaryPort int
	ReplicaPort int
	StatsPort   int
	MaxConn     int
	Check       HealthCheck
	// ReplicaMaxLagBytes takes a replica out of the read pool when it lags more.
	ReplicaMaxLagBytes int64
}

// HealthCheck is HAProxy's server check against Patroni's REST API.
type HealthCheck struct {
	Inter time.Duration
	Fall  int
	Rise  int
}

// Backend is the notes HTTP API that runs on every node.
type Backend struct {
	Port int
	// AllowFrom are the networks that may reach Port.
	AllowFrom []netip.Prefix
	// ArtifactURL and ArtifactSHA256 locate the backend binary every node downloads and
	// verifies. For LocalBuild they are the placeholders of BackendURLVar and
	// BackendSHA256Var, which the target fills in.
	ArtifactURL    string
	ArtifactSHA256 string
	// LocalBuild: the binary is pghac's own build (pghac-backend beside pghac), which the
	// yandex module uploads to the cluster's artifacts bucket and `pghac up` serves to the
	// sandbox; the nodes download it with their service account's token. Without it the
	// binary is the artifact block's, downloaded as it is.
	LocalBuild bool
	Database   string
	User       string
	DeclRange  hcl.Range
}

// The user-data template variables that locate a local build (Backend.LocalBuild,
// LoadGenerator.LocalBuild): where the VM downloads it, and its checksum. They are not secrets;
// the checksum changes with every build, so it is never in the committed tree: pghac passes it
// to Terraform, which fills the templates in.
const (
	BackendURLVar    = "backend_artifact_url"
	BackendSHA256Var = "backend_artifact_sha256"
	PghacURLVar      = "pghac_artifact_url"
	PghacSHA256Var   = "pghac_artifact_sha256"
)

// BuildVars are the template variables above: a user-data template holds these besides the
// secrets' placeholders.
var BuildVars = []string{BackendURLVar, BackendSHA256Var, PghacURLVar, PghacSHA256Var}

// OperatorKeyVar is the Terraform variable of both targets that holds the public half of the
// operator key, the key pghac logs in to the nodes with (internal/remote). It reaches the
// machines as metadata, never in user-data; `pghac secrets init` and `pghac up` write it.
const OperatorKeyVar = "operator_ssh_public_key"

// Ammo kinds a load test can fire at the backend.
const (
	AmmoGet  = "get"  // GET /notes/?skip=&take=: reads, served by the replicas
	AmmoPost = "post" // POST /notes/: writes, served by the primary
)

// AmmoKinds lists every ammo kind, in the order help texts show them.
var AmmoKinds = []string{AmmoGet, AmmoPost}

// LoadTest is one named load-test scenario.
type LoadTest struct {
	Name string
	// Schedule is Yandex Tank's load_profile schedule, e.g. "line(10, 500, 2m)".
	Schedule string
	// Duration is the schedule's total length.
	Duration time.Duration
	// Ammo are the request kinds (AmmoKinds) the ammo file interleaves, in the given order.
	Ammo []string
	// Node is the node whose backend receives the load.
	Node string
	// Instances is Tank's limit of requests in flight.
	Instances int
	// Timeout is how long a request may take before it counts as a network error.
	Timeout time.Duration
	// Autostop are Tank's autostop criteria, e.g. "http(5xx,10%,5s)".
	Autostop  []string
	DeclRange hcl.Range
}

// LoadGenerator is the VM that runs load tests against the cluster.
type LoadGenerator struct {
	Name    string
	Zone    string
	Address netip.Addr
	VM      VM
	// ArtifactURL and ArtifactSHA256 locate the pghac binary the VM installs; for LocalBuild,
	// the placeholders of PghacURLVar and PghacSHA256Var.
	ArtifactURL    string
	ArtifactSHA256 string
	// LocalBuild: the binary is pghac's own build, uploaded by the module (Backend.LocalBuild).
	LocalBuild bool
	DeclRange  hcl.Range
}

// Bastion is a small VM with a public address, the only one that admits SSH from the
// administrators: pghac's jump host when network.jump_host names none.
type Bastion struct {
	Name      string
	Zone      string
	Address   netip.Addr
	VM        VM
	DeclRange hcl.Range
}

// LoadBalancer is a Yandex network load balancer whose only healthy target is the primary
// (health check: Patroni's /primary), forwarding Port to the primary's PgBouncer.
type LoadBalancer struct {
	// Type is "internal" (an address in Zone's subnet) or "external" (a public address).
	Type string
	Port int
	// Zone picks the subnet of an internal load balancer's address.
	Zone string
	// Address is the listener's address as cluster.hcl gives it; invalid when the cloud
	// picks one at apply.
	Address   netip.Addr
	DeclRange hcl.Range
}

// State is Terraform state in a Yandex Object Storage bucket.
type State struct {
	Bucket string
	Key    string
	// LockTable is the YDB table (LockID, a string, its key) that locks the state, through
	// the database's Document API at LockEndpoint; both "" when nothing locks it.
	LockTable, LockEndpoint string
	DeclRange               hcl.Range
}

// Sandbox is the host side of the sandbox target: one bridge on the host, holding HostAddress,
// that every machine's interface joins. The nodes' addresses come from CIDR.
type Sandbox struct {
	CIDR netip.Prefix
	// HostAddress is the bridge's address on the host, the network's first usable address. The
	// host plays the load generator and the client: it reaches every node from here.
	HostAddress netip.Addr
	// Bridge is the host's bridge interface (at most 15 characters, Linux's IFNAMSIZ).
	Bridge    string
	DeclRange hcl.Range
}

// EtcdNodes returns the nodes that run etcd, in name order.
func (c *Cluster) EtcdNodes() []Node {
	var out []Node
	for _, n := range c.Nodes {
		if n.EtcdMember {
			out = append(out, n)
		}
	}
	return out
}

// SubnetCIDRs returns the CIDRs of the cluster's subnets, in zone order.
func (c *Cluster) SubnetCIDRs() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.Network.Subnets))
	for _, s := range c.Network.Subnets {
		out = append(out, s.CIDR)
	}
	return out
}

// AdminAddresses are where administrators reach PostgreSQL from besides the nodes themselves:
// the admin path's end inside the network, which an SSH tunnel's connections come from. The
// sandbox's host (its stand-in jump host); the bastion; network.jump_host when it is an IP
// address (a name is resolved only when dialled, so it is not one). Sorted, without repeats.
func (c *Cluster) AdminAddresses() []netip.Addr {
	var out []netip.Addr
	if c.Sandbox != nil {
		out = append(out, c.Sandbox.HostAddress)
	}
	if c.Bastion != nil {
		out = append(out, c.Bastion.Address)
	}
	if j := c.Network.JumpHost; j != nil {
		if a, err := netip.ParseAddr(j.Host); err == nil {
			out = append(out, a.Unmap())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// ErrNoClientRole is ClientRole's lack, for the commands that need one.
var ErrNoClientRole = errors.New("the cluster file has no role that owns a database, and the superuser cannot log in through PgBouncer: " +
	`add a role block and a database it owns (role "app" {} and database "app" { owner = "app" })`)

// ClientRole is the role pghac's own clients log in as through HAProxy and PgBouncer (the
// drills' writers, pghac env, the tests), with the database it owns: the first role block, in
// name order, that owns a database. The superuser is not one: PgBouncer does not let it in.
func (c *Cluster) ClientRole() (role, database string, ok bool) {
	for _, r := range c.Roles {
		for _, db := range c.Databases {
			if db.Owner == r.Name {
				return r.Name, db.Name, true
			}
		}
	}
	return "", "", false
}

// NodeNames returns the names of the nodes, in order.
func (c *Cluster) NodeNames() []string {
	names := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		names[i] = n.Name
	}
	return names
}

// HasNode reports whether the cluster has a node called name.
func (c *Cluster) HasNode(name string) bool { return slices.Contains(c.NodeNames(), name) }

// RoleDatabase is the first database that role owns (postgres, the superuser's, when it owns
// none), and whether the cluster declares role.
func (c *Cluster) RoleDatabase(role string) (string, bool) {
	if !slices.ContainsFunc(c.Roles, func(r Role) bool { return r.Name == role }) {
		return "", false
	}
	for _, db := range c.Databases {
		if db.Owner == role {
			return db.Name, true
		}
	}
	return SuperuserName, true
}
