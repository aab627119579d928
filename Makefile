# pghac's developer entry points. `make test` is what CI runs (.ci/run).

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# A fresh machine has Go at /usr/local/go without it being on PATH.
GO          ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

# The version `pghac version` prints: the nearest tag, else the commit, else "dev".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# The Debian 12 packages the tests run for real: the validators (patroni --validate-config,
# haproxy -c, cloud-init schema), the components the sandbox starts, and the clients the tests
# connect with as applications do (psql's libpq, asyncpg). openssh-server gives internal/remote's
# tests the real sshd, which they start on loopback with their own config.
DEBS := patroni haproxy cloud-init python3-jsonschema etcd-server etcd-client pgbouncer tcpdump \
        postgresql-15 python3-etcd python3-psycopg2 python3-asyncpg \
        debootstrap systemd-container apt-cacher-ng nftables iproute2 util-linux curl \
        openssh-server pgbackrest
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

FUZZTIME ?= 10m

.PHONY: build test golden bench fuzz deps demo drill drill-compare bench-pooling bench-tls bench-backup clean

## build: compile bin/pghac and bin/pghac-backend (which pghac up serves to the sandbox)
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/pghac ./cmd/pghac-backend

## test: formatting, vet, every test, a short fuzz run, and deploy/ up to date with cluster.hcl
# CI has two cores. The packages that boot real clusters (Patroni labs of etcd, Patroni and
# PostgreSQL; sandbox machines) run their HA timings (etcd heartbeats, Patroni's ttl, HAProxy
# checks) against the clock: next to another such package on two cores they miss them, and
# the test fails for no fault of the code. So the tests run in two steps: first every other
# package, two at a time (-p 2, whatever GOMAXPROCS the machine has); then the cluster packages
# one at a time, with the machine to themselves (about 15 minutes, one after the other; the
# first step about 2). -timeout ends a hung package well before CI's hour.
# The fuzz run is budgeted in executions, not seconds: with a duration, Go's coordinator can
# fail the run with "context deadline exceeded" when its deadline meets a worker still
# minimizing an input (no crasher, nothing wrong with the code; CI failed so once).
CLUSTER_PKGS := ./internal/patroni ./emit/patroni ./cmd/pghac ./internal/sandbox ./internal/sandbox/sandboxtest
MODULE       := github.com/pghac/pghac
test: build
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l: not formatted (run gofmt -w):"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -p 2 -timeout 10m $(filter-out $(patsubst ./%,$(MODULE)/%,$(CLUSTER_PKGS)),$(shell $(GO) list ./...))
	@if [ -z "$${CI:-}" ] && ip link show pghac0 >/dev/null 2>&1; then \
		echo "make test: a sandbox runs on this host (make demo's?): the sandbox end-to-end tests are skipped; run 'bin/pghac down' first to include them"; fi
	$(GO) test -p 1 -timeout 40m $(CLUSTER_PKGS)
	$(GO) test ./golden -run '^$$' -fuzz FuzzCompile -fuzztime 50000x -fuzzminimizetime 2000x
	bin/pghac build --check

## golden: rewrite golden/testdata/*/want/ and deploy/<target>/ from the current output
golden:
	$(GO) test ./golden -run TestGolden -update

## bench: the in-memory benchmarks, then the whole `pghac build` process timed
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./golden/...
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	if command -v hyperfine >/dev/null; then \
		hyperfine --warmup 3 "bin/pghac build -o $$tmp"; \
	elif [ -x /usr/bin/time ]; then \
		for i in 1 2 3 4 5; do /usr/bin/time -f 'pghac build: %e s, %M KiB max RSS' bin/pghac build -o "$$tmp" >/dev/null; done; \
	else \
		TIMEFORMAT='pghac build: %R s'; for i in 1 2 3 4 5; do time bin/pghac build -o "$$tmp" >/dev/null; done; \
	fi

