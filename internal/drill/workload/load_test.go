package workload

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pghac/pghac/internal/backend/pgtest"
	"github.com/pghac/pghac/internal/drill"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// loopbackConfig loads one real PostgreSQL through both ports, as "n1".
func loopbackConfig(pg *pgtest.Postgres) Config {
	return Config{
		Nodes:       []Node{{Name: "n1", Addr: netip.MustParseAddr("127.0.0.1")}},
		PrimaryPort: pg.Port,
		ReplicaPort: pg.Port,
		User:        pgtest.Superuser,
		Password:    pg.SuperuserPassword(),
		Database:    "postgres",
		// A connection or statement takes milliseconds, but may take seconds on a machine busy
		// with other packages' tests: a timeout would make a healthy server's write Unknown.
		Timeout:    10 * time.Second,
		RetryDelay: 20 * time.Millisecond,
	}
}

// waitLoad polls until cond holds while l runs, for up to 30 s (the load's first writes take
// milliseconds on an idle machine); it stops l and fails the test when cond never holds.
func waitLoad(t *testing.T, l *Load, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 30*time.Second {
			writes, reads := l.Stop()
			t.Fatalf("no %s within 30 s (%d writes, %d reads, %+v)", what, len(writes), len(reads), l.Counts())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond))
}

// recorded returns how many writes and reads l has recorded so far.
func recorded(l *Load) (writes, reads int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.writes), len(l.reads)
}

// ackedSince reports whether a write that started after t has been acknowledged.
func ackedSince(l *Load, t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.writes {
		if w.Outcome == drill.Acked && w.Start.After(t) {
			return true
		}
	}
	return false
}

