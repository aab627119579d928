package explain

import (
	"bytes"
	"fmt"
	"net/netip"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
)

// explanation is the resolved cluster as `pghac validate --explain` prints it: every value the
// build will use, defaults included, so that nobody has to guess what an unset attribute means.
type explanation struct {
	Cluster string `yaml:"cluster"`
	Target  string `yaml:"target"`
	// DeletionProtection of the secrets' Lockbox secret and KMS key (yandex).
	DeletionProtection bool              `yaml:"deletion_protection"`
	Image              explainImage      `yaml:"image"`
	Network            explainNetwork    `yaml:"network"`
	Nodes              []explainNode     `yaml:"nodes"`
	Etcd               explainEtcd       `yaml:"etcd"`
	Patroni            explainPatroni    `yaml:"patroni"`
	Postgres           explainPostgres   `yaml:"postgres"`
	PgBouncer          explainPgBouncer  `yaml:"pgbouncer"`
	HAProxy            explainHAProxy    `yaml:"haproxy"`
	Backend            *explainBackend   `yaml:"backend,omitempty"`
	Roles              []explainRole     `yaml:"roles,omitempty"`
	Databases          []explainDatabase `yaml:"databases,omitempty"`
	LoadTests          []explainLoadTest `yaml:"load_tests,omitempty"`
	LoadGen            *explainNode      `yaml:"load_generator,omitempty"`
	Bastion            *explainNode      `yaml:"bastion,omitempty"`
	LoadBal            *explainLB        `yaml:"load_balancer,omitempty"`
	Backup             *explainBackup    `yaml:"backup,omitempty"`
	Secrets            []string          `yaml:"secrets,flow"`
}

type explainRole struct {
	Name            string `yaml:"name"`
	ConnectionLimit int    `yaml:"connection_limit"`
}

type explainDatabase struct {
	Name            string `yaml:"name"`
	Owner           string `yaml:"owner"`
	ConnectionLimit int    `yaml:"connection_limit"`
	PoolMode        string `yaml:"pool_mode"`
}

type explainBackup struct {
	Stanza          string `yaml:"stanza"`
	Repository      string `yaml:"repository"`
	Endpoint        string `yaml:"endpoint"`
	Region          string `yaml:"region"`
	Full            string `yaml:"full"`
	Partial         string `yaml:"partial"`
	PartialType     string `yaml:"partial_type"`
	RetentionDays   int    `yaml:"retention_days"`
	ArchiveTimeout  string `yaml:"archive_timeout"`
	ArchiveQueueMax int64  `yaml:"archive_queue_max_bytes"`
	Compression     string `yaml:"compression"`
	CompressLevel   int    `yaml:"compression_level"`
	// DeletionProtection of the KMS key and the Lockbox secret (yandex).
	DeletionProtection bool `yaml:"deletion_protection"`
}

type explainLB struct {
	Type string `yaml:"type"`
	Port int    `yaml:"port"`
	Zone string `yaml:"zone,omitempty"`
}

type explainPatroni struct {
	Scope                 string `yaml:"scope"`
	Namespace             string `yaml:"namespace"`
	TTL                   int    `yaml:"ttl"`
	LoopWait              int    `yaml:"loop_wait"`
	RetryTimeout          int    `yaml:"retry_timeout"`
	MaximumLagOnFailover  int64  `yaml:"maximum_lag_on_failover_bytes"`
	SynchronousMode       bool   `yaml:"synchronous_mode"`
	SynchronousModeStrict bool   `yaml:"synchronous_mode_strict"`
	FailsafeMode          bool   `yaml:"failsafe_mode"`
	UsePgRewind           bool   `yaml:"use_pg_rewind"`
	RestAPIPort           int    `yaml:"restapi_port"`
	Watchdog              string `yaml:"watchdog"`
}

type explainLoadTest struct {
	Name     string   `yaml:"name"`
	Schedule string   `yaml:"schedule"`
	Ammo     []string `yaml:"ammo,flow"`
}

type explainImage struct {
	Family         string   `yaml:"family"`
	OS             string   `yaml:"os"`
	PostgreSQL     int      `yaml:"postgresql"`
	Patroni        string   `yaml:"patroni"`
	Packages       []string `yaml:"packages,flow"`
	PostgresBinDir string   `yaml:"postgres_bin_dir"`
	PostgresData   string   `yaml:"postgres_data_dir"`
}