## drill: every failover scenario on the sandbox (brought up first), REPEAT times each (default 1;
## the steady scenario runs STEADY, default 10m); reports in .pghac/sandbox/drill/<time>/
REPEAT ?= 1
STEADY ?= 10m
drill: build
	bin/pghac up
	bin/pghac drill --repeat $(REPEAT) --steady $(STEADY)

## drill-compare: the timed scenarios COMPARE_REPEAT times (default 3) with pghac's defaults, then with
## Patroni's and HAProxy's stock timings (internal/drill/scenario/testdata/stock-timings.hcl),
## one sandbox after the other; reports in .pghac/drill-compare/{pghac,stock}/ (BENCHMARKS.md)
COMPARE   := leader-crash leader-freeze leader-partition leader-stop switchover
STOCK     := internal/drill/scenario/testdata/stock-timings.hcl
STOCK_DIR := .pghac/drill-compare
COMPARE_REPEAT ?= 3
drill-compare: build
	bin/pghac down --destroy-data
	bin/pghac up
	-bin/pghac drill --repeat $(COMPARE_REPEAT) --report $(STOCK_DIR)/pghac $(COMPARE)
	bin/pghac down --destroy-data
	bin/pghac up -f $(STOCK) -o $(STOCK_DIR)/deploy --state-dir $(STOCK_DIR)
	-bin/pghac drill -f $(STOCK) --state-dir $(STOCK_DIR) --repeat $(COMPARE_REPEAT) --report $(STOCK_DIR)/stock $(COMPARE)
	bin/pghac down --destroy-data -f $(STOCK) --state-dir $(STOCK_DIR)

## bench-pooling: session pooling (pghac's default) against transaction pooling on the sandbox, one
## cluster after the other: pgbench (TPC-B through :5000; select-only through :5001 with the simple
## protocol, with a new connection per transaction, and with prepared statements) and the mixed load
## test of the backend; output in .pghac/bench-pooling/{session,transaction}/ (BENCHMARKS.md)
POOL_TX  := internal/sandbox/sandboxtest/testdata/transaction-pooling.hcl
POOL_DIR := .pghac/bench-pooling
# $(call pool-bench,ENV FLAGS,LOADTEST FLAGS,OUT): the measurements, against the sandbox that is up.
define pool-bench
	mkdir -p $(3)
	eval "$$(bin/pghac env $(1))"; export PGTARGETSESSIONATTRS=read-write; 	psql -q -c 'DROP DATABASE IF EXISTS pgbench' -c 'CREATE DATABASE pgbench'; 	pgbench -i -q -s 10 pgbench > $(3)/pgbench-init.txt 2>&1; 	for run in "5000 -M simple" "5001 -M simple -S" "5001 -M simple -S -C" "5001 -M prepared -S"; do 		set -- $$run; port=$$1; shift; 		echo "== pgbench -c 20 -j 2 -T 30 $$* through :$$port"; 		PGPORT=$$port,$$port,$$port PGTARGETSESSIONATTRS=any pgbench -n -c 20 -j 2 -T 30 "$$@" pgbench 2>&1 | grep -v '^pgbench: error: client' || true; 	done | tee $(3)/pgbench.txt
	bin/pghac loadtest $(2) --scenario mixed --report $(3)/loadtest --progress never | tee $(3)/loadtest.txt || true
endef
bench-pooling: build
	bin/pghac down --destroy-data
	bin/pghac up
	$(call pool-bench,,,$(POOL_DIR)/session)
	bin/pghac down --destroy-data
	bin/pghac up -f $(POOL_TX) -o $(POOL_DIR)/deploy --state-dir $(POOL_DIR)
	$(call pool-bench,-f $(POOL_TX) --state-dir $(POOL_DIR),--dir $(POOL_DIR)/deploy,$(POOL_DIR)/transaction)
	bin/pghac down --destroy-data -f $(POOL_TX) --state-dir $(POOL_DIR)

