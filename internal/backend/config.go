package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxConns        = 10
	DefaultRequestTimeout  = 5 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// MaxBodyBytes is the largest request body accepted; a larger one gets a 413.
const MaxBodyBytes = 1 << 20

// Config is what the backend needs to run. Zero fields take the defaults above.
type Config struct {
	// WriteDSN and ReadDSN are libpq connection strings (URL or key=value) of the primary
	// (HAProxy :5000) and of the replicas (HAProxy :5001). They may omit the password.
	WriteDSN, ReadDSN string
	// Password, when not empty, is set on both pools' connection configs, overriding any
	// password of the DSNs. It never appears in logs or errors.
	Password string
	// MaxConns is the size of each pool.
	MaxConns int32
	// RequestTimeout bounds the database work of one request, including waiting for a
	// connection; past it the request gets a 503.
	RequestTimeout time.Duration
	// ShutdownTimeout is how long Serve lets in-flight requests finish after its context ends.
	ShutdownTimeout time.Duration
	// Version is reported by the pghac_backend_build_info metric.
	Version string
	// Logger receives the state-change lines; nil discards them.
	Logger *slog.Logger
}

// Validate checks the DSNs and numbers without connecting. Its errors are one sentence that
// names the bad setting and never quotes a DSN (which may hold a password).
func (c Config) Validate() error {
	_, err := c.withDefaults().poolConfigs()
	return err
}

func (c Config) withDefaults() Config {
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// poolConfigs returns the write and read pool configs.
func (c Config) poolConfigs() ([2]*pgxpool.Config, error) {
	var out [2]*pgxpool.Config
	if c.MaxConns < 1 {
		return out, fmt.Errorf("the pool size must be at least 1, not %d", c.MaxConns)
	}
	if c.RequestTimeout < 0 || c.ShutdownTimeout < 0 {
		return out, errors.New("the request and shutdown timeouts must be positive")
	}
	for i, d := range []struct{ name, dsn string }{{"write", c.WriteDSN}, {"read", c.ReadDSN}} {
		if d.dsn == "" {
			return out, fmt.Errorf("the %s DSN is empty", d.name)
		}
		pc, err := pgxpool.ParseConfig(d.dsn)
		if err != nil {
			return out, fmt.Errorf("the %s DSN %w", d.name, errBadDSN)
		}
		c.tune(pc)
		rereadRoots(&pc.ConnConfig.Config, rootCertFile(d.dsn))
		out[i] = pc
	}
	return out, nil
}

// errBadDSN says nothing of the string: pgx redacts passwords on a best-effort basis only.
var errBadDSN = errors.New("is not a valid PostgreSQL connection string (a postgres:// URL or key=value pairs)")

// CheckDSN returns an error when dsn is not a connection string pgx can parse. The error
// never quotes dsn, which may hold a password.
func CheckDSN(dsn string) error {
	if _, err := pgxpool.ParseConfig(dsn); err != nil {
		return errBadDSN
	}
	return nil
}

// tune sets what the backend needs of a pool.
func (c Config) tune(pc *pgxpool.Config) {
	cc := pc.ConnConfig
	if c.Password != "" {
		cc.Password = c.Password
	}
	// PgBouncer 1.18 in pool_mode=transaction hands each transaction to whichever server
	// connection is free and has no support for protocol-level prepared statements: pgx's
	// default mode (a named prepared statement per query, cached per client connection) then
	// fails with "prepared statement ... does not exist" or "... already exists" (the seed's
	// asyncpg app failed so). QueryExecModeExec sends each query as Parse/Bind/Execute of the
	// unnamed statement and a Sync in one round trip, which PgBouncer keeps on one server
	// connection, with the parameters typed from their Go types.
	cc.DefaultQueryExecMode = pgx.QueryExecModeExec
	// A dial to a vanished host must not outlive the request that waits for it.
	cc.ConnectTimeout = c.RequestTimeout
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler { return closeOnCancel{pc.Conn()} }
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "pghac-backend"
	}
	pc.MaxConns = c.MaxConns
	// No connection at start: the backend must start before the database is up.
	pc.MinConns = 0
	// A connection idle for more than a second is pinged before use (pgxpool's default), and
	// a ping that does not answer quickly means a dead peer: drop it and dial again rather
	// than spend the request's whole timeout on it.
	pc.PingTimeout = min(time.Second, c.RequestTimeout)
	// Idle connections are checked often, so dead ones left by a failover go quickly.
	pc.HealthCheckPeriod = 5 * time.Second
	pc.MaxConnIdleTime = time.Minute
	// Connections are renewed now and then, so that a pool spreads over the replicas again
	// after one of them came back (HAProxy balances new connections only).
	pc.MaxConnLifetime = 10 * time.Minute
	pc.MaxConnLifetimeJitter = time.Minute
}

// closeOnCancel aborts a query whose context ended by closing its connection's socket.
//
// pgx's default sets a past deadline on the socket, then sends a cancel request and a
// Terminate and reads until the server closes the connection, for up to 15 s. A PgBouncer
// whose PostgreSQL is gone leaves a waiting client's Terminate unread, so every connection
// whose request timed out during such an outage took 15 s to clean up; pgxpool keeps the
// pool slot of a destroyed connection until its cleanup ends, and closing the pool at
// shutdown waited for all of them. A closed socket makes the cleanup immediate; the cancel
// request is still sent.
type closeOnCancel struct{ conn net.Conn }

func (h closeOnCancel) HandleCancel(context.Context) { _ = h.conn.Close() }
func (h closeOnCancel) HandleUnwatchAfterCancel()    {}

// target describes where a pool connects, without the password: user@host:port/database.
func target(pc *pgxpool.Config) string {
	cc := pc.ConnConfig
	return cc.User + "@" + cc.Host + ":" + strconv.Itoa(int(cc.Port)) + "/" + cc.Database
}