func prepare(t *testing.T, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Prepare(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

func finalIDSet(t *testing.T, cfg Config) map[int64]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids, server, err := FinalIDs(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if server != "n1" {
		t.Errorf("final read named server %q, want n1 (from listen_addresses)", server)
	}
	set := map[int64]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return set
}

func TestLoadRecordsAcknowledgedWrites(t *testing.T) {
	pg := pgtest.StartPostgres(t)
	cfg := loopbackConfig(pg)
	prepare(t, cfg)

	l := Start(context.Background(), cfg)
	waitLoad(t, l, "20 writes and 5 reads", func() bool {
		w, r := recorded(l)
		return w >= 20 && r >= 5
	})
	writes, reads := l.Stop()

	if len(writes) < 20 || len(reads) < 5 {
		t.Fatalf("%d writes and %d reads, want at least 20 and 5", len(writes), len(reads))
	}
	final := finalIDSet(t, cfg)
	seen := map[int64]bool{}
	for _, w := range writes {
		if w.Outcome != drill.Acked || w.Server != "n1" || w.Timeline != 1 || w.End.Before(w.Start) {
			t.Fatalf("write %+v: want acked by n1 on timeline 1", w)
		}
		if seen[w.ID] {
			t.Fatalf("id %d written twice", w.ID)
		}
		seen[w.ID] = true
		if !final[w.ID] {
			t.Errorf("acknowledged id %d is not in the table", w.ID)
		}
	}
	if len(final) != len(writes) {
		t.Errorf("the table holds %d ids, %d were written", len(final), len(writes))
	}
	for _, r := range reads {
		if !r.OK {
			t.Fatalf("read %+v failed", r)
		}
	}
	h := drill.History{Scenario: "steady", Writes: writes, Reads: reads, FinalIDs: slices.Sorted(func(yield func(int64) bool) {
		for id := range final {
			if !yield(id) {
				return
			}
		}
	})}
	if rep := drill.Check(h, drill.Limits{}); rep.Writes.Lost != 0 || rep.Writes.Acked != len(writes) {
		t.Errorf("checker: %d lost, %d acked of %d", rep.Writes.Lost, rep.Writes.Acked, len(writes))
	}
}

// A crash and restart of the server: writes fail or are unknown meanwhile, every
// acknowledged one survives, none that failed is in the table, and writing resumes.
func TestLoadThroughACrash(t *testing.T) {
	pg := pgtest.StartPostgres(t)
	cfg := loopbackConfig(pg)
	prepare(t, cfg)
	// pgtest runs with synchronous_commit off, which does lose acknowledged commits on
	// a crash (this test catches that). A killed server keeps the OS page cache, so
	// fsync off does not matter.
	pg.Exec(t, "postgres", "ALTER DATABASE postgres SET synchronous_commit = on")

	l := Start(context.Background(), cfg)
	waitLoad(t, l, "write acknowledged before the crash", func() bool { return l.Counts().Acked >= 5 })
	failedBefore := l.Counts().Failed
	pg.Kill(t)
	down := time.Now()
	waitLoad(t, l, "write failed while the server was down", func() bool { return l.Counts().Failed > failedBefore })
	pg.Start(t)
	up := time.Now()
	waitLoad(t, l, "write acknowledged after the restart", func() bool { return ackedSince(l, up) })
	writes, _ := l.Stop()

	final := finalIDSet(t, cfg)
	var failed, ackedAfter int
	for _, w := range writes {
		switch w.Outcome {
		case drill.Acked:
			if !final[w.ID] {
				t.Errorf("acknowledged id %d was lost in a crash of a single server", w.ID)
			}
			if w.Start.After(up) {
				ackedAfter++
			}
		case drill.Failed:
			failed++
			if final[w.ID] {
				t.Errorf("write %d was classified failed (%s) but is in the table", w.ID, w.Err)
			}
			if w.Err == "" {
				t.Errorf("failed write %d has no error text", w.ID)
			}
		}
	}
	if failed == 0 {
		t.Errorf("no write failed while the server was down from %s to %s", down.Format(time.StampMilli), up.Format(time.StampMilli))
	}
	if ackedAfter == 0 {
		t.Error("no write was acknowledged after the server came back")
	}
}

// Inserts refused by a read-only server (as a demoted primary refuses them) are Failed.
func TestLoadReadOnlyIsFailed(t *testing.T) {
	pg := pgtest.StartPostgres(t)
	cfg := loopbackConfig(pg)
	prepare(t, cfg)
	pg.Exec(t, "postgres", "ALTER DATABASE postgres SET default_transaction_read_only = on")

	l := Start(context.Background(), cfg)
	waitLoad(t, l, "3 writes", func() bool {
		w, _ := recorded(l)
		return w >= 3
	})
	writes, _ := l.Stop()
	if len(writes) == 0 {
		t.Fatal("no writes")
	}
	for _, w := range writes {
		if w.Outcome != drill.Failed || w.Err != "ERROR: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)" {
			t.Fatalf("write %+v: want failed with the read-only error", w)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		connecting bool
		want       drill.Outcome
	}{
		{"connect refused", errors.New("dial tcp: connection refused"), true, drill.Failed},
		{"statement error", &pgconn.PgError{Severity: "ERROR", Code: "25006"}, false, drill.Failed},
		{"shutdown during commit", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}, false, drill.Unknown},
		{"timeout", context.DeadlineExceeded, false, drill.Unknown},
		{"reset", errors.New("read: connection reset by peer"), false, drill.Unknown},
	} {
		if got := classify(tc.err, tc.connecting); got != tc.want {
			t.Errorf("%s: classify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestConnectVerifies: with the cluster's authority, the load's connections are TLS and
// verify the server for the address dialled; a server whose certificate another authority
// signed is refused, and so is a missing authority file.
func TestConnectVerifies(t *testing.T) {
	pg := pgtest.StartPostgres(t)
	cfg := loopbackConfig(pg)
	cfg.CACert = pg.CACert()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := netip.MustParseAddr("127.0.0.1")
	conn, err := cfg.connect(ctx, addr, pg.Port)
	if err != nil {
		t.Fatalf("verified connection: %v", err)
	}
	var ssl bool
	err = conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl)
	conn.Close(ctx)
	if err != nil || !ssl {
		t.Errorf("pg_stat_ssl: ssl = %v (%v), want a TLS session", ssl, err)
	}

	// Another server's authority: the certificate does not verify.
	other := pgtest.StartPostgres(t)
	cfg.CACert = other.CACert()
	if conn, err := cfg.connect(ctx, addr, pg.Port); err == nil {
		conn.Close(ctx)
		t.Error("connected to a server whose certificate another authority signed")
	} else if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("another authority: %v, want certificate signed by unknown authority", err)
	}
	cfg.CACert = filepath.Join(t.TempDir(), "none.crt")
	if _, err := cfg.connect(ctx, addr, pg.Port); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no authority file: %v, want it not found", err)
	}
}

// TestConnConfigIgnoresEnvironment: a drill run in a shell that `pghac env` set up
// (PGTARGETSESSIONATTRS=read-write, PGSSLMODE, PGHOST) still connects where and as it says:
// its sessions of the replica port are not refused as read-only.
func TestConnConfigIgnoresEnvironment(t *testing.T) {
	for k, v := range map[string]string{"PGTARGETSESSIONATTRS": "read-write", "PGSSLMODE": "disable", "PGHOST": "10.0.0.9", "PGPORT": "1"} {
		t.Setenv(k, v)
	}
	cfg := Config{User: "app", Database: "app"}.withDefaults()
	cc, err := cfg.connConfig(netip.MustParseAddr("127.0.0.1"), 5001)
	if err != nil {
		t.Fatal(err)
	}
	if cc.ValidateConnect != nil || cc.Host != "127.0.0.1" || cc.Port != 5001 || cc.TLSConfig == nil || len(cc.Fallbacks) != 0 {
		t.Errorf("with pghac env's variables set: validate %v, host %s:%d, TLS %v, %d fallbacks; want none, 127.0.0.1:5001, TLS, none",
			cc.ValidateConnect != nil, cc.Host, cc.Port, cc.TLSConfig != nil, len(cc.Fallbacks))
	}
}
