package workload

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pghac/pghac/internal/drill"
	"github.com/pghac/pghac/internal/pki"
)

// Table is where the writers insert. It lives in the superuser's database and is
// emptied at the start of every drill.
const Table = "pghac_drill"

// Node is one member: its Patroni name and its address.
type Node struct {
	Name string
	Addr netip.Addr
}

// Config says where and how hard to load. Zero durations and counts take the defaults
// in withDefaults.
type Config struct {
	Nodes       []Node
	PrimaryPort int // HAProxy's port of the primary (5000)
	ReplicaPort int // HAProxy's port of the replicas (5001)
	User        string
	Password    string // never logged, never in an error
	Database    string
	// CACert is the cluster's certificate authority, a PEM file: the load and the libpq
	// probes then connect over TLS and verify the server's certificate for the address
	// they dialled (sslmode=verify-full), as the cluster's clients should. Empty: TLS
	// without verifying the server (sslmode=require: PgBouncer takes nothing less).
	CACert string

	// WritersPerNode concurrent writers go through each node's primary port, each
	// inserting once per WriteInterval (or right after a slow write).
	WritersPerNode int
	WriteInterval  time.Duration
	// One reader per node reads once per ReadInterval through its replica port.
	ReadInterval time.Duration
	// Timeout bounds each connection attempt and each statement; a write that times
	// out is Unknown. It must exceed a synchronous commit's usual wait.
	Timeout time.Duration
	// RetryDelay is the pause after a failed attempt, so that an outage is not a
	// busy loop of connection attempts, yet is resolved to about this precision.
	RetryDelay time.Duration
}

func (c Config) withDefaults() Config {
	if c.WritersPerNode == 0 {
		c.WritersPerNode = 2
	}
	if c.WriteInterval == 0 {
		c.WriteInterval = 25 * time.Millisecond
	}
	if c.ReadInterval == 0 {
		c.ReadInterval = 50 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 100 * time.Millisecond
	}
	return c
}

// connConfig is a pgx configuration for addr:port. PgBouncer in transaction mode
// cannot keep named prepared statements, hence the exec mode.
func (c Config) connConfig(addr netip.Addr, port int) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc.Host, cc.Port = addr.String(), uint16(port)
	cc.User, cc.Password, cc.Database = c.User, c.Password, c.Database
	cc.ConnectTimeout = c.Timeout
	cc.RuntimeParams = map[string]string{"application_name": "pghac-drill"}
	cc.DefaultQueryExecMode = pgx.QueryExecModeExec
	// One address, no fallbacks: a drill must know which HAProxy it went through (and
	// prefer's plaintext fallback is none either).
	cc.Fallbacks = nil
	// ParseConfig("") took the PG* environment: after `eval "$(pghac env)"` that is
	// PGTARGETSESSIONATTRS=read-write, which would refuse every session of the replica port.
	// A drill's sessions take what the port gives.
	cc.ValidateConnect, cc.AfterConnect = nil, nil
	if c.CACert != "" {
		roots, err := pki.ReadRoots(c.CACert)
		if err != nil {
			return nil, err
		}
		// An address as ServerName is checked against the certificate's IP addresses.
		cc.TLSConfig = &tls.Config{RootCAs: roots, ServerName: addr.String(), MinVersion: tls.VersionTLS12}
	} else {
		cc.TLSConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	return cc, nil
}

// connect opens a connection to addr:port.
func (c Config) connect(ctx context.Context, addr netip.Addr, port int) (*pgx.Conn, error) {
	cc, err := c.connConfig(addr, port)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	return pgx.ConnectConfig(ctx, cc)
}

