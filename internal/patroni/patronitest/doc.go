// Package patronitest starts a real Patroni cluster for tests: one etcd member and N Patroni
// members (node0, node1, ...), each with its own PostgreSQL 15, all on 127.0.0.1 with free
// ports, in a temporary directory that the test's cleanup removes.
//
// The cluster is configured for quick tests, not for safety: ttl 20, loop_wait 1,
// retry_timeout 3, asynchronous replication unless asked otherwise, fsync off, small shared
// buffers. The REST API, etcd and PostgreSQL listen on loopback only; the REST API's POST
// endpoints need a random password (Cluster.Password), PostgreSQL's TCP logins a random
// SCRAM-SHA-256 password.
//
// PostgreSQL refuses to run as root, so when the test runs as root every process runs as the
// postgres user. Each Patroni and the etcd run in a process group of their own, which the
// cleanup signals by PID; a PostgreSQL left behind by a killed Patroni is found by its working
// directory (its data directory, under the cluster's temporary directory). Nothing else on the
// machine is touched.
//
// Fault tests reach below the REST API: Cluster.EtcdURL is etcd's client URL (its v3 JSON
// gateway), LeaderKey the leader lock's key, and SignalPatroni stops (SIGSTOP) and continues
// (SIGCONT) a member's Patroni while its PostgreSQL runs on. Options.PythonPath runs Patroni
// with a patched copy of its package (PYTHONPATH) instead of Debian's.
//
// The binaries come from Debian 12's packages: etcd-server (/usr/bin/etcd), patroni
// (/usr/bin/patroni) and postgresql-15 (/usr/lib/postgresql/15/bin).
package patronitest
