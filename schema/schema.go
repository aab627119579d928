package schema

import "github.com/hashicorp/hcl/v2"

// Cluster is the one top-level block of cluster.hcl:
//
//	cluster "main" {
//	  network { ... }
//	  vm { ... }
//	  node "node0" { ... }
//	  ...
//	}
type Cluster struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	// DevSingleNode allows a cluster of one node (no high availability), for development only.
	DevSingleNode      *bool     `hcl:"dev_single_node,optional"`
	DevSingleNodeRange hcl.Range `hcl:"dev_single_node,attr_value_range"`
	// DeletionProtection guards what holds the cluster's secrets (their Lockbox secret and its
	// KMS key), and by default the backups' key and key pair too.
	DeletionProtection *bool `hcl:"deletion_protection,optional"`

	Network   *Network   `hcl:"network,block"`
	VM        *VM        `hcl:"vm,block"`
	Nodes     []Node     `hcl:"node,block"`
	Etcd      *Etcd      `hcl:"etcd,block"`
	Patroni   *Patroni   `hcl:"patroni,block"`
	Postgres  *Postgres  `hcl:"postgres,block"`
	PgBouncer *PgBouncer `hcl:"pgbouncer,block"`
	HAProxy   *HAProxy   `hcl:"haproxy,block"`
	Backend   *Backend   `hcl:"backend,block"`
	LoadTests []LoadTest `hcl:"load_test,block"`
	Roles     []Role     `hcl:"role,block"`
	Databases []Database `hcl:"database,block"`

	LoadGenerator *LoadGenerator `hcl:"load_generator,block"`
	Bastion       *Bastion       `hcl:"bastion,block"`
	LoadBalancer  *LoadBalancer  `hcl:"load_balancer,block"`
	State         *State         `hcl:"state,block"`
	Sandbox       *Sandbox       `hcl:"sandbox,block"`
	Backup        *Backup        `hcl:"backup,block"`
	TLS           *TLS           `hcl:"tls,block"`
}

// TLS tunes the certificates pghac issues from the cluster's authority:
// `tls { extra_names = ["db.example.com"]  lifetime = "365d"  renew_before = "30d" }`.
type TLS struct {
	DefRange hcl.Range `hcl:",def_range"`
	// ExtraNames are more DNS names and IP addresses clients dial to reach PgBouncer (through
	// HAProxy or a load balancer): the service certificate is valid for them too.
	ExtraNamesExpr   hcl.Expression `hcl:"extra_names,optional"`
	ExtraNames       []String
	Lifetime         *string   `hcl:"lifetime,optional"`
	LifetimeRange    hcl.Range `hcl:"lifetime,attr_value_range"`
	RenewBefore      *string   `hcl:"renew_before,optional"`
	RenewBeforeRange hcl.Range `hcl:"renew_before,attr_value_range"`
}

// Backup configures pgBackRest's backups and WAL archive in an S3 bucket:
// `backup { bucket = "my-backups"  full = "Sun 03:00"  retention = "30d" }`. On by default.
type Backup struct {
	DefRange     hcl.Range `hcl:",def_range"`
	Enabled      *bool     `hcl:"enabled,optional"`
	EnabledRange hcl.Range `hcl:"enabled,attr_value_range"`
	Bucket       *string   `hcl:"bucket,optional"`
	BucketRange  hcl.Range `hcl:"bucket,attr_value_range"`
	// Full, Differential and Incremental are when backups run, as systemd calendar days and
	// time: "Sun 03:00", "Mon..Sat 03:00", "daily". Differential and Incremental exclude
	// each other.
	Full                  *string   `hcl:"full,optional"`
	FullRange             hcl.Range `hcl:"full,attr_value_range"`
	Differential          *string   `hcl:"differential,optional"`
	DifferentialRange     hcl.Range `hcl:"differential,attr_value_range"`
	Incremental           *string   `hcl:"incremental,optional"`
	IncrementalRange      hcl.Range `hcl:"incremental,attr_value_range"`
	Retention             *string   `hcl:"retention,optional"`
	RetentionRange        hcl.Range `hcl:"retention,attr_value_range"`
	ArchiveTimeout        *string   `hcl:"archive_timeout,optional"`
	ArchiveTimeoutRange   hcl.Range `hcl:"archive_timeout,attr_value_range"`
	ArchiveQueueMax       *string   `hcl:"archive_queue_max,optional"`
	ArchiveQueueMaxRange  hcl.Range `hcl:"archive_queue_max,attr_value_range"`
	Compression           *string   `hcl:"compression,optional"`
	CompressionRange      hcl.Range `hcl:"compression,attr_value_range"`
	CompressionLevel      *int      `hcl:"compression_level,optional"`
	CompressionLevelRange hcl.Range `hcl:"compression_level,attr_value_range"`
	// DeletionProtection guards the backups' KMS key and the Lockbox secret of their key pair.
	DeletionProtection *bool `hcl:"deletion_protection,optional"`
}

