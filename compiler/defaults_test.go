package compiler

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

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
		"tls.lifetime": q(itoa(defaultCertLifetimeDays) + "d"), "tls.renew_before": q(itoa(defaultRenewBeforeDays) + "d"),
		"postgres.port":  itoa(defaultPostgresPort),
		"pgbouncer.port": itoa(defaultPgBouncerPort), "pgbouncer.pool_mode": q(defaultPoolMode),
		"pgbouncer.default_pool_size": itoa(defaultSessionPoolSize), "pgbouncer.max_client_conn": itoa(defaultMaxClientConn),
		"pgbouncer.server_login_retry": q("1s"), "pgbouncer.query_wait_timeout": q("30s"),
		"haproxy.primary_port": itoa(defaultPrimaryPort), "haproxy.replica_port": itoa(defaultReplicaPort),
		"haproxy.stats_port": itoa(defaultStatsPort), "haproxy.maxconn": itoa(defaultHAProxyMaxCon),
		"haproxy.replica_max_lag": q(defaultReplicaMaxLag),
		"backend.port":            itoa(defaultBackendPort), "backend.database": q(defaultBackendDatabase), "backend.user": q(defaultBackendUser),
		"cluster.dev_single_node": "false", "cluster.deletion_protection": "true",
		"vm.public_ip": "true", "load_balancer.type": q(defaultLoadBalancerType), "load_balancer.port": itoa(defaultLoadBalancerPort),
		"backend.public":      "false",
		"sandbox.cidr":        q(defaultSandboxCIDR),
		"load_test.instances": itoa(defaultLoadInstances), "load_test.timeout": q("5s"),
		"role.connection_limit": "-1", "database.connection_limit": "-1",
		"backup.enabled": "true", "backup.full": q(defaultFullBackup), "backup.differential": q(defaultPartialBackup),
		"backup.retention": q(itoa(defaultBackupRetentionDays) + "d"), "backup.archive_timeout": q("60s"),
		"backup.compression": q(defaultCompression), "backup.deletion_protection": "true",
	}
	if defaultLoadTimeout != 5*time.Second || loadLimitSlack != time.Minute {
		t.Fatal("a load_test default changed: update this test's table and docs/cluster-hcl.md")
	}
	if defaultArchiveTimeout != time.Minute {
		t.Fatal("backup.archive_timeout's default changed: update this test's table and docs/cluster-hcl.md")
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
