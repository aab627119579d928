package pgtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PgBouncer is a PgBouncer of one test, in front of one Postgres. Its methods may be called
// from several goroutines.
type PgBouncer struct {
	// Port is the TCP port on 127.0.0.1; it stays the same across Stop and Start.
	Port int
	// Dir is its temporary directory: pgbouncer.ini, userlist.txt, its socket and log.
	Dir string

	owner owner

	mu   sync.Mutex
	proc *proc // nil while stopped
}

// PgBouncerOption changes one setting of StartPgBouncer's configuration.
type PgBouncerOption func(*bouncerConfig)

type bouncerConfig struct {
	poolMode         string
	serverLoginRetry int
	defaultPoolSize  int
	queryWaitTimeout int
}

// PoolMode sets pool_mode: "session", "transaction" (the default) or "statement".
func PoolMode(mode string) PgBouncerOption {
	return func(c *bouncerConfig) { c.poolMode = mode }
}

// ServerLoginRetry sets server_login_retry in seconds (default 1, as pghac deploys a low
// value: PgBouncer's own default of 15 keeps refusing clients long after PostgreSQL is back).
func ServerLoginRetry(seconds int) PgBouncerOption {
	return func(c *bouncerConfig) { c.serverLoginRetry = seconds }
}

// QueryWaitTimeout sets query_wait_timeout in seconds (default 30, as pghac deploys). While
// PostgreSQL is down, PgBouncer 1.18 keeps a client's query waiting this long for a server.
func QueryWaitTimeout(seconds int) PgBouncerOption {
	return func(c *bouncerConfig) { c.queryWaitTimeout = seconds }
}

// DefaultPoolSize sets default_pool_size (default 20).
func DefaultPoolSize(n int) PgBouncerOption {
	return func(c *bouncerConfig) { c.defaultPoolSize = n }
}

// StartPgBouncer starts PgBouncer 1.18 on a free port of 127.0.0.1 in front of pg, for every
// database, and waits until it listens. users maps each user that may log in to its
// plaintext password: PgBouncer checks clients' SCRAM-SHA-256 logins against it and uses it
// to log in to pg. The test's cleanup stops it; a failure ends the test.
func StartPgBouncer(t testing.TB, pg *Postgres, users map[string]string, opts ...PgBouncerOption) *PgBouncer {
	t.Helper()
	c := bouncerConfig{poolMode: "transaction", serverLoginRetry: 1, defaultPoolSize: 20, queryWaitTimeout: 30}
	for _, o := range opts {
		o(&c)
	}
	b, err := startPgBouncer(pg, users, c)
	if b != nil {
		t.Cleanup(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.proc != nil {
				b.proc.stop(syscall.SIGTERM, 10*time.Second)
				b.proc = nil
			}
			os.RemoveAll(b.Dir)
		})
	}
	if err != nil {
		t.Fatalf("pgtest: cannot start PgBouncer: %v", err)
	}
	return b
}

func startPgBouncer(pg *Postgres, users map[string]string, c bouncerConfig) (*PgBouncer, error) {
	if _, err := os.Stat(PgBouncerBin); err != nil {
		return nil, fmt.Errorf("PgBouncer is not installed (%s is missing; make deps installs pgbouncer)", PgBouncerBin)
	}
	o, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		return nil, err
	}
	b := &PgBouncer{Dir: dir, owner: o}
	if err := o.chown(dir); err != nil {
		return b, err
	}
	if err := b.writeUserlist(users); err != nil {
		return b, err
	}
	for attempt := 1; ; attempt++ {
		if b.Port, err = freePort(); err != nil {
			return b, err
		}
		if err := b.writeConfig(pg.Port, c); err != nil {
			return b, err
		}
		err = b.start()
		if err == nil || attempt == 3 || !errors.Is(err, errPortInUse) {
			return b, err
		}
	}
}

// writeUserlist writes userlist.txt: one `"user" "password"` line per user, sorted.
func (b *PgBouncer) writeUserlist(users map[string]string) error {
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var s strings.Builder
	for _, u := range names {
		fmt.Fprintf(&s, "%s %s\n", quoteUserlist(u), quoteUserlist(users[u]))
	}
	path := filepath.Join(b.Dir, "userlist.txt")
	if err := os.WriteFile(path, []byte(s.String()), 0o600); err != nil {
		return err
	}
	return b.owner.chown(path)
}