// Sandbox configures the local target: `sandbox { cidr = "10.213.0.0/24" }`.
type Sandbox struct {
	DefRange  hcl.Range `hcl:",def_range"`
	CIDR      *string   `hcl:"cidr,optional"`
	CIDRRange hcl.Range `hcl:"cidr,attr_value_range"`
}

// State keeps Terraform's state in Yandex Object Storage: `state { bucket = "my-tfstate" }`.
type State struct {
	DefRange    hcl.Range `hcl:",def_range"`
	Bucket      string    `hcl:"bucket"`
	BucketRange hcl.Range `hcl:"bucket,attr_value_range"`
	Key         *string   `hcl:"key,optional"`
	KeyRange    hcl.Range `hcl:"key,attr_value_range"`
	// LockTable and LockEndpoint lock the state in a YDB table through its DynamoDB-compatible
	// Document API, as Yandex documents for Terraform.
	LockTable         *string   `hcl:"lock_table,optional"`
	LockTableRange    hcl.Range `hcl:"lock_table,attr_value_range"`
	LockEndpoint      *string   `hcl:"lock_endpoint,optional"`
	LockEndpointRange hcl.Range `hcl:"lock_endpoint,attr_value_range"`
}

// LoadGenerator is the VM load tests run from: `load_generator { zone = "..."  address = "..." }`.
type LoadGenerator struct {
	DefRange     hcl.Range `hcl:",def_range"`
	Zone         string    `hcl:"zone"`
	ZoneRange    hcl.Range `hcl:"zone,attr_value_range"`
	Address      string    `hcl:"address"`
	AddressRange hcl.Range `hcl:"address,attr_value_range"`
	VM           *VM       `hcl:"vm,block"`
	// Artifact is the pghac binary the VM installs to run the load tests.
	Artifact *Artifact `hcl:"artifact,block"`
}

// Bastion is the small VM with a public address that pghac reaches the nodes through:
// `bastion { zone = "..."  address = "..." }`.
type Bastion struct {
	DefRange     hcl.Range `hcl:",def_range"`
	Zone         string    `hcl:"zone"`
	ZoneRange    hcl.Range `hcl:"zone,attr_value_range"`
	Address      string    `hcl:"address"`
	AddressRange hcl.Range `hcl:"address,attr_value_range"`
	VM           *VM       `hcl:"vm,block"`
}

// LoadBalancer is a network load balancer in front of the primary.
type LoadBalancer struct {
	DefRange  hcl.Range `hcl:",def_range"`
	Type      *string   `hcl:"type,optional"`
	TypeRange hcl.Range `hcl:"type,attr_value_range"`
	Port      *int      `hcl:"port,optional"`
	PortRange hcl.Range `hcl:"port,attr_value_range"`
	Zone      *string   `hcl:"zone,optional"`
	ZoneRange hcl.Range `hcl:"zone,attr_value_range"`
	// Address is the listener's address: internal, a free one of the zone's subnet; external,
	// a public address reserved beforehand. Unset, the cloud picks one at apply.
	Address      *string   `hcl:"address,optional"`
	AddressRange hcl.Range `hcl:"address,attr_value_range"`
}

// Network is the private network: one subnet per zone, and who may reach the cluster.
type Network struct {
	DefRange hcl.Range `hcl:",def_range"`
	Subnets  []Subnet  `hcl:"subnet,block"`

	AdminCIDRsExpr  hcl.Expression `hcl:"admin_cidrs,optional"`
	ClientCIDRsExpr hcl.Expression `hcl:"client_cidrs,optional"`
	JumpHost        *string        `hcl:"jump_host,optional"`
	JumpHostRange   hcl.Range      `hcl:"jump_host,attr_value_range"`
	// AdminCIDRs and ClientCIDRs are filled by Decode from the expressions above, each
	// element with its own range. Nil when the attribute is absent.
	AdminCIDRs  []String
	ClientCIDRs []String
}

