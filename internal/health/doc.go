// Package health is pghac's one definition of a healthy cluster, and how it is observed from
// outside: Patroni's view through internal/patroni (the only place that decodes Patroni's
// JSON), etcd's /health, each node's HAProxy statistics and the backend's /readyz. `pghac
// status`, `pghac up`'s wait and the drills judge with Judge; a switchover and a rebuild wait
// for Follows, Judge's rule for one replica; Prober.Observe gathers what it judges on a running cluster, and WaitUp waits for it
// while machines boot.
package health