// quoteUserlist quotes s for userlist.txt, where a double quote is written twice.
func quoteUserlist(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func (b *PgBouncer) writeConfig(pgPort int, c bouncerConfig) error {
	ini := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir = %s
auth_type = scram-sha-256
auth_file = %s
pool_mode = %s
default_pool_size = %d
max_client_conn = 500
server_login_retry = %d
query_wait_timeout = %d
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
`, pgPort, b.Port, b.Dir, filepath.Join(b.Dir, "userlist.txt"), c.poolMode, c.defaultPoolSize, c.serverLoginRetry, c.queryWaitTimeout)
	path := b.iniPath()
	if err := os.WriteFile(path, []byte(ini), 0o600); err != nil {
		return err
	}
	return b.owner.chown(path)
}

// DSN is a connection URL to PgBouncer for user with password (omitted when empty) to
// database, without TLS.
func (b *PgBouncer) DSN(user, password, database string) string {
	return dsn(b.Port, user, password, database)
}

// Stop stops PgBouncer at once (SIGTERM: clients' connections are closed) and returns once
// it has exited; a no-op when stopped.
func (b *PgBouncer) Stop(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return
	}
	clean := b.proc.stop(syscall.SIGTERM, 10*time.Second)
	b.proc = nil
	if !clean {
		t.Fatalf("pgtest: PgBouncer on port %d did not stop within 10 s and was killed%s", b.Port, fileTail(b.logPath(), 10))
	}
}

// Start starts the stopped PgBouncer again on the same port; a no-op when it runs.
func (b *PgBouncer) Start(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc != nil {
		return
	}
	if err := b.startLocked(); err != nil {
		t.Fatalf("pgtest: cannot restart PgBouncer on port %d: %v", b.Port, err)
	}
}

// Running reports whether the PgBouncer process is running.
func (b *PgBouncer) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.proc != nil && !b.proc.exited()
}

func (b *PgBouncer) iniPath() string { return filepath.Join(b.Dir, "pgbouncer.ini") }
func (b *PgBouncer) logPath() string { return filepath.Join(b.Dir, "pgbouncer.log") }

func (b *PgBouncer) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.startLocked()
}

func (b *PgBouncer) startLocked() error {
	// What this start logs begins where the log ends now (Start after Stop appends).
	var offset int64
	if fi, err := os.Stat(b.logPath()); err == nil {
		offset = fi.Size()
	}
	// Not daemonised (-d): it stays the leader of its process group and logs to stderr.
	cmd, logf, err := b.owner.command(b.logPath(), PgBouncerBin, b.iniPath())
	if err != nil {
		return err
	}
	if err := b.owner.chown(b.logPath()); err != nil {
		logf.Close()
		return err
	}
	pr, err := startProc(cmd, logf, "")
	if err != nil {
		return err
	}
	if err := waitBouncer(pr, b.logPath(), offset, b.Port, startTimeout); err != nil {
		pr.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("PgBouncer on port %s: %w%s", strconv.Itoa(b.Port), err, fileTail(b.logPath(), 15))
	}
	b.proc = pr
	return nil
}

// waitBouncer waits until PgBouncer itself listens on 127.0.0.1:port: its log from offset on
// (this start's lines) says so and the port accepts connections. A port that accepts
// connections is not enough: PgBouncer 1.18 does not exit when it cannot bind its port (it
// warns "cannot listen on" and serves its Unix socket alone), and whoever took the port
// meanwhile answers instead. That case is errPortInUse.
func waitBouncer(pr *proc, logPath string, offset int64, port int, timeout time.Duration) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(timeout)
	for {
		log := readFrom(logPath, offset)
		switch {
		case strings.Contains(log, "cannot listen on "+addr):
			return fmt.Errorf("%w: PgBouncer cannot listen on %s", errPortInUse, addr)
		case strings.Contains(log, "listening on "+addr):
			return waitPort(pr, port, time.Until(deadline))
		case pr.exited():
			return fmt.Errorf("it exited (%v) before listening on %s", pr.err, addr)
		case time.Now().After(deadline):
			return fmt.Errorf("it did not log listening on %s within %s", addr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readFrom returns the content of the file at path from offset on; "" when it cannot be read.
func readFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return string(b[offset:])
}