// Subnet is a zone's subnet: `subnet "ru-central1-a" { cidr = "10.128.0.0/24" }`.
type Subnet struct {
	Zone      string    `hcl:"zone,label"`
	ZoneRange hcl.Range `hcl:"zone,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`
	CIDR      string    `hcl:"cidr"`
	CIDRRange hcl.Range `hcl:"cidr,attr_value_range"`
}

// VM is a machine shape. The cluster's vm block sets defaults for every node; a node's own vm
// block overrides single attributes.
type VM struct {
	DefRange hcl.Range `hcl:",def_range"`

	Platform          *string   `hcl:"platform,optional"`
	PlatformRange     hcl.Range `hcl:"platform,attr_value_range"`
	Cores             *int      `hcl:"cores,optional"`
	CoresRange        hcl.Range `hcl:"cores,attr_value_range"`
	CoreFraction      *int      `hcl:"core_fraction,optional"`
	CoreFractionRange hcl.Range `hcl:"core_fraction,attr_value_range"`
	MemoryGB          *float64  `hcl:"memory_gb,optional"`
	MemoryGBRange     hcl.Range `hcl:"memory_gb,attr_value_range"`
	Preemptible       *bool     `hcl:"preemptible,optional"`
	PreemptibleRange  hcl.Range `hcl:"preemptible,attr_value_range"`
	PublicIP          *bool     `hcl:"public_ip,optional"`
	PublicIPRange     hcl.Range `hcl:"public_ip,attr_value_range"`
	ImageFamily       *string   `hcl:"image_family,optional"`
	ImageFamilyRange  hcl.Range `hcl:"image_family,attr_value_range"`
	Disk              *Disk     `hcl:"disk,block"`
}

// Disk is a VM's boot disk.
type Disk struct {
	SizeGB      *int      `hcl:"size_gb,optional"`
	SizeGBRange hcl.Range `hcl:"size_gb,attr_value_range"`
	Type        *string   `hcl:"type,optional"`
	TypeRange   hcl.Range `hcl:"type,attr_value_range"`
}

// Node is one VM of the cluster: `node "node0" { zone = "ru-central1-a"  address = "10.128.0.16" }`.
type Node struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	DefRange  hcl.Range `hcl:",def_range"`

	Zone         string    `hcl:"zone"`
	ZoneRange    hcl.Range `hcl:"zone,attr_value_range"`
	Address      string    `hcl:"address"`
	AddressRange hcl.Range `hcl:"address,attr_value_range"`
	// EtcdMember runs an etcd member on the node (default true).
	EtcdMember      *bool     `hcl:"etcd_member,optional"`
	EtcdMemberRange hcl.Range `hcl:"etcd_member,attr_value_range"`
	VM              *VM       `hcl:"vm,block"`
}

// Etcd is the DCS that Patroni keeps its leader lock in:
// `etcd { heartbeat_interval = "50ms"  election_timeout = "500ms" }`.
type Etcd struct {
	DefRange        hcl.Range `hcl:",def_range"`
	ClientPort      *int      `hcl:"client_port,optional"`
	ClientPortRange hcl.Range `hcl:"client_port,attr_value_range"`
	PeerPort        *int      `hcl:"peer_port,optional"`
	PeerPortRange   hcl.Range `hcl:"peer_port,attr_value_range"`
	// HeartbeatInterval and ElectionTimeout are raft's timings, durations with units.
	HeartbeatInterval      *string   `hcl:"heartbeat_interval,optional"`
	HeartbeatIntervalRange hcl.Range `hcl:"heartbeat_interval,attr_value_range"`
	ElectionTimeout        *string   `hcl:"election_timeout,optional"`
	ElectionTimeoutRange   hcl.Range `hcl:"election_timeout,attr_value_range"`
}