// Prepare creates the drill table, empty, through the primary port of the first node
// that takes it. It retries until ctx ends, since a drill may start right after the
// cluster came up.
func Prepare(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	ddl := "CREATE TABLE IF NOT EXISTS " + Table + " (id bigint PRIMARY KEY, node text NOT NULL, at timestamptz NOT NULL DEFAULT now()); TRUNCATE " + Table
	var last error
	for {
		for _, n := range cfg.Nodes {
			conn, err := cfg.connect(ctx, n.Addr, cfg.PrimaryPort)
			if err == nil {
				_, err = conn.Exec(ctx, ddl, pgx.QueryExecModeSimpleProtocol)
				conn.Close(context.Background())
			}
			if err == nil {
				return nil
			}
			last = fmt.Errorf("%s: %w", n.Name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("prepare the drill table: %w", last)
		case <-time.After(time.Second):
		}
	}
}

// FinalIDs reads every id in the drill table from the primary, through the first
// node's primary port that answers, and names the server that answered. It retries
// until ctx ends.
func FinalIDs(ctx context.Context, cfg Config) (ids []int64, server string, err error) {
	cfg = cfg.withDefaults()
	names := cfg.serverNames()
	var last error
	for {
		for _, n := range cfg.Nodes {
			ids, server, err := finalIDs(ctx, cfg, n, names)
			if err == nil {
				return ids, server, nil
			}
			last = fmt.Errorf("%s: %w", n.Name, err)
		}
		select {
		case <-ctx.Done():
			return nil, "", fmt.Errorf("read the final ids: %w", last)
		case <-time.After(time.Second):
		}
	}
}

func finalIDs(ctx context.Context, cfg Config, n Node, names map[string]string) ([]int64, string, error) {
	conn, err := cfg.connect(ctx, n.Addr, cfg.PrimaryPort)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close(context.Background())
	// One transaction, so that the server named is the one whose rows were read.
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback(context.Background())
	var addr string
	var readOnly bool
	if err := tx.QueryRow(ctx, "SELECT "+serverExpr+", pg_is_in_recovery()").Scan(&addr, &readOnly); err != nil {
		return nil, "", err
	}
	if readOnly {
		return nil, "", errors.New("the primary port reached a server in recovery")
	}
	rows, err := tx.Query(ctx, "SELECT id FROM "+Table+" ORDER BY id")
	if err != nil {
		return nil, "", err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, "", err
	}
	if ids == nil {
		ids = []int64{}
	}
	return ids, serverName(names, addr), tx.Commit(ctx)
}

// serverExpr names the server a statement runs on: the first of its listen_addresses,
// which Patroni sets to the member's own address.
const serverExpr = "split_part(current_setting('listen_addresses'), ',', 1)"

// timelineExpr is a primary's current timeline as Patroni computes it.
const timelineExpr = "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"

func (c Config) serverNames() map[string]string {
	m := make(map[string]string, len(c.Nodes))
	for _, n := range c.Nodes {
		m[n.Addr.String()] = n.Name
	}
	return m
}

// serverName maps a listen address to the member's name; an address of no member is
// kept as it is, so that the checker flags it rather than pghac hiding it.
func serverName(names map[string]string, addr string) string {
	if name, ok := names[strings.TrimSpace(addr)]; ok {
		return name
	}
	return addr
}

// Load is a running write and read load. Stop it to get what it recorded.
type Load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	writes []drill.Write
	reads  []drill.Read

	acked, failed, unknown, readErrs atomic.Int64
}

// Start starts the writers and readers. ids are handed out from 1 upwards.
func Start(ctx context.Context, cfg Config) *Load {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	l := &Load{cancel: cancel}
	var next atomic.Int64
	names := cfg.serverNames()
	for _, n := range cfg.Nodes {
		for range cfg.WritersPerNode {
			l.wg.Go(func() { l.writer(ctx, cfg, n, &next, names) })
		}
		l.wg.Go(func() { l.reader(ctx, cfg, n) })
	}
	return l
}

// Counts are the running totals, for progress lines.
type Counts struct{ Acked, Failed, Unknown, ReadErrors int64 }

// Counts returns the totals so far.
func (l *Load) Counts() Counts {
	return Counts{l.acked.Load(), l.failed.Load(), l.unknown.Load(), l.readErrs.Load()}
}

// Stop stops the load, waits for the attempts in flight (at most Config.Timeout) and
// returns every write and read, in the order they ended.
func (l *Load) Stop() ([]drill.Write, []drill.Read) {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes, l.reads
}

// session is one worker's connection through an HAProxy port, opened on demand and
// dropped after any error, since its state is then unknown.
type session struct {
	cfg  Config
	addr netip.Addr
	port int
	conn *pgx.Conn
}

func (s *session) open(ctx context.Context) (*pgx.Conn, error) {
	if s.conn == nil {
		c, err := s.cfg.connect(ctx, s.addr, s.port)
		if err != nil {
			return nil, err
		}
		s.conn = c
	}
	return s.conn, nil
}

func (s *session) drop() {
	if s.conn != nil {
		s.conn.Close(context.Background())
		s.conn = nil
	}
}

