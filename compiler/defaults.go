package compiler

import "time"

// Defaults: docs/cluster-hcl.md states each of them, and TestDefaultsDocumented keeps the two
// in step.
const (
	defaultPlatform     = "standard-v3"
	defaultCores        = 2
	defaultCoreFraction = 100
	defaultMemoryGB     = 4.0
	defaultDiskSizeGB   = 20
	defaultDiskType     = "network-ssd"
	defaultPreemptible  = false
	defaultImageFamily  = "debian-12"
	// A VM without a public address reaches the package archives through the NAT gateway
	// pghac adds then. Database VMs have none when the cluster has a bastion to reach them
	// through; without one, pghac (and the administrators) reach them at public addresses.
	defaultPublicIP = true

	// The bastion only forwards SSH connections: the smallest shape of the platform, on a
	// disk that holds nothing of the cluster's.
	defaultBastionCores        = 2
	defaultBastionCoreFraction = 20
	defaultBastionMemoryGB     = 1.0
	defaultBastionDiskSizeGB   = 10
	defaultBastionDiskType     = "network-hdd"

	// A year, as public certificate authorities allowed until recently, renewed a month before
	// its end: a cluster planned or brought up monthly never meets an expired certificate.
	defaultCertLifetimeDays = 365
	defaultRenewBeforeDays  = 30

	defaultEtcdClientPort = 2379
	defaultEtcdPeerPort   = 2380
	// Half of etcd's 100ms/1000ms. A new etcd leader extends every lease by the election
	// timeout, delaying the expiry of Patroni's leader key when the lost node also led etcd:
	// failover drills here measured a median write outage of 25.3 s with etcd's timings and
	// 22.9 s with these.
	defaultEtcdHeartbeat = 50 * time.Millisecond
	defaultEtcdElection  = 500 * time.Millisecond

	// Fast failover within Patroni's rule loop_wait + 2*retry_timeout <= ttl. Patroni's own
	// 30/10/10 gave 26-32 s of write outage on a leader crash here.
	defaultTTL                  = 20
	defaultLoopWait             = 2
	defaultRetryTimeout         = 4
	defaultMaximumLagOnFailover = "1MB"
	defaultSynchronousMode      = true
	defaultSynchronousStrict    = false
	defaultUsePgRewind          = true
	defaultRestAPIPort          = 8008
	defaultWatchdog             = "off"

	defaultPostgresPort = 5432

	defaultPgBouncerPort = 6432
	// Session pooling serves every client correctly; transaction pooling breaks protocol-level
	// prepared statements on PgBouncer 1.18 (asyncpg, JDBC, pgx's default mode).
	defaultPoolMode = "session"
	// A session pool holds one server connection per client session: room for the backend
	// (10 per node, so 30 on the primary) and a few applications' pools of each pair.
	defaultSessionPoolSize     = 100
	defaultTransactionPoolSize = 20
	defaultMaxClientConn       = 1000
	defaultServerLoginRetry    = time.Second // PgBouncer's 15 s refuses logins long after a failover
	defaultQueryWaitTimeout    = 30 * time.Second

	defaultPrimaryPort   = 5000
	defaultReplicaPort   = 5001
	defaultStatsPort     = 7000
	defaultHAProxyMaxCon = 1000
	defaultCheckInter    = time.Second // inter 1s fall 2 rise 1 cut graceful failover from ~6 s to ~2 s here
	defaultCheckFall     = 2
	defaultCheckRise     = 1
	defaultReplicaMaxLag = "1MB"

	defaultBackendPort     = 8080
	defaultBackendDatabase = "notes"
	defaultBackendUser     = "notes"

	// Tank's default instances (1000) and timeout (11 s) outlast a 2-core node: 100 requests in
	// flight already queue, and a request slower than 5 s is an error a user would see.
	defaultLoadInstances = 100
	defaultLoadTimeout   = 5 * time.Second
	// The default autostop's limit() ends the test this long after its schedule should have.
	loadLimitSlack = time.Minute

	loadGeneratorName       = "loadgen"
	bastionName             = "bastion"
	defaultLoadBalancerType = "internal"
	defaultLoadBalancerPort = 5432

	sshPort = 22

	// Backups: a full backup a week, a differential one the other days, at 03:00 UTC; two
	// weeks of point-in-time recovery; a segment archived at least every minute.
	defaultFullBackup          = "Sun 03:00"
	defaultPartialBackup       = "Mon..Sat 03:00"
	defaultBackupRetentionDays = 14
	defaultArchiveTimeout      = time.Minute
	defaultCompression         = "zst"

	// etcd refuses to start with an election timeout under 5 heartbeats or over 50 s.
	minEtcdElectionHeartbeats = 5
	maxEtcdElection           = 50 * time.Second

	// Patroni's minimums.
	minTTL          = 20
	minLoopWait     = 1
	minRetryTimeout = 3
)

// failsafe_mode defaults to true wherever the image's Patroni has it.