// Patroni holds the failover timings and the replication policy.
type Patroni struct {
	DefRange hcl.Range `hcl:",def_range"`

	TTL                        *int      `hcl:"ttl,optional"`
	TTLRange                   hcl.Range `hcl:"ttl,attr_value_range"`
	LoopWait                   *int      `hcl:"loop_wait,optional"`
	LoopWaitRange              hcl.Range `hcl:"loop_wait,attr_value_range"`
	RetryTimeout               *int      `hcl:"retry_timeout,optional"`
	RetryTimeoutRange          hcl.Range `hcl:"retry_timeout,attr_value_range"`
	MaximumLagOnFailover       *string   `hcl:"maximum_lag_on_failover,optional"`
	MaximumLagOnFailoverRange  hcl.Range `hcl:"maximum_lag_on_failover,attr_value_range"`
	SynchronousMode            *bool     `hcl:"synchronous_mode,optional"`
	SynchronousModeRange       hcl.Range `hcl:"synchronous_mode,attr_value_range"`
	SynchronousModeStrict      *bool     `hcl:"synchronous_mode_strict,optional"`
	SynchronousModeStrictRange hcl.Range `hcl:"synchronous_mode_strict,attr_value_range"`
	FailsafeMode               *bool     `hcl:"failsafe_mode,optional"`
	FailsafeModeRange          hcl.Range `hcl:"failsafe_mode,attr_value_range"`
	UsePgRewind                *bool     `hcl:"use_pg_rewind,optional"`
	RestAPIPort                *int      `hcl:"restapi_port,optional"`
	RestAPIPortRange           hcl.Range `hcl:"restapi_port,attr_value_range"`
	Watchdog                   *string   `hcl:"watchdog,optional"`
	WatchdogRange              hcl.Range `hcl:"watchdog,attr_value_range"`
}

// Postgres is the database server: `postgres { version = 15  parameters { work_mem = "64MB" } }`.
type Postgres struct {
	Version      *int        `hcl:"version,optional"`
	VersionRange hcl.Range   `hcl:"version,attr_value_range"`
	Port         *int        `hcl:"port,optional"`
	PortRange    hcl.Range   `hcl:"port,attr_value_range"`
	Parameters   *Parameters `hcl:"parameters,block"`
}

// Parameters are postgresql.conf settings, one attribute each, overriding what pghac derives.
type Parameters struct {
	Attrs hcl.Attributes `hcl:",remain"`
}

// PgBouncer is the per-node connection pooler.
type PgBouncer struct {
	Port                  *int      `hcl:"port,optional"`
	PortRange             hcl.Range `hcl:"port,attr_value_range"`
	PoolMode              *string   `hcl:"pool_mode,optional"`
	PoolModeRange         hcl.Range `hcl:"pool_mode,attr_value_range"`
	DefaultPoolSize       *int      `hcl:"default_pool_size,optional"`
	DefaultPoolSizeRange  hcl.Range `hcl:"default_pool_size,attr_value_range"`
	MaxClientConn         *int      `hcl:"max_client_conn,optional"`
	MaxClientConnRange    hcl.Range `hcl:"max_client_conn,attr_value_range"`
	ServerLoginRetry      *string   `hcl:"server_login_retry,optional"`
	ServerLoginRetryRange hcl.Range `hcl:"server_login_retry,attr_value_range"`
	QueryWaitTimeout      *string   `hcl:"query_wait_timeout,optional"`
	QueryWaitTimeoutRange hcl.Range `hcl:"query_wait_timeout,attr_value_range"`
}

// HAProxy is the per-node router: primary_port to the leader, replica_port to the replicas.
type HAProxy struct {
	PrimaryPort        *int      `hcl:"primary_port,optional"`
	PrimaryPortRange   hcl.Range `hcl:"primary_port,attr_value_range"`
	ReplicaPort        *int      `hcl:"replica_port,optional"`
	ReplicaPortRange   hcl.Range `hcl:"replica_port,attr_value_range"`
	StatsPort          *int      `hcl:"stats_port,optional"`
	StatsPortRange     hcl.Range `hcl:"stats_port,attr_value_range"`
	MaxConn            *int      `hcl:"maxconn,optional"`
	MaxConnRange       hcl.Range `hcl:"maxconn,attr_value_range"`
	ReplicaMaxLag      *string   `hcl:"replica_max_lag,optional"`
	ReplicaMaxLagRange hcl.Range `hcl:"replica_max_lag,attr_value_range"`
	Check              *Check    `hcl:"check,block"`
}