type explainNetwork struct {
	Subnets     []string `yaml:"subnets"`
	AdminCIDRs  []string `yaml:"admin_cidrs,flow"`
	ClientCIDRs []string `yaml:"client_cidrs,flow"`
}

type explainNode struct {
	Name         string  `yaml:"name"`
	Zone         string  `yaml:"zone"`
	Address      string  `yaml:"address"`
	EtcdMember   bool    `yaml:"etcd_member"`
	Platform     string  `yaml:"platform"`
	Cores        int     `yaml:"cores"`
	CoreFraction int     `yaml:"core_fraction"`
	MemoryGB     float64 `yaml:"memory_gb"`
	DiskSizeGB   int     `yaml:"disk_size_gb"`
	DiskType     string  `yaml:"disk_type"`
	Preemptible  bool    `yaml:"preemptible"`
	PublicIP     bool    `yaml:"public_ip"`
}

type explainEtcd struct {
	ClientPort        int      `yaml:"client_port"`
	PeerPort          int      `yaml:"peer_port"`
	HeartbeatInterval string   `yaml:"heartbeat_interval"`
	ElectionTimeout   string   `yaml:"election_timeout"`
	Members           []string `yaml:"members,flow"`
	Token             string   `yaml:"token"`
}

type explainPostgres struct {
	Major      int      `yaml:"major"`
	Port       int      `yaml:"port"`
	Parameters []string `yaml:"parameters"`
}

type explainPgBouncer struct {
	Port             int    `yaml:"port"`
	PoolMode         string `yaml:"pool_mode"`
	DefaultPoolSize  int    `yaml:"default_pool_size"`
	MaxClientConn    int    `yaml:"max_client_conn"`
	ServerLoginRetry string `yaml:"server_login_retry"`
	QueryWaitTimeout string `yaml:"query_wait_timeout"`
}

type explainHAProxy struct {
	PrimaryPort   int    `yaml:"primary_port"`
	ReplicaPort   int    `yaml:"replica_port"`
	StatsPort     int    `yaml:"stats_port"`
	MaxConn       int    `yaml:"maxconn"`
	CheckInter    string `yaml:"check_inter"`
	CheckFall     int    `yaml:"check_fall"`
	CheckRise     int    `yaml:"check_rise"`
	ReplicaMaxLag int64  `yaml:"replica_max_lag_bytes"`
}

type explainBackend struct {
	Port      int      `yaml:"port"`
	Database  string   `yaml:"database"`
	User      string   `yaml:"user"`
	Artifact  string   `yaml:"artifact,omitempty"`
	AllowFrom []string `yaml:"allow_from,flow"`
}

// artifact says where a binary comes from: pghac's own build, or the artifact block's url.
func artifact(url string, localBuild bool) string {
	if localBuild {
		return "pghac's build (uploaded by the module, served by pghac up)"
	}
	return url
}

