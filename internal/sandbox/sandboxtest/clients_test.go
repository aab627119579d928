package sandboxtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
)

// appRole is the role block of the repository's cluster.hcl, owner of the database of the
// same name.
const appRole = "app"

// secret returns a value of the cluster's secrets file.
func (c *Cluster) secret(t *testing.T, s model.Secret) string {
	t.Helper()
	vars, err := infra.StringVars(filepath.Join(c.Config.StateDir, "secrets.tfvars"))
	if err != nil {
		t.Fatal(err)
	}
	v := vars[string(s)]
	if v == "" {
		t.Fatalf("the secrets file has no %s", s)
	}
	return v
}

// dsn is a libpq keyword/value connection string; password goes in PGPASSWORD, never here.
func dsn(addr netip.Addr, port int, user, db string, extra ...string) string {
	return strings.Join(append([]string{fmt.Sprintf("host=%s port=%d user=%s dbname=%s connect_timeout=5", addr, port, user, db)}, extra...), " ")
}

// psqlAs runs sql with psql (libpq) as user with password; conn is a connection string.
func psqlAs(ctx context.Context, conn, password, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, "psql", "-X", "-w", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql, conn)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGPASSFILE=/dev/null", "PGHOST=", "PGPORT=", "PGTARGETSESSIONATTRS=any")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// waitRow polls conn through a replica port until sql returns want (replication is
// asynchronous to the third node).
func waitRow(ctx context.Context, t *testing.T, conn, password, sql, want string) {
	t.Helper()
	var got string
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if got, err = psqlAs(ctx, conn, password, sql); err == nil && got == want {
			return
		}
	}
	t.Errorf("%s: %s = %q (%v), want %q", conn, sql, got, err, want)
}

// checkRoles: the role and database of cluster.hcl, and a role made by hand with CREATE ROLE,
// both log in through PgBouncer (auth_query), write through :5000 and read through :5001 of
// every node.
func checkRoles(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	cl := c.Model
	addrs := c.Addresses()
	primary, replica := cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort
	superuser := c.secret(t, model.SecretSuperuserPassword)

	// By hand, as an administrator would: the superuser, from the admin path (this host),
	// straight to PostgreSQL on whichever node is the primary; a role with a password, its
	// database.
	byHand, byHandPassword := "made_by_hand", "HandMadePassword0123456789"
	for _, sql := range []string{
		"CREATE ROLE " + byHand + " LOGIN PASSWORD '" + byHandPassword + "'",
		"CREATE DATABASE " + byHand + " OWNER " + byHand,
	} {
		if out, err := psqlAs(ctx, c.adminDSN(model.SuperuserName), superuser, sql); err != nil {
			t.Fatalf("%s: %v\n%s", sql, err, out)
		}
	}

	for _, who := range []struct{ user, db, password string }{
		{appRole, appRole, c.secret(t, model.RolePassword(appRole))},
		{byHand, byHand, byHandPassword},
	} {
		table := who.user + "_notes"
		ddl := "CREATE TABLE " + table + " (id int PRIMARY KEY, note text); INSERT INTO " + table + " VALUES (1, 'written by " + who.user + "')"
		if out, err := psqlAs(ctx, dsn(addrs[1], primary, who.user, who.db), who.password, ddl); err != nil {
			t.Errorf("%s through :%d: %v\n%s", who.user, primary, err, out)
			continue
		}
		for _, a := range addrs {
			waitRow(ctx, t, dsn(a, replica, who.user, who.db), who.password,
				"SELECT current_user || ' ' || pg_is_in_recovery() || ' ' || note FROM "+table, who.user+" true written by "+who.user)
		}
		if out, err := psqlAs(ctx, dsn(addrs[2], primary, who.user, who.db), "WrongPassword0123456789", "SELECT 1"); err == nil || !strings.Contains(out, "authentication failed") {
			t.Errorf("%s with a wrong password through :%d: %v %s; want refused", who.user, primary, err, out)
		}
	}
	// Declared as cluster.hcl says: the role's connection limit, the database's owner.
	out, err := psqlAs(ctx, c.adminDSN(model.SuperuserName), superuser,
		"SELECT rolconnlimit || ' ' || pg_get_userbyid(datdba) FROM pg_roles, pg_database WHERE rolname = 'app' AND datname = 'app'")
	if want := fmt.Sprintf("%d %s", cl.Roles[0].ConnectionLimit, appRole); err != nil || out != want {
		t.Errorf("role and database app: %q %v, want %q", out, err, want)
	}
}

