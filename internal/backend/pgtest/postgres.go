package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pghac/pghac/internal/pki"
)

// Superuser is the name of the superuser that initdb creates.
const Superuser = "postgres"

// startTimeout bounds how long a server may take to accept connections. A server starts in
// well under a second; the margin is for a machine busy with other packages' tests.
const startTimeout = 60 * time.Second

// Postgres is a PostgreSQL server of one test. Its methods may be called from several
// goroutines.
type Postgres struct {
	// Port is the TCP port on 127.0.0.1; it stays the same across Stop and Start.
	Port int
	// Dir is the server's temporary directory: data/, its Unix socket and postgres.log.
	Dir string

	password string
	owner    owner

	mu   sync.Mutex
	proc *proc // nil while stopped
}

// StartPostgres initialises a PostgreSQL 15 data directory (or copies RunMain's), starts the
// server on a free port of 127.0.0.1 and waits until it accepts connections. The test's
// cleanup stops it and removes its directory; a failure ends the test.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := startPostgres()
	if p != nil {
		t.Cleanup(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.proc != nil {
				// Immediate shutdown: nothing of the data directory needs to survive.
				p.proc.stop(syscall.SIGQUIT, 10*time.Second)
				p.proc = nil
			}
			os.RemoveAll(p.Dir)
		})
	}
	if err != nil {
		t.Fatalf("pgtest: cannot start PostgreSQL: %v", err)
	}
	return p
}

func startPostgres() (*Postgres, error) {
	if _, err := os.Stat(filepath.Join(PGBin, "postgres")); err != nil {
		return nil, fmt.Errorf("PostgreSQL 15 is not installed (%s/postgres is missing; make deps installs postgresql-15)", PGBin)
	}
	o, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	// The processes' working directories are compared with it: no symbolic links.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	p := &Postgres{Dir: dir, owner: o}
	if err := o.chown(dir); err != nil {
		return p, err
	}
	if p.password, err = newDataDir(o, dir); err != nil {
		return p, err
	}
	if err := p.writeTLS(); err != nil {
		return p, err
	}
	// A free port can be taken by someone else before the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		if p.Port, err = freePort(); err != nil {
			return p, err
		}
		err = p.start()
		if err == nil || attempt == 3 || !strings.Contains(fileTail(p.logPath(), 20), "could not bind") {
			return p, err
		}
	}
}

// SuperuserDSN is a connection URL for the superuser to database postgres over TCP. It holds
// the password: never log it.
func (p *Postgres) SuperuserDSN() string {
	return p.DSN(Superuser, p.password, "postgres")
}

// SuperuserPassword is the superuser's password.
func (p *Postgres) SuperuserPassword() string { return p.password }

// DSN is a connection URL to this server over TCP for user with password (omitted when
// empty) to database, without TLS.
func (p *Postgres) DSN(user, password, database string) string {
	return dsn(p.Port, user, password, database)
}

func dsn(port int, user, password, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		Host:     "127.0.0.1:" + strconv.Itoa(port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// Exec runs sql as the superuser in database; a failure ends the test.
func (p *Postgres) Exec(t testing.TB, database, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN(Superuser, p.password, database))
	if err != nil {
		t.Fatalf("pgtest: cannot connect to database %s on port %d as the superuser: %v", database, p.Port, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("pgtest: %q in database %s: %v", firstLine(sql), database, err)
	}
}

// CreateRole creates a login role with a SCRAM-SHA-256 password.
func (p *Postgres) CreateRole(t testing.TB, name, password string) {
	t.Helper()
	p.Exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s", pgx.Identifier{name}.Sanitize(), quoteLiteral(password)))
}

// CreateDatabase creates a database owned by owner.
func (p *Postgres) CreateDatabase(t testing.TB, name, owner string) {
	t.Helper()
	p.Exec(t, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{owner}.Sanitize()))
}

// Stop shuts the server down as `pg_ctl stop -m fast` does: sessions get admin_shutdown
// (57P01) and are closed. It returns once the server has exited; a no-op when stopped.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	p.halt(t, syscall.SIGINT)
}

// Kill kills the server's whole process group with SIGKILL, as a crash would: clients see
// their connections reset, and the next Start runs crash recovery.
func (p *Postgres) Kill(t testing.TB) {
	t.Helper()
	p.halt(t, syscall.SIGKILL)
}

func (p *Postgres) halt(t testing.TB, sig syscall.Signal) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return
	}
	clean := p.proc.stop(sig, 20*time.Second)
	p.proc = nil
	if !clean && sig != syscall.SIGKILL {
		t.Fatalf("pgtest: PostgreSQL on port %d did not stop within 20 s and was killed%s", p.Port, fileTail(p.logPath(), 10))
	}
}

// Start starts the stopped server again on the same data directory and port and waits until
// it accepts connections; a no-op when it runs.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		return
	}
	if err := p.startLocked(); err != nil {
		t.Fatalf("pgtest: cannot restart PostgreSQL on port %d: %v", p.Port, err)
	}
}