// Explain is c's resolved settings as YAML.
func Explain(c *model.Cluster) ([]byte, error) {
	e := explanation{
		Cluster: c.Name, Target: string(c.Target), DeletionProtection: c.DeletionProtection,
		Image: explainImage{Family: c.OS.ImageFamily, OS: c.OS.Name, PostgreSQL: c.OS.PostgresMajor,
			Patroni: c.OS.PatroniVersion, Packages: c.OS.Packages, PostgresBinDir: c.OS.BinDir, PostgresData: c.OS.DataDir},
		Network: explainNetwork{AdminCIDRs: prefixes(c.Network.AdminCIDRs), ClientCIDRs: prefixes(c.Network.ClientCIDRs)},
		Etcd: explainEtcd{ClientPort: c.Etcd.ClientPort, PeerPort: c.Etcd.PeerPort,
			HeartbeatInterval: c.Etcd.HeartbeatInterval.String(), ElectionTimeout: c.Etcd.ElectionTimeout.String(),
			Members: c.Etcd.Members, Token: c.Etcd.Token},
		Patroni:  explainPatroni(c.Patroni),
		Postgres: explainPostgres{Major: c.Postgres.Major, Port: c.Postgres.Port},
		PgBouncer: explainPgBouncer{Port: c.PgBouncer.Port, PoolMode: c.PgBouncer.PoolMode, DefaultPoolSize: c.PgBouncer.DefaultPoolSize,
			MaxClientConn: c.PgBouncer.MaxClientConn, ServerLoginRetry: c.PgBouncer.ServerLoginRetry.String(),
			QueryWaitTimeout: c.PgBouncer.QueryWaitTimeout.String()},
		HAProxy: explainHAProxy{PrimaryPort: c.HAProxy.PrimaryPort, ReplicaPort: c.HAProxy.ReplicaPort, StatsPort: c.HAProxy.StatsPort,
			MaxConn: c.HAProxy.MaxConn, CheckInter: c.HAProxy.Check.Inter.String(), CheckFall: c.HAProxy.Check.Fall,
			CheckRise: c.HAProxy.Check.Rise, ReplicaMaxLag: c.HAProxy.ReplicaMaxLagBytes},
	}
	for _, lt := range c.LoadTests {
		e.LoadTests = append(e.LoadTests, explainLoadTest{Name: lt.Name, Schedule: lt.Schedule, Ammo: lt.Ammo})
	}
	for _, s := range c.Network.Subnets {
		e.Network.Subnets = append(e.Network.Subnets, s.Zone+" "+s.CIDR.String())
	}
	for _, n := range c.Nodes {
		e.Nodes = append(e.Nodes, explainVM(n.Name, n.Zone, n.Address, n.EtcdMember, n.VM))
	}
	if lg := c.LoadGenerator; lg != nil {
		v := explainVM(lg.Name, lg.Zone, lg.Address, false, lg.VM)
		e.LoadGen = &v
	}
	if b := c.Bastion; b != nil {
		v := explainVM(b.Name, b.Zone, b.Address, false, b.VM)
		e.Bastion = &v
	}
	if lb := c.LoadBalancer; lb != nil {
		e.LoadBal = &explainLB{Type: lb.Type, Port: lb.Port, Zone: lb.Zone}
	}
	if b := c.Backup; b != nil {
		e.Backup = &explainBackup{Stanza: b.Stanza, Repository: "s3://" + b.Bucket + b.Path, Endpoint: b.Addr(), Region: b.Region,
			Full: b.Full.Calendar, Partial: b.Partial.Calendar, PartialType: b.PartialType, RetentionDays: b.RetentionDays,
			ArchiveTimeout: b.ArchiveTimeout.String(), ArchiveQueueMax: b.ArchiveQueueMax, Compression: b.Compression, CompressLevel: b.CompressLevel, DeletionProtection: b.DeletionProtection}
	}
	for _, p := range c.Postgres.Parameters {
		src := "derived"
		if p.FromUser {
			src = "cluster.hcl"
		}
		e.Postgres.Parameters = append(e.Postgres.Parameters, fmt.Sprintf("%s = %s  (%s)", p.Name, p.Value, src))
	}
	if b := c.Backend; b != nil {
		e.Backend = &explainBackend{Port: b.Port, Database: b.Database, User: b.User, Artifact: artifact(b.ArtifactURL, b.LocalBuild), AllowFrom: prefixes(b.AllowFrom)}
	}
	for _, r := range c.Roles {
		e.Roles = append(e.Roles, explainRole{Name: r.Name, ConnectionLimit: r.ConnectionLimit})
	}
	for _, d := range c.Databases {
		mode := d.PoolMode
		if mode == "" {
			mode = c.PgBouncer.PoolMode
		}
		e.Databases = append(e.Databases, explainDatabase{Name: d.Name, Owner: d.Owner, ConnectionLimit: d.ConnectionLimit, PoolMode: mode})
	}
	for _, s := range c.Secrets() {
		e.Secrets = append(e.Secrets, s.Placeholder())
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func explainVM(name, zone string, addr netip.Addr, etcd bool, vm model.VM) explainNode {
	return explainNode{Name: name, Zone: zone, Address: addr.String(), EtcdMember: etcd,
		Platform: vm.Platform, Cores: vm.Cores, CoreFraction: vm.CoreFraction, MemoryGB: vm.MemoryGB,
		DiskSizeGB: vm.DiskSizeGB, DiskType: vm.DiskType, Preemptible: vm.Preemptible, PublicIP: vm.PublicIP}
}

func prefixes(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