// clientErrors are what clients got wrong, by kind. Protocol errors (a prepared statement
// the server does not have) must never happen; connection errors only while a switchover
// cuts sessions.
type clientErrors struct {
	mu       sync.Mutex
	ok       int
	protocol map[string]int
	conn     []time.Time
	other    map[string]int
}

var digitsRE = regexp.MustCompile(`[0-9]+`)

func (e *clientErrors) add(err error, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.protocol == nil {
		e.protocol, e.other = map[string]int{}, map[string]int{}
	}
	if err == nil {
		e.ok++
		return
	}
	switch msg := digitsRE.ReplaceAllString(err.Error(), "N"); {
	case strings.Contains(msg, "prepared statement"), strings.Contains(msg, "bind message"):
		e.protocol[msg]++
	case isConnError(err):
		e.conn = append(e.conn, at)
	default:
		e.other[msg]++
	}
}

// pgxLoad runs workers against the :5000 and :5001 of addr as pgx does by default: every
// query a named prepared statement, cached per connection. Half the workers write, half read.
// It runs in a goroutine of its own: it reports with t.Errorf and returns, never t.Fatal.
func pgxLoad(ctx context.Context, t *testing.T, addr netip.Addr, cl *model.Cluster, password, ca string, errs *clientErrors) {
	t.Helper()
	pool := func(port int) (*pgxpool.Pool, error) {
		cfg, err := pgxpool.ParseConfig(fmt.Sprintf("postgres://%s@%s/%s?sslmode=verify-full&sslrootcert=%s&pool_max_conns=4", appRole, netip.AddrPortFrom(addr, uint16(port)), appRole, ca))
		if err != nil {
			return nil, err
		}
		cfg.ConnConfig.Password = password
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
		if cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
			return nil, fmt.Errorf("pgx's default exec mode is %v, not the statement cache", cfg.ConnConfig.DefaultQueryExecMode)
		}
		return pgxpool.NewWithConfig(ctx, cfg)
	}
	rw, err := pool(cl.HAProxy.PrimaryPort)
	if err != nil {
		t.Errorf("pgx load: %v", err)
		return
	}
	defer rw.Close()
	ro, err := pool(cl.HAProxy.ReplicaPort)
	if err != nil {
		t.Errorf("pgx load: %v", err)
		return
	}
	defer ro.Close()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				var err error
				if i%2 == 0 {
					var id int64
					err = rw.QueryRow(ctx, "INSERT INTO pgx_notes (text, completed) VALUES ($1, $2) RETURNING id", fmt.Sprintf("pgx %d", i), false).Scan(&id)
				} else {
					var rows pgx.Rows
					if rows, err = ro.Query(ctx, "SELECT id, text, completed FROM pgx_notes ORDER BY id DESC LIMIT $1 OFFSET $2", 20, 0); err == nil {
						rows.Close()
						err = rows.Err()
					}
				}
				if ctx.Err() != nil {
					return
				}
				errs.add(err, time.Now())
				if err != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
}

// isConnError: the session was cut or could not be opened (a switchover closes every session
// of the old primary), as opposed to a query the server refused.
func isConnError(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 57P01 admin_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions,
		// 25006 read-only transaction (a session that reached a node being demoted).
		return pgErr.Code == "57P01" || pgErr.Code == "57P03" || strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "25006"
	}
	return true // not the server's answer: the network or the pool
}

// asyncpgResult is what testdata/asyncpg_client.py prints.
type asyncpgResult struct {
	OK     int `json:"ok"`
	Errors []struct {
		At      float64 `json:"at"` // Unix time
		Kind    string  `json:"kind"`
		Message string  `json:"message"`
	} `json:"errors"`
}