## bench-tls: what TLS costs, on the sandbox (brought up first, kept up): pgbench select-only through
## :5001, in the first role block's database, with sslmode=disable and with pghac env's
## sslmode=verify-full, alternating, twice: on open
## sessions, and with a new connection per transaction (-C: the handshake's cost); output in
## .pghac/bench-tls/ (BENCHMARKS.md). PgBouncer requires TLS: for the bench only, each node's
## PgBouncer is told at run time (its admin console's SET) to let plain sessions in, and RELOAD
## at the end gives it its file's client_tls_sslmode = require back.
TLS_DIR := .pghac/bench-tls
BOUNCER_ADMIN = for addr in $$(bin/pghac status --json | sed -n 's/.*"address": "\([0-9.]*\)".*/\1/p'); do \
	ssh -i .pghac/sandbox/operator_ed25519 -o UserKnownHostsFile=.pghac/sandbox/known_hosts -o BatchMode=yes debian@$$addr \
		"sudo -u postgres env PGPASSFILE=/etc/patroni/pgbouncer-admin.pgpass psql -X -q -h /var/run/postgresql -p 6432 -U pgbouncer_admin -d pgbouncer -c \"$(1)\"" || exit 1; \
	done
bench-tls: build
	bin/pghac up
	mkdir -p $(TLS_DIR)
	$(call BOUNCER_ADMIN,SET client_tls_sslmode = 'prefer')
	eval "$$(bin/pghac env)"; export PGTARGETSESSIONATTRS=read-write; \
	pgbench -i -q -s 10 > $(TLS_DIR)/pgbench-init.txt 2>&1; sleep 2; \
	for round in 1 2; do for conn in "" -C; do for mode in disable verify-full; do \
		echo "== round $$round: sslmode=$$mode pgbench -n -c 20 -j 2 -T 30 -M simple -S $$conn through :5001"; \
		PGSSLMODE=$$mode PGPORT=5001,5001,5001 PGTARGETSESSIONATTRS=any pgbench -n -c 20 -j 2 -T 30 -M simple -S $$conn 2>&1 | \
			grep -E '^(tps|latency average|average connection time|number of failed)' || true; \
	done; done; done | tee $(TLS_DIR)/pgbench.txt; \
	status=$$?; $(call BOUNCER_ADMIN,RELOAD); exit $$status