// Check is HAProxy's health check of each server through Patroni's REST API.
type Check struct {
	Inter      *string   `hcl:"inter,optional"`
	InterRange hcl.Range `hcl:"inter,attr_value_range"`
	Fall       *int      `hcl:"fall,optional"`
	FallRange  hcl.Range `hcl:"fall,attr_value_range"`
	Rise       *int      `hcl:"rise,optional"`
	RiseRange  hcl.Range `hcl:"rise,attr_value_range"`
}

// Backend is the notes HTTP API deployed on every node.
type Backend struct {
	DefRange      hcl.Range `hcl:",def_range"`
	Port          *int      `hcl:"port,optional"`
	PortRange     hcl.Range `hcl:"port,attr_value_range"`
	Database      *string   `hcl:"database,optional"`
	DatabaseRange hcl.Range `hcl:"database,attr_value_range"`
	User          *string   `hcl:"user,optional"`
	UserRange     hcl.Range `hcl:"user,attr_value_range"`
	Artifact      *Artifact `hcl:"artifact,block"`
	// Public acknowledges that AllowFrom opens the backend to the whole internet.
	Public        *bool          `hcl:"public,optional"`
	AllowFromExpr hcl.Expression `hcl:"allow_from,optional"`
	// AllowFrom is filled by Decode from AllowFromExpr.
	AllowFrom []String
}

// Role is an application's login role: `role "app" { connection_limit = 50 }`. Its password
// is a generated secret.
type Role struct {
	Name                 string    `hcl:"name,label"`
	NameRange            hcl.Range `hcl:"name,label_range"`
	DefRange             hcl.Range `hcl:",def_range"`
	ConnectionLimit      *int      `hcl:"connection_limit,optional"`
	ConnectionLimitRange hcl.Range `hcl:"connection_limit,attr_value_range"`
}

// Database is an application's database: `database "app" { owner = "app" }`.
type Database struct {
	Name                 string    `hcl:"name,label"`
	NameRange            hcl.Range `hcl:"name,label_range"`
	DefRange             hcl.Range `hcl:",def_range"`
	Owner                string    `hcl:"owner"`
	OwnerRange           hcl.Range `hcl:"owner,attr_value_range"`
	ConnectionLimit      *int      `hcl:"connection_limit,optional"`
	ConnectionLimitRange hcl.Range `hcl:"connection_limit,attr_value_range"`
	// PoolMode overrides PgBouncer's pool mode for this database's clients.
	PoolMode      *string   `hcl:"pool_mode,optional"`
	PoolModeRange hcl.Range `hcl:"pool_mode,attr_value_range"`
}

// Artifact is a downloadable file pinned by its checksum.
type Artifact struct {
	DefRange    hcl.Range `hcl:",def_range"`
	URL         string    `hcl:"url"`
	URLRange    hcl.Range `hcl:"url,attr_value_range"`
	SHA256      string    `hcl:"sha256"`
	SHA256Range hcl.Range `hcl:"sha256,attr_value_range"`
}

// LoadTest is a named load-test scenario in Yandex Tank's terms.
type LoadTest struct {
	Name          string         `hcl:"name,label"`
	NameRange     hcl.Range      `hcl:"name,label_range"`
	DefRange      hcl.Range      `hcl:",def_range"`
	Schedule      string         `hcl:"schedule"`
	ScheduleRange hcl.Range      `hcl:"schedule,attr_value_range"`
	AmmoExpr      hcl.Expression `hcl:"ammo,optional"`
	// Ammo is filled by Decode from AmmoExpr.
	Ammo []String
	// Node names the node whose backend the test loads; the first node when unset.
	Node      *string   `hcl:"node,optional"`
	NodeRange hcl.Range `hcl:"node,attr_value_range"`
	// Instances is Tank's limit of concurrent requests.
	Instances      *int           `hcl:"instances,optional"`
	InstancesRange hcl.Range      `hcl:"instances,attr_value_range"`
	Timeout        *string        `hcl:"timeout,optional"`
	TimeoutRange   hcl.Range      `hcl:"timeout,attr_value_range"`
	AutostopExpr   hcl.Expression `hcl:"autostop,optional"`
	// Autostop is filled by Decode from AutostopExpr; nil when the attribute is absent.
	Autostop []String
}

// String is a string value with the range it was written at.
type String struct {
	Value string
	Range hcl.Range
}