// checkClients runs clients that use protocol-level prepared statements through :5000 and
// :5001, as ordinary applications connect: pgx in its default mode and asyncpg doing what the
// tutorial's FastAPI backend does. Midway, a switchover. Every query must succeed, except
// those of sessions the switchover cut; not one may fail for a prepared statement.
func checkClients(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	cl := c.Model
	addrs := c.Addresses()
	password := c.secret(t, model.RolePassword(appRole))
	if out, err := psqlAs(ctx, dsn(addrs[0], cl.HAProxy.PrimaryPort, appRole, appRole), password,
		"CREATE TABLE pgx_notes (id serial PRIMARY KEY, text text, completed boolean)"); err != nil {
		t.Fatalf("pgx_notes: %v\n%s", err, out)
	}

	const run = 40 * time.Second
	loadCtx, cancel := context.WithTimeout(ctx, run)
	defer cancel()
	var pgxErrs clientErrors
	var wg sync.WaitGroup
	wg.Go(func() { pgxLoad(loadCtx, t, addrs[1], cl, password, c.caPath(), &pgxErrs) })

	// The client stops itself 30 s after its run at the latest; this is the last resort.
	pyCtx, pyCancel := context.WithTimeout(ctx, run+2*time.Minute)
	defer pyCancel()
	py := exec.CommandContext(pyCtx, "/usr/bin/python3", "testdata/asyncpg_client.py",
		fmt.Sprintf("postgresql://%s@%s/%s?sslmode=verify-full&sslrootcert=%s", appRole, netip.AddrPortFrom(addrs[2], uint16(cl.HAProxy.PrimaryPort)), appRole, c.caPath()),
		fmt.Sprintf("postgresql://%s@%s/%s?sslmode=verify-full&sslrootcert=%s", appRole, netip.AddrPortFrom(addrs[2], uint16(cl.HAProxy.ReplicaPort)), appRole, c.caPath()),
		fmt.Sprint(run.Seconds()))
	py.Env = append(os.Environ(), "PGPASSWORD="+password)
	var pyOut, pyErr strings.Builder
	py.Stdout, py.Stderr = &pyOut, &pyErr
	if err := py.Start(); err != nil {
		t.Fatalf("asyncpg client: %v (install python3-asyncpg)", err)
	}

	time.Sleep(run / 3)
	switchStart := time.Now()
	out, err := c.Run(ctx, "switchover")
	switchEnd := time.Now()
	if err != nil {
		t.Errorf("pghac switchover: %v\n%s", err, out)
	}
	wg.Wait()
	if err := py.Wait(); err != nil {
		t.Fatalf("asyncpg client: %v\n%s", err, pyErr.String())
	}
	var res asyncpgResult
	if err := json.Unmarshal([]byte(pyOut.String()), &res); err != nil {
		t.Fatalf("asyncpg client output: %v\n%s\n%s", err, pyOut.String(), pyErr.String())
	}

	// Sessions may be cut from the switchover's start until HAProxy and the pools have
	// moved to the new primary, a few seconds after Patroni reports it.
	inWindow := func(at time.Time) bool {
		return !at.Before(switchStart.Add(-time.Second)) && !at.After(switchEnd.Add(10*time.Second))
	}
	var asyncCut int
	for _, e := range res.Errors {
		at := time.Unix(0, int64(e.At*1e9))
		switch {
		case e.Kind == "protocol":
			t.Errorf("asyncpg: a prepared statement failed: %s", e.Message)
		case e.Kind == "connection" && inWindow(at):
			asyncCut++
		default:
			t.Errorf("asyncpg: %s error at %s (switchover %s to %s): %s", e.Kind, at.Format(time.TimeOnly), switchStart.Format(time.TimeOnly), switchEnd.Format(time.TimeOnly), e.Message)
		}
	}
	for msg, n := range pgxErrs.protocol {
		t.Errorf("pgx: a prepared statement failed %d times: %s", n, msg)
	}
	for msg, n := range pgxErrs.other {
		t.Errorf("pgx: %d errors: %s", n, msg)
	}
	pgxCut := 0
	for _, at := range pgxErrs.conn {
		if inWindow(at) {
			pgxCut++
		} else {
			t.Errorf("pgx: a session was cut at %s, outside the switchover (%s to %s)", at.Format(time.TimeOnly), switchStart.Format(time.TimeOnly), switchEnd.Format(time.TimeOnly))
		}
	}
	// A few thousand queries each, or the load did not run.
	if res.OK < 2000 || pgxErrs.ok < 2000 {
		t.Errorf("queries that succeeded: asyncpg %d, pgx %d; want a few thousand each", res.OK, pgxErrs.ok)
	}
	t.Logf("prepared-statement clients across a switchover (%s): asyncpg %d queries ok, %d cut by it; pgx %d ok, %d cut",
		switchEnd.Sub(switchStart).Round(100*time.Millisecond), res.OK, asyncCut, pgxErrs.ok, pgxCut)
}

