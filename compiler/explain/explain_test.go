package explain

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
)

// cluster is a small resolved cluster made by hand, so that the test sees only what
// Explain does with a model, not what the compiler puts into one.
func cluster() *model.Cluster {
	vm := model.VM{Platform: "standard-v3", Cores: 2, CoreFraction: 20, MemoryGB: 2.5,
		DiskSizeGB: 10, DiskType: "network-hdd", Preemptible: true}
	return &model.Cluster{
		Name:   "demo",
		Target: model.TargetYandex,
		OS: model.OS{ImageFamily: "debian-12", Name: "Debian 12", PostgresMajor: 15, PatroniVersion: "3.0",
			Packages: []string{"patroni", "postgresql-15"}, BinDir: "/usr/lib/postgresql/15/bin", DataDir: "/var/lib/postgresql/15/main"},
		Network: model.Network{
			Subnets:    []model.Subnet{{Zone: "ru-central1-a", CIDR: netip.MustParsePrefix("10.1.0.0/24")}},
			AdminCIDRs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		},
		Nodes: []model.Node{{Name: "node0", Zone: "ru-central1-a", Address: netip.MustParseAddr("10.1.0.10"), VM: vm, EtcdMember: true}},
		Etcd: model.Etcd{ClientPort: 2379, PeerPort: 2380, HeartbeatInterval: 50 * time.Millisecond,
			ElectionTimeout: 500 * time.Millisecond, Members: []string{"node0"}, Token: "pghac-demo"},
		Patroni: model.Patroni{Scope: "demo", Namespace: "/service/", TTL: 30, LoopWait: 10, RetryTimeout: 10, Watchdog: "off"},
		Postgres: model.Postgres{Major: 15, Port: 5432, Parameters: []model.Parameter{
			{Name: "shared_buffers", Value: "512MB"},
			{Name: "work_mem", Value: "8MB", FromUser: true},
		}},
		PgBouncer: model.PgBouncer{Port: 6432, PoolMode: model.PoolTransaction, DefaultPoolSize: 20, MaxClientConn: 100,
			ServerLoginRetry: time.Second, QueryWaitTimeout: 2 * time.Minute},
		HAProxy: model.HAProxy{PrimaryPort: 5000, ReplicaPort: 5001, StatsPort: 7000, MaxConn: 100,
			Check: model.HealthCheck{Inter: 1500 * time.Millisecond, Fall: 3, Rise: 2}},
		Roles: []model.Role{{Name: "app", ConnectionLimit: -1}},
		Databases: []model.Database{
			{Name: "app", Owner: "app", ConnectionLimit: -1},                                 // the pool mode of pgbouncer
			{Name: "reports", Owner: "app", ConnectionLimit: 5, PoolMode: model.PoolSession}, // its own
		},
	}
}

// explained is Explain(c) as text, checked to hold each of wants.
func explained(t *testing.T, c *model.Cluster, wants ...string) string {
	t.Helper()
	b, err := Explain(c)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("Explain lacks %q:\n%s", want, out)
		}
	}
	return out
}

func TestExplain(t *testing.T) {
	out := explained(t, cluster(),
		"cluster: demo\ntarget: yandex\n",
		"  packages: [patroni, postgresql-15]\n",
		"  subnets:\n    - ru-central1-a 10.1.0.0/24\n  admin_cidrs: [203.0.113.0/24]\n  client_cidrs: []\n",
		"nodes:\n  - name: node0\n    zone: ru-central1-a\n    address: 10.1.0.10\n    etcd_member: true\n",
		"    memory_gb: 2.5\n",
		"  heartbeat_interval: 50ms\n  election_timeout: 500ms\n  members: [node0]\n",
		"  ttl: 30\n",
		"  parameters:\n    - shared_buffers = 512MB  (derived)\n    - work_mem = 8MB  (cluster.hcl)\n",
		"  server_login_retry: 1s\n  query_wait_timeout: 2m0s\n",
		"  check_inter: 1.5s\n",
		"roles:\n  - name: app\n    connection_limit: -1\n",
		// A database without a pool mode of its own shows PgBouncer's.
		"  - name: app\n    owner: app\n    connection_limit: -1\n    pool_mode: transaction\n",
		"  - name: reports\n    owner: app\n    connection_limit: 5\n    pool_mode: session\n",
		"${role_app_password}",
	)
	// Absent blocks are left out, not printed as empty values.
	for _, absent := range []string{"backend:", "load_tests:", "load_generator:", "load_balancer:"} {
		if strings.Contains(out, absent) {
			t.Errorf("Explain has %q for a cluster without it:\n%s", absent, out)
		}
	}
	if !strings.HasPrefix(out[strings.Index(out, "secrets: "):], "secrets: [") || !strings.HasSuffix(out, "]\n") {
		t.Errorf("secrets are not the last, flow-style list:\n%s", out)
	}
}

func TestExplainOptionalBlocks(t *testing.T) {
	c := cluster()
	c.Backend = &model.Backend{Port: 8080, Database: "notes", User: "notes",
		AllowFrom: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}}
	c.LoadTests = []model.LoadTest{{Name: "smoke", Schedule: "const(10, 1m)", Ammo: []string{model.AmmoGet, model.AmmoPost}}}
	c.LoadGenerator = &model.LoadGenerator{Name: "loadgen", Zone: "ru-central1-a", Address: netip.MustParseAddr("10.1.0.20"),
		VM: model.VM{Platform: "standard-v3", Cores: 2, PublicIP: true}}
	c.LoadBalancer = &model.LoadBalancer{Type: "network", Port: 80}
	c.Backup = &model.Backup{Stanza: "main", Bucket: "b-1", Path: "/pgbackrest", Endpoint: model.YandexStorageEndpoint, Port: 443,
		Full: model.Schedule{Calendar: "Sun *-*-* 03:00:00"}, PartialType: "diff", ArchiveTimeout: time.Minute}
	explained(t, c,
		// No artifact: the key is left out rather than shown empty.
		"backend:\n  port: 8080\n  database: notes\n  user: notes\n  allow_from: [10.1.0.0/24]\n",
		"load_tests:\n  - name: smoke\n    schedule: const(10, 1m)\n    ammo: [get, post]\n",
		"load_generator:\n  name: loadgen\n  zone: ru-central1-a\n  address: 10.1.0.20\n  etcd_member: false\n",
		"  public_ip: true\nload_balancer:",
		"\nload_balancer:\n  type: network\n  port: 80\nbackup:\n  stanza: main\n  repository: s3://b-1/pgbackrest\n  endpoint: storage.yandexcloud.net:443\n",
		"  full: Sun *-*-* 03:00:00\n",
		"  archive_timeout: 1m0s\n",
	)
}
