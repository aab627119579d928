package compiler

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
)

const threeNodes = `
cluster "main" {
  network {
    subnet "ru-central1-a" { cidr = "10.128.0.0/24" }
    subnet "ru-central1-b" { cidr = "10.129.0.0/24" }
    subnet "ru-central1-d" { cidr = "10.130.0.0/24" }
  }
  node "node2" {
    zone    = "ru-central1-d"
    address = "10.130.0.28"
  }
  node "node0" {
    zone    = "ru-central1-a"
    address = "10.128.0.16"
  }
  node "node1" {
    zone    = "ru-central1-b"
    address = "10.129.0.14"
    etcd_member = true
  }
}
`

func compile(t *testing.T, src string) (*model.Cluster, hcl.Diagnostics) {
	t.Helper()
	_, c, diags := CompileSource([]byte(src), "cluster.hcl", model.TargetYandex)
	return c, diags
}

func TestCompileDefaults(t *testing.T) {
	c, diags := compile(t, threeNodes)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics: %v", diags)
	}
	var names []string
	for _, n := range c.Nodes {
		names = append(names, n.Name)
	}
	if diff := cmp.Diff([]string{"node0", "node1", "node2"}, names); diff != "" {
		t.Errorf("nodes are not sorted by name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"node0", "node1", "node2"}, c.Etcd.Members); diff != "" {
		t.Errorf("etcd members (-want +got):\n%s", diff)
	}
	wantPatroni := model.Patroni{Scope: "main", Namespace: "/service/", TTL: 20, LoopWait: 2, RetryTimeout: 4,
		MaximumLagOnFailover: 1 << 20, SynchronousMode: true, FailsafeMode: true, UsePgRewind: true,
		RestAPIPort: 8008, Watchdog: "off"}
	if diff := cmp.Diff(wantPatroni, c.Patroni); diff != "" {
		t.Errorf("patroni (-want +got):\n%s", diff)
	}
	wantVM := model.VM{Platform: "standard-v3", Cores: 2, CoreFraction: 100, MemoryGB: 4, DiskSizeGB: 20, DiskType: "network-ssd", PublicIP: true}
	if diff := cmp.Diff(wantVM, c.Nodes[0].VM); diff != "" {
		t.Errorf("vm (-want +got):\n%s", diff)
	}
	if c.OS.PostgresMajor != 15 || c.OS.BinDir != "/usr/lib/postgresql/15/bin" || c.Postgres.Major != 15 {
		t.Errorf("debian-12 should give PostgreSQL 15 paths, got %+v", c.OS)
	}
	wantClients := []netip.Prefix{netip.MustParsePrefix("10.128.0.0/24"), netip.MustParsePrefix("10.129.0.0/24"), netip.MustParsePrefix("10.130.0.0/24")}
	if diff := cmp.Diff(wantClients, c.Network.ClientCIDRs, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("client CIDRs default to the subnets (-want +got):\n%s", diff)
	}
	if c.Etcd.HeartbeatInterval != 50*time.Millisecond || c.Etcd.ElectionTimeout != 500*time.Millisecond {
		t.Errorf("etcd timings default to 50ms/500ms, got %s/%s", c.Etcd.HeartbeatInterval, c.Etcd.ElectionTimeout)
	}
	if c.PgBouncer.ServerLoginRetry != time.Second || c.HAProxy.Check.Inter != time.Second || c.HAProxy.ReplicaMaxLagBytes != 1<<20 {
		t.Errorf("pgbouncer/haproxy defaults: %+v %+v", c.PgBouncer, c.HAProxy)
	}
}