// Running reports whether the server process is running.
func (p *Postgres) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc != nil && !p.proc.exited()
}

func (p *Postgres) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startLocked()
}

func (p *Postgres) logPath() string { return filepath.Join(p.Dir, "postgres.log") }

// CACert is the PEM file of the authority that signed the server's certificate, which is
// valid for 127.0.0.1 and localhost: what a client verifies the server with.
func (p *Postgres) CACert() string { return filepath.Join(p.Dir, "ca.crt") }

func (p *Postgres) serverPEM() string { return filepath.Join(p.Dir, "server.pem") }

// writeTLS makes an authority and the server's certificate and key for this server alone.
func (p *Postgres) writeTLS() error {
	now := time.Now()
	ca, _, err := pki.NewAuthority("pgtest", now, 24*time.Hour)
	if err != nil {
		return err
	}
	cert, key, err := ca.Issue(pki.Leaf{CommonName: "localhost", DNSNames: []string{"localhost"},
		IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Lifetime: 24 * time.Hour}, now)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.CACert(), ca.CertPEM, 0o644); err != nil {
		return err
	}
	// PostgreSQL takes a key only from a file its user alone may read.
	if err := os.WriteFile(p.serverPEM(), append(cert, key...), 0o600); err != nil {
		return err
	}
	return p.owner.chown(p.serverPEM())
}

func (p *Postgres) startLocked() error {
	cmd, logf, err := p.owner.command(p.logPath(), filepath.Join(PGBin, "postgres"),
		"-D", filepath.Join(p.Dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(p.Port),
		"-c", "unix_socket_directories="+p.Dir,
		// Durability is not what tests need: make them fast.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=100",
		"-c", "shared_buffers=32MB",
		// TLS offered, as on the nodes; the DSNs here ask for none.
		"-c", "ssl=on",
		"-c", "ssl_cert_file="+p.serverPEM(),
		"-c", "ssl_key_file="+p.serverPEM(),
	)
	if err != nil {
		return err
	}
	if err := p.owner.chown(p.logPath()); err != nil {
		logf.Close()
		return err
	}
	pr, err := startProc(cmd, logf, filepath.Join(p.Dir, "data"))
	if err != nil {
		return err
	}
	if err := waitPostgres(pr, p.Port, p.password); err != nil {
		pr.stop(syscall.SIGQUIT, 5*time.Second)
		return fmt.Errorf("PostgreSQL on port %d: %w%s", p.Port, err, fileTail(p.logPath(), 15))
	}
	p.proc = pr
	return nil
}

// waitPostgres waits until the server accepts a superuser login (it listens before it has
// finished recovery, answering 57P03 meanwhile).
func waitPostgres(pr *proc, port int, password string) error {
	if err := waitPort(pr, port, startTimeout); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn(port, Superuser, password, "postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		if pr.exited() {
			return fmt.Errorf("it exited (%v) while starting", pr.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no superuser login after %s: %w", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// template is RunMain's initialised data directory, copied for each server.
var template struct {
	mu       sync.Mutex
	root     string // RunMain's directory; "" without RunMain: every server runs initdb
	password string // the template superuser's password; "" until built
}

// RunMain runs the tests of m with one initialised data directory that every StartPostgres
// copies, and removes it afterwards. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }
func RunMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pgtest-template-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: cannot create a directory for the template data directory: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	template.mu.Lock()
	template.root = dir
	template.mu.Unlock()
	return m.Run()
}

// newDataDir creates dir/data, initialised with a superuser password, and returns the password.
func newDataDir(o owner, dir string) (string, error) {
	template.mu.Lock()
	defer template.mu.Unlock()
	if template.root == "" {
		return initdb(o, dir)
	}
	if template.password == "" {
		if err := o.chown(template.root); err != nil {
			return "", err
		}
		pw, err := initdb(o, template.root)
		if err != nil {
			return "", err
		}
		template.password = pw
	}
	// cp -a keeps the owner and the 0700 mode that PostgreSQL insists on.
	out, err := exec.Command("cp", "-a", filepath.Join(template.root, "data"), filepath.Join(dir, "data")).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cannot copy the template data directory: %w%s", err, tail(string(out), 5))
	}
	return template.password, nil
}

// initdb initialises dir/data with SCRAM-SHA-256 for every connection and a random superuser
// password, which it returns.
func initdb(o owner, dir string) (string, error) {
	pw, err := randomPassword()
	if err != nil {
		return "", err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	defer os.Remove(pwfile)
	if err := o.chown(pwfile); err != nil {
		return "", err
	}
	err = o.run(dir, filepath.Join(PGBin, "initdb"),
		"-D", filepath.Join(dir, "data"),
		"--no-sync", "--no-instructions",
		"--auth=scram-sha-256", "-U", Superuser, "--pwfile="+pwfile,
		"--encoding=UTF8", "--locale=C.UTF-8")
	if err != nil {
		return "", err
	}
	return pw, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("cannot read random bytes for a password")
	}
	return hex.EncodeToString(b), nil
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings is on).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
