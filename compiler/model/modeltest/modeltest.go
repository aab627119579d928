// Package modeltest builds small resolved clusters for emitter unit tests, so that emitters can
// be tested without going through HCL. Golden tests, not these, pin the full output.
package modeltest

import (
	"net/netip"
	"time"

	"github.com/pghac/pghac/compiler/model"
)

// Cluster returns a three-node cluster shaped like the repository's cluster.hcl: Debian 12,
// one node per zone, synchronous mode, pghac's default timings. Each call returns a fresh value
// that the caller may modify.
func Cluster() *model.Cluster {
	vm := model.VM{Platform: "standard-v3", Cores: 4, CoreFraction: 50, MemoryGB: 8,
		DiskSizeGB: 10, DiskType: "network-ssd", Preemptible: true, PublicIP: true}
	subnets := []model.Subnet{
		{Zone: "ru-central1-a", CIDR: netip.MustParsePrefix("10.128.0.0/24")},
		{Zone: "ru-central1-b", CIDR: netip.MustParsePrefix("10.129.0.0/24")},
		{Zone: "ru-central1-d", CIDR: netip.MustParsePrefix("10.130.0.0/24")},
	}
	return &model.Cluster{
		Name:               "main",
		Target:             model.TargetYandex,
		DeletionProtection: true,
		TLS:                model.TLS{Lifetime: 365 * 24 * time.Hour, RenewBefore: 30 * 24 * time.Hour},
		OS: model.OS{
			ImageFamily:   "debian-12",
			Name:          "Debian 12 (bookworm)",
			PostgresMajor: 15,
			Packages: []string{"etcd-client", "etcd-server", "haproxy", "patroni", "pgbouncer",
				"postgresql-15", "python3-etcd", "python3-psycopg2"},
			BinDir:           "/usr/lib/postgresql/15/bin",
			DataDir:          "/var/lib/postgresql/15/main",
			PatroniVersion:   "3.0",
			SupportsFailsafe: true,
			DefaultCluster:   "15/main",
			DefaultUser:      "debian",
		},
		Network: model.Network{
			Subnets:     subnets,
			AdminCIDRs:  []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
			ClientCIDRs: []netip.Prefix{subnets[0].CIDR, subnets[1].CIDR, subnets[2].CIDR},
		},
		Nodes: []model.Node{
			{Name: "node0", Zone: "ru-central1-a", Address: netip.MustParseAddr("10.128.0.16"), VM: vm, EtcdMember: true},
			{Name: "node1", Zone: "ru-central1-b", Address: netip.MustParseAddr("10.129.0.14"), VM: vm, EtcdMember: true},
			{Name: "node2", Zone: "ru-central1-d", Address: netip.MustParseAddr("10.130.0.28"), VM: vm, EtcdMember: true},
		},
		Etcd: model.Etcd{ClientPort: 2379, PeerPort: 2380, HeartbeatInterval: 50 * time.Millisecond,
			ElectionTimeout: 500 * time.Millisecond, Members: []string{"node0", "node1", "node2"}, Token: "pghac-main"},
		Patroni: model.Patroni{
			Scope: "main", Namespace: "/service/",
			TTL: 20, LoopWait: 2, RetryTimeout: 4, MaximumLagOnFailover: 1 << 20,
			SynchronousMode: true, FailsafeMode: true, UsePgRewind: true,
			RestAPIPort: 8008, Watchdog: "off",
		},
		Postgres: model.Postgres{
			Major: 15, Port: 5432,
			Parameters: []model.Parameter{
				{Name: "effective_cache_size", Value: "6144MB"},
				{Name: "hot_standby", Value: "on"},
				{Name: "max_connections", Value: "100"},
				{Name: "max_replication_slots", Value: "10"},
				{Name: "max_wal_senders", Value: "10"},
				{Name: "password_encryption", Value: "scram-sha-256"},
				{Name: "shared_buffers", Value: "2048MB"},
				{Name: "wal_level", Value: "replica"},
				{Name: "wal_log_hints", Value: "on"},
				{Name: "work_mem", Value: "20971kB"},
			},
		},
		PgBouncer: model.PgBouncer{Port: 6432, PoolMode: "session", DefaultPoolSize: 100,
			MaxClientConn: 1000, ServerLoginRetry: time.Second, QueryWaitTimeout: 30 * time.Second},
		HAProxy: model.HAProxy{PrimaryPort: 5000, ReplicaPort: 5001, StatsPort: 7000, MaxConn: 1000,
			Check: model.HealthCheck{Inter: time.Second, Fall: 2, Rise: 1}, ReplicaMaxLagBytes: 1 << 20},
	}
}
