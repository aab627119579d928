package pgtest

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { os.Exit(RunMain(m)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	// Generous: the machine may be busy with other packages' servers.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// PgBouncer in transaction mode cannot keep named prepared statements.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func backendPID(t *testing.T, c *pgx.Conn) int {
	t.Helper()
	var pid int
	if err := c.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatalf("SELECT pg_backend_pid(): %v", err)
	}
	return pid
}

func TestPostgres(t *testing.T) {
	pg := StartPostgres(t)
	pg.CreateRole(t, "app", "s3cret'\"")
	pg.CreateDatabase(t, "appdb", "app")

	c := connect(t, pg.DSN("app", "s3cret'\"", "appdb"))
	var db, user string
	if err := c.QueryRow(context.Background(), "SELECT current_database(), current_user").Scan(&db, &user); err != nil {
		t.Fatal(err)
	}
	if db != "appdb" || user != "app" {
		t.Errorf("connected to database %q as %q, want appdb as app", db, user)
	}

	// SCRAM is enforced: a wrong password is refused (initdb's default would be trust).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if bad, err := pgx.Connect(ctx, pg.DSN("app", "wrong", "appdb")); err == nil {
		bad.Close(ctx)
		t.Error("a login with a wrong password succeeded")
	}

	// Stop: the session ends with admin_shutdown (57P01) or a closed connection.
	pg.Stop(t)
	if pg.Running() {
		t.Error("Running() is true after Stop")
	}
	_, err := c.Exec(context.Background(), "SELECT 1")
	var pgErr *pgconn.PgError
	if err == nil {
		t.Error("a query on a stopped server succeeded")
	} else if errors.As(err, &pgErr) && pgErr.Code != "57P01" {
		t.Errorf("a query on a stopped server: %v, want 57P01 or a connection error", err)
	}

	pg.Start(t)
	pg.Kill(t)
	pg.Start(t) // crash recovery
	c2 := connect(t, pg.DSN("app", "s3cret'\"", "appdb"))
	if _, err := c2.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Errorf("after Kill and Start: %v", err)
	}
}

func TestPgBouncerTransactionMode(t *testing.T) {
	pg := StartPostgres(t)
	pg.CreateRole(t, "app", "pw")
	pg.CreateDatabase(t, "appdb", "app")
	pb := StartPgBouncer(t, pg, map[string]string{"app": "pw"}, DefaultPoolSize(1))

	// One server connection shared by two clients between transactions: transaction pooling.
	// In session mode the second client would wait for the first to disconnect.
	a := connect(t, pb.DSN("app", "pw", "appdb"))
	b := connect(t, pb.DSN("app", "pw", "appdb"))
	if pa, pb := backendPID(t, a), backendPID(t, b); pa != pb {
		t.Errorf("two clients of a pool of one server ran on backends %d and %d, want the same", pa, pb)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if bad, err := pgx.Connect(ctx, pb.DSN("app", "wrong", "appdb")); err == nil {
		bad.Close(ctx)
		t.Error("PgBouncer accepted a wrong password")
	}

	pb.Stop(t)
	if _, err := pgx.Connect(ctx, pb.DSN("app", "pw", "appdb")); err == nil {
		t.Error("a connection to a stopped PgBouncer succeeded")
	}
	pb.Start(t)
	c := connect(t, pb.DSN("app", "pw", "appdb"))

	// PostgreSQL goes away and comes back behind PgBouncer, which logs in again by itself.
	// PgBouncer 1.18 keeps the query waiting for a server until query_wait_timeout: bound it.
	pg.Stop(t)
	qctx, qcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer qcancel()
	if _, err := c.Exec(qctx, "SELECT 1"); err == nil {
		t.Error("a query through PgBouncer to a stopped PostgreSQL succeeded")
	}
	pg.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := connect(t, pb.DSN("app", "pw", "appdb"))
		_, err := c.Exec(context.Background(), "SELECT 1")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PgBouncer still fails 30 s after PostgreSQL came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPgBouncerPortTaken: when another process listens on the port before PgBouncer binds it,
// PgBouncer 1.18 keeps running on its Unix socket alone and the port answers all the same.
// The start must see that it is not PgBouncer listening and say the port is in use (which
// StartPgBouncer answers with another port), not hand the test someone else's server.
func TestPgBouncerPortTaken(t *testing.T) {
	pg := StartPostgres(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	o, err := runAs()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	b := &PgBouncer{Dir: dir, owner: o, Port: taken.Addr().(*net.TCPAddr).Port}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.proc != nil {
			b.proc.stop(syscall.SIGTERM, 10*time.Second)
		}
		os.RemoveAll(dir)
	})
	if err := o.chown(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.writeUserlist(map[string]string{"app": "pw"}); err != nil {
		t.Fatal(err)
	}
	if err := b.writeConfig(pg.Port, bouncerConfig{poolMode: "transaction", serverLoginRetry: 1, defaultPoolSize: 1, queryWaitTimeout: 30}); err != nil {
		t.Fatal(err)
	}
	if err := b.start(); !errors.Is(err, errPortInUse) {
		t.Fatalf("PgBouncer on a port another process listens on: %v, want the port in use", err)
	}
	if b.Running() {
		t.Error("the PgBouncer that could not bind its port is left running")
	}
}