// statusJSON is the part of `pghac status --json` the checks read.
type statusJSON struct {
	Members []struct {
		Member  string `json:"member"`
		Address string `json:"address"`
		Role    string `json:"role"`
	} `json:"members"`
}

// checkRoleParameters: after a role change, what a fresh client is told at login through
// every node's :5000 and every node's PgBouncer matches the node's real role. libpq's
// target_session_attrs decides from it (in_hot_standby), so a read-write libpq session
// through every :5000 must succeed. Every PgBouncer first gets a pool for the pair the check
// uses, as any client's traffic would give it, so that a stale cache would show.
func checkRoleParameters(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	cl := c.Model
	password := c.secret(t, model.RolePassword(appRole))
	for _, a := range c.Addresses() {
		// A PgBouncer whose last server login failed (its PostgreSQL restarted in the switchover
		// before, while a client asked) and that has no server left refuses the next client at
		// once ("server login has been failing", its fast-fail) and logs in again for the one
		// after: a client retries, as this one does for a few seconds.
		var out string
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			out, err = psqlAs(ctx, dsn(a, cl.PgBouncer.Port, appRole, appRole), password, "SELECT 1")
			if err == nil || !strings.Contains(out, "server login has been failing") || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("%s:%d: %v %s", a, cl.PgBouncer.Port, err, out)
		}
	}
	if out, err := c.Run(ctx, "switchover"); err != nil {
		t.Fatalf("pghac switchover: %v\n%s", err, out)
	}
	// switchover returns once the members follow; status says healthy once they stream too.
	var out string
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if out, err = c.Run(ctx, "status", "--json"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("pghac status --json: %v\n%s", err, out)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	told := func(addr string, port int) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		conn, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=verify-full&sslrootcert=%s", appRole, password, addr, port, appRole, c.caPath()))
		if err != nil {
			return "", err
		}
		defer conn.Close(context.Background())
		return conn.ParameterStatus("in_hot_standby"), nil
	}
	for _, m := range st.Members {
		standby := "on"
		if m.Role == "leader" {
			standby = "off"
		}
		// HAProxy's check interval and the callback's wait: give the new roles a few seconds.
		for _, port := range []int{cl.HAProxy.PrimaryPort, cl.PgBouncer.Port} {
			want := standby
			if port == cl.HAProxy.PrimaryPort {
				want = "off"
			}
			var got string
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
				if got, err = told(m.Address, port); err == nil && got == want {
					break
				}
			}
			if got != want {
				t.Errorf("%s (%s) :%d: a new client is told in_hot_standby=%q (%v), want %q", m.Member, m.Role, port, got, err, want)
			}
		}
		conn := dsn(netip.MustParseAddr(m.Address), cl.HAProxy.PrimaryPort, appRole, appRole, "target_session_attrs=read-write")
		if out, err := psqlAs(ctx, conn, password, "SELECT pg_is_in_recovery()"); err != nil || out != "f" {
			t.Errorf("libpq %q: %v %s; want the primary", conn, err, out)
		}
	}
}