## bench-backup: backups of a database of about 1 GB (pgbench scale 70) on the sandbox: full backup
## and restore throughput, a restore to a point in time end to end, and the recovery point of an idle
## cluster (how long a commit waits for its WAL to reach the bucket, bounded by archive_timeout);
## output in .pghac/bench-backup/ (BENCHMARKS.md)
BACKUP_DIR := .pghac/bench-backup
bench-backup: build
	bin/pghac down --destroy-data
	bin/pghac up
	mkdir -p $(BACKUP_DIR)
	eval "$$(bin/pghac env)"; export PGTARGETSESSIONATTRS=read-write; \
	psql -q -c 'DROP DATABASE IF EXISTS pgbench' -c 'CREATE DATABASE pgbench'; \
	pgbench -i -q -s 70 pgbench > $(BACKUP_DIR)/pgbench-init.txt 2>&1; \
	psql -Atc "SELECT 'database size: ' || pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database" | tee $(BACKUP_DIR)/summary.txt; \
	start=$$(date +%s.%N); bin/pghac backup now > $(BACKUP_DIR)/backup-now.txt 2>&1; end=$$(date +%s.%N); \
	echo "pghac backup now: $$(awk "BEGIN{print $$end - $$start}") s" | tee -a $(BACKUP_DIR)/summary.txt; \
	grep -E 'F  full' $(BACKUP_DIR)/backup-now.txt | tee -a $(BACKUP_DIR)/summary.txt; \
	psql -q -c 'CREATE TABLE IF NOT EXISTS bench_marker (at timestamptz)' -c 'INSERT INTO bench_marker VALUES (now())'; \
	sleep 2; target=$$(date -u '+%Y-%m-%d %H:%M:%S'); sleep 2; psql -q -c 'INSERT INTO bench_marker VALUES (now())'; \
	start=$$(date +%s.%N); bin/pghac restore --time "$$target" --discard-newer > $(BACKUP_DIR)/restore.txt 2>&1; end=$$(date +%s.%N); \
	echo "pghac restore --time: $$(awk "BEGIN{print $$end - $$start}") s" | tee -a $(BACKUP_DIR)/summary.txt; \
	grep -E 'restore command end|backup command end|replaying|starting Patroni|emptying|waiting for every' $(BACKUP_DIR)/restore.txt | tee -a $(BACKUP_DIR)/summary.txt; \
	echo "marker rows after the restore (want 1): $$(psql -Atc 'SELECT count(*) FROM bench_marker')" | tee -a $(BACKUP_DIR)/summary.txt; \
	for addr in $$(bin/pghac status --json | sed -n 's/.*"address": "\([0-9.]*\)".*/\1/p'); do \
		ssh -i .pghac/sandbox/operator_ed25519 -o UserKnownHostsFile=.pghac/sandbox/known_hosts -o BatchMode=yes debian@$$addr \
			"sudo sh -c 'grep -h \"restore size\|restore command end\" /var/log/pgbackrest/*-restore.log | sed \"s/^/$$addr: /\"'" || true; \
	done | tee -a $(BACKUP_DIR)/summary.txt; \
	for i in 1 2 3; do \
		sleep 20; psql -q -c 'INSERT INTO bench_marker VALUES (now())'; t0=$$(date +%s.%N); \
		until [ "$$(psql -Atc "SELECT coalesce(last_archived_time > (SELECT max(at) FROM bench_marker), false) FROM pg_stat_archiver")" = t ]; do sleep 0.2; done; \
		echo "recovery point, idle: commit archived after $$(awk "BEGIN{print $$(date +%s.%N) - $$t0}") s" | tee -a $(BACKUP_DIR)/summary.txt; \
	done
	bin/pghac down --destroy-data

## fuzz: a longer fuzz run (FUZZTIME=10m); failing inputs land in golden/testdata/fuzz/
fuzz:
	$(GO) test ./golden -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME)

## deps: apt-get install the Debian packages the tests need (skipped when installed)
deps:
	@missing=""; \
	for p in $(DEBS); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null)" = installed ] || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all installed"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	$(SUDO) apt-get update; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

## demo: install, build pghac, bring the cluster up in the local sandbox, run the seed's checks
demo: deps build
	bin/pghac validate
	bin/pghac build
	bin/pghac up
	@eval "$$(bin/pghac env)"; set -x; \
	psql "$$PGHAC_PRIMARY_URL" -c 'CREATE TABLE IF NOT EXISTS demo (id serial PRIMARY KEY, note text)'; \
	out=$$(psql "$$PGHAC_REPLICAS_URL" -c 'CREATE TABLE demo_ro (id int)' 2>&1 || true); echo "$$out"; \
	case "$$out" in *'read-only transaction'*) ;; *) echo 'the replicas accepted a write' >&2; exit 1;; esac; \
	psql "$$PGHAC_PRIMARY_URL" -c "INSERT INTO demo (note) VALUES ('written through the primary')"; \
	sleep 1; psql "$$PGHAC_REPLICAS_URL" -c 'SELECT * FROM demo'
	bin/pghac status
	@echo
	bin/pghac env
	@echo
	@echo "The cluster runs on three local machines. eval \"\$$(bin/pghac env)\" sets psql up;"
	@echo "bin/pghac status shows it; bin/pghac down stops it (keeping the data), --destroy-data removes it."

## clean: remove build and test leftovers
clean:
	rm -rf bin/ coverage.out coverage.html