// pause waits before a worker's next attempt: RetryDelay after a failure, so that an
// outage is not a busy loop, else the next tick.
func pause(ctx context.Context, tick *time.Ticker, failed bool, retry time.Duration) {
	if failed {
		sleep(ctx, retry)
		return
	}
	select {
	case <-ctx.Done():
	case <-tick.C:
	}
}

func (l *Load) writer(ctx context.Context, cfg Config, n Node, next *atomic.Int64, names map[string]string) {
	s := &session{cfg: cfg, addr: n.Addr, port: cfg.PrimaryPort}
	defer s.drop()
	tick := time.NewTicker(cfg.WriteInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		w := drill.Write{ID: next.Add(1), Node: n.Name, Start: time.Now()}
		connecting := s.conn == nil
		conn, err := s.open(ctx)
		if err != nil && ctx.Err() != nil {
			return // stopped while connecting: the id was never sent
		}
		if err == nil {
			connecting = false
			err = insert(ctx, conn, cfg.Timeout, &w, names)
		}
		w.End = time.Now()
		w.Outcome = drill.Acked
		if err != nil {
			w.Outcome, w.Err = classify(err, connecting), errText(err)
			s.drop()
		}
		l.recordWrite(w)
		pause(ctx, tick, err != nil, cfg.RetryDelay)
	}
}

// insert writes w.ID in one implicit transaction and learns who acknowledged it.
func insert(ctx context.Context, conn *pgx.Conn, timeout time.Duration, w *drill.Write, names map[string]string) error {
	// The statement must not be cut short by the load stopping: an insert in flight
	// is finished, or times out, so that its outcome is known as well as it can be.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var addr string
	err := conn.QueryRow(sctx,
		"INSERT INTO "+Table+" (id, node) VALUES ($1, $2) RETURNING "+serverExpr+", "+timelineExpr,
		w.ID, w.Node).Scan(&addr, &w.Timeline)
	if err == nil {
		w.Server = serverName(names, addr)
	}
	return err
}

// classify is the outcome of a failed write: Failed only when it certainly did not
// commit. connecting is true when the error came from opening the connection.
func classify(err error, connecting bool) drill.Outcome {
	if connecting {
		return drill.Failed
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// An ERROR aborts the implicit transaction; a FATAL or PANIC may come after
		// the commit record was written (shutdown during a synchronous commit).
		if pgErr.Severity == "ERROR" {
			return drill.Failed
		}
		return drill.Unknown
	}
	if pgconn.SafeToRetry(err) {
		return drill.Failed // nothing was sent
	}
	return drill.Unknown
}

// errText is an error as the report groups it: without addresses and ports, which
// differ by node, and without the id.
func errText(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Severity + ": " + pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	}
	s := err.Error()
	// pgconn: "failed to connect to `user=... database=...`: 10.213.0.11:5000 (10.213.0.11): server error: ..."
	if i := strings.LastIndex(s, "): "); i >= 0 && strings.HasPrefix(s, "failed to connect") {
		s = "connect: " + s[i+3:]
	}
	return s
}

func (l *Load) recordWrite(w drill.Write) {
	switch w.Outcome {
	case drill.Acked:
		l.acked.Add(1)
	case drill.Failed:
		l.failed.Add(1)
	default:
		l.unknown.Add(1)
	}
	l.mu.Lock()
	l.writes = append(l.writes, w)
	l.mu.Unlock()
}

func (l *Load) reader(ctx context.Context, cfg Config, n Node) {
	s := &session{cfg: cfg, addr: n.Addr, port: cfg.ReplicaPort}
	defer s.drop()
	tick := time.NewTicker(cfg.ReadInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		r := drill.Read{Node: n.Name, Start: time.Now()}
		conn, err := s.open(ctx)
		if err == nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
			var max *int64
			err = conn.QueryRow(sctx, "SELECT max(id) FROM "+Table).Scan(&max)
			cancel()
		}
		r.End = time.Now()
		if err != nil {
			s.drop()
			if ctx.Err() != nil {
				return // stopped: not a read the cluster failed
			}
			r.Err = errText(err)
			l.readErrs.Add(1)
		}
		r.OK = err == nil
		l.mu.Lock()
		l.reads = append(l.reads, r)
		l.mu.Unlock()
		pause(ctx, tick, err != nil, cfg.RetryDelay)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