func TestUbuntu2204TurnsFailsafeOff(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", "  vm {\n    image_family = \"ubuntu-2204-lts\"\n  }\n  network {", 1)
	c, diags := compile(t, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if c.Patroni.FailsafeMode || c.OS.PostgresMajor != 14 || !contains(c.OS.Packages, "postgresql-14") {
		t.Errorf("ubuntu-2204-lts: failsafe %v, postgres %d, packages %v", c.Patroni.FailsafeMode, c.OS.PostgresMajor, c.OS.Packages)
	}
}

func TestUserParametersOverrideDerived(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", `  postgres {
    parameters {
      work_mem = "64MB"
      jit      = false
      max_connections = 250
    }
  }
  network {`, 1)
	c, diags := compile(t, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]model.Parameter{}
	for i, p := range c.Postgres.Parameters {
		got[p.Name] = p
		if i > 0 && c.Postgres.Parameters[i-1].Name >= p.Name {
			t.Errorf("parameters not sorted at %s", p.Name)
		}
	}
	for name, want := range map[string]model.Parameter{
		"work_mem":        {Name: "work_mem", Value: "64MB", FromUser: true},
		"jit":             {Name: "jit", Value: "off", FromUser: true},
		"max_connections": {Name: "max_connections", Value: "250", FromUser: true},
		"shared_buffers":  {Name: "shared_buffers", Value: "1024MB"},
	} {
		if diff := cmp.Diff(want, got[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestDeriveParameters(t *testing.T) {
	vm := model.VM{Cores: 4, MemoryGB: 8, DiskSizeGB: 10, DiskType: "network-ssd"}
	small := vm
	small.MemoryGB = 4
	nodes := []model.Node{{VM: vm}, {VM: small}, {VM: vm}}
	got := map[string]string{}
	for _, p := range deriveParameters(nodes, 20) {
		got[p.Name] = p.Value
	}
	want := map[string]string{
		"shared_buffers":       "1024MB", // the smallest node decides
		"effective_cache_size": "3072MB",
		"maintenance_work_mem": "256MB",
		"max_connections":      "100",
		"work_mem":             "10485kB",
		"max_wal_size":         "1024MB",
		"min_wal_size":         "256MB",
		"wal_keep_size":        "512MB",
		"random_page_cost":     "1.1",
		"max_worker_processes": "8",
		"max_wal_senders":      "10",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1MB": 1 << 20, "512kB": 512 << 10, "16GB": 16 << 30, "1 MB": 1 << 20, "7B": 7} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1mb", "-1MB", "1.5GB", "lots", "99999999999TB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted a bad size", in)
		}
	}
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{"10.128.0.0/24": "10.128.0.255", "10.0.0.0/16": "10.0.255.255", "192.168.1.16/28": "192.168.1.31"} {
		if got := lastAddr(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDuplicateReportedOnceForSharedDefault(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", "  vm {\n    cores = 3\n  }\n  network {", 1)
	_, diags := compile(t, src)
	n := 0
	for _, d := range diags {
		if d.Summary == "Invalid core count" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the cluster vm's bad core count was reported %d times, want once: %v", n, diags)
	}
}

// TestEtcdTimings checks the raft timings against what etcd 3.4 accepts (etcd --election-timeout
// and --heartbeat-interval; it refuses an election timeout under 5 heartbeats or over 50000ms),
// each problem at the attribute that causes it.
func TestEtcdTimings(t *testing.T) {
	tests := []struct {
		name, block        string
		heartbeat, elected time.Duration // when there is no error
		want               []string      // diagnostics as "<line>: <severity> <summary>"
	}{
		{name: "defaults", block: "etcd {\n  client_port = 2379\n}", heartbeat: 50 * time.Millisecond, elected: 500 * time.Millisecond},
		{name: "etcd's own", block: "etcd {\n  heartbeat_interval = \"100ms\"\n  election_timeout = \"1s\"\n}",
			heartbeat: 100 * time.Millisecond, elected: time.Second},
		{name: "exactly 5 heartbeats", block: "etcd {\n  heartbeat_interval = \"200ms\"\n  election_timeout = \"1s\"\n}",
			heartbeat: 200 * time.Millisecond, elected: time.Second},
		{name: "etcd's maximum", block: "etcd {\n  election_timeout = \"50s\"\n}", heartbeat: 50 * time.Millisecond, elected: 50 * time.Second},
		{name: "over the maximum", block: "etcd {\n  election_timeout = \"50001ms\"\n}", want: []string{"4: error etcd election timeout too long"}},
		{name: "under 5 heartbeats", block: "etcd {\n  heartbeat_interval = \"100ms\"\n  election_timeout = \"499ms\"\n}",
			want: []string{"5: error etcd election timeout too short"}},
		{name: "heartbeat alone too long for the default election", block: "etcd {\n  heartbeat_interval = \"150ms\"\n}",
			want: []string{"4: error etcd election timeout too short"}},
		{name: "zero", block: "etcd {\n  heartbeat_interval = \"0s\"\n  election_timeout = \"0ms\"\n}",
			want: []string{"4: error Invalid duration", "5: error Invalid duration"}},
		{name: "negative", block: "etcd {\n  election_timeout = \"-500ms\"\n}", want: []string{"4: error Invalid duration"}},
		{name: "not whole milliseconds", block: "etcd {\n  heartbeat_interval = \"50500us\"\n}", want: []string{"4: error Invalid duration"}},
		{name: "no unit", block: "etcd {\n  election_timeout = \"500\"\n}", want: []string{"4: error Invalid duration"}},
		{name: "rounded down to heartbeats", block: "etcd {\n  heartbeat_interval = \"100ms\"\n  election_timeout = \"1050ms\"\n}",
			heartbeat: 100 * time.Millisecond, elected: 1050 * time.Millisecond,
			want: []string{"5: warning etcd election timeout not a multiple of the heartbeat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The block opens on line 3, so its attributes are on lines 4 and 5.
			src := strings.Replace(threeNodes, "cluster \"main\" {\n", "cluster \"main\" {\n"+tt.block+"\n", 1)
			c, diags := compile(t, src)
			var got []string
			for _, d := range diags {
				sev := "error"
				if d.Severity == hcl.DiagWarning {
					sev = "warning"
				}
				got = append(got, fmt.Sprintf("%d: %s %s", d.Subject.Start.Line, sev, d.Summary))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("diagnostics (-want +got):\n%s", diff)
			}
			if diags.HasErrors() {
				return
			}
			if c.Etcd.HeartbeatInterval != tt.heartbeat || c.Etcd.ElectionTimeout != tt.elected {
				t.Errorf("timings %s/%s, want %s/%s", c.Etcd.HeartbeatInterval, c.Etcd.ElectionTimeout, tt.heartbeat, tt.elected)
			}
		})
	}
}

// TestDefaultsDocumented keeps docs/cluster-hcl.md's default column in step with defaults.go.
func TestDefaultsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/cluster-hcl.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	section := ""
	heading := regexp.MustCompile("^## `([a-z_]+)")
	row := regexp.MustCompile("^\\| `([a-z_0-9]+)` \\| [^|]+ \\| `([^`]*)` \\|")
	for _, line := range strings.Split(string(doc), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			section = m[1]
		}
		if m := row.FindStringSubmatch(line); m != nil {
			documented[section+"."+m[1]] = m[2]
		}
	}
	q := func(s string) string { return `"` + s + `"` }
	want := map[string]string{
		"vm.platform": q(defaultPlatform), "vm.cores": itoa(defaultCores), "vm.core_fraction": itoa(defaultCoreFraction),
		"vm.memory_gb": "4", "vm.preemptible": "false", "vm.image_family": q(defaultImageFamily),
		"etcd.client_port": itoa(defaultEtcdClientPort), "etcd.peer_port": itoa(defaultEtcdPeerPort),
		"etcd.heartbeat_interval": q(defaultEtcdHeartbeat.String()), "etcd.election_timeout": q(defaultEtcdElection.String()),
		"patroni.ttl": itoa(defaultTTL), "patroni.loop_wait": itoa(defaultLoopWait), "patroni.retry_timeout": itoa(defaultRetryTimeout),
		"patroni.maximum_lag_on_failover": q(defaultMaximumLagOnFailover), "patroni.synchronous_mode": "true",
		"patroni.synchronous_mode_strict": "false", "patroni.use_pg_rewind": "true",
		"patroni.restapi_port": itoa(defaultRestAPIPort), "patroni.watchdog": q(defaultWatchdog),
		"postgres.port":  itoa(defaultPostgresPort),
		"pgbouncer.port": itoa(defaultPgBouncerPort), "pgbouncer.pool_mode": q(defaultPoolMode),
		"pgbouncer.default_pool_size": itoa(defaultSessionPoolSize), "pgbouncer.max_client_conn": itoa(defaultMaxClientConn),
		"pgbouncer.server_login_retry": q("1s"), "pgbouncer.query_wait_timeout": q("30s"),
		"haproxy.primary_port": itoa(defaultPrimaryPort), "haproxy.replica_port": itoa(defaultReplicaPort),
		"haproxy.stats_port": itoa(defaultStatsPort), "haproxy.maxconn": itoa(defaultHAProxyMaxCon),
		"haproxy.replica_max_lag": q(defaultReplicaMaxLag),
		"backend.port":            itoa(defaultBackendPort), "backend.database": q(defaultBackendDatabase), "backend.user": q(defaultBackendUser),
		"cluster.dev_single_node": "false",
		"vm.public_ip":            "true", "load_balancer.type": q(defaultLoadBalancerType), "load_balancer.port": itoa(defaultLoadBalancerPort),
		"backend.public":      "false",
		"sandbox.cidr":        q(defaultSandboxCIDR),
		"load_test.instances": itoa(defaultLoadInstances), "load_test.timeout": q("5s"),
		"role.connection_limit": "-1", "database.connection_limit": "-1",
	}
	if defaultLoadTimeout != 5*time.Second || loadLimitSlack != time.Minute {
		t.Fatal("a load_test default changed: update this test's table and docs/cluster-hcl.md")
	}
	if defaultServerLoginRetry != time.Second || defaultQueryWaitTimeout != 30*time.Second || defaultMemoryGB != 4 || defaultPreemptible {
		t.Fatal("a default changed: update this test's table and docs/cluster-hcl.md")
	}
	for k, v := range want {
		if documented[k] != v {
			t.Errorf("docs/cluster-hcl.md: default of %s is %q, defaults.go says %q", k, documented[k], v)
		}
	}
}
