package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaSQL creates the seed's table if it is missing. An existing table (the seed's own,
// with a serial id and a varchar text) is used as it is.
const schemaSQL = `CREATE TABLE IF NOT EXISTS notes (
	id bigserial PRIMARY KEY,
	cdate timestamptz DEFAULT now(),
	mdate timestamptz,
	text text NOT NULL,
	completed boolean NOT NULL DEFAULT false
)`

// probeInterval is how often each pool is probed to track (and log) its reachability.
const probeInterval = time.Second

// Reachability of a pool's database, as last probed.
const (
	stateUnknown int32 = iota
	stateUp
	stateDown
)

// dbPool is one of the two pools with what the backend tracks of it.
type dbPool struct {
	name   string // "write" or "read": the metrics' pool label
	target string // user@host:port/database, for the logs
	pool   *pgxpool.Pool
	state  atomic.Int32
	log    *slog.Logger
}

// do runs f on a connection of the pool. When f fails with an outage error the connection is
// closed rather than put back: it may be bound (through HAProxy) to a demoted primary that
// answers 25006 to every write, or be half-dead.
func (p *dbPool) do(ctx context.Context, f func(*pgx.Conn) error) error {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	err = f(c.Conn())
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// closeOnCancel turns a timeout into a closed connection: keep the reason.
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		if f := classify(err, ""); f.status == 503 && !f.healthy {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.Conn().Close(cctx)
			cancel()
		}
	}
	c.Release()
	return err
}

// observe records a probe's result and logs a change of reachability.
func (p *dbPool) observe(err error) {
	next := stateUp
	if err != nil {
		next = stateDown
	}
	if p.state.Swap(next) == next {
		return
	}
	if err == nil {
		p.log.Info("database reachable", "pool", p.name, "target", p.target)
	} else {
		p.log.Warn("database unreachable; requests get 503 until it is back", "pool", p.name, "target", p.target, "error", err.Error())
	}
}

// up reports whether the last probe succeeded.
func (p *dbPool) up() bool { return p.state.Load() == stateUp }

// ping runs SELECT 1 (what /readyz and the probes check).
func (p *dbPool) ping(ctx context.Context) error {
	return p.do(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT 1")
		return err
	})
}

// probeTimeout bounds a probe and /readyz's checks.
func (s *Server) probeTimeout() time.Duration {
	return min(2*time.Second, s.cfg.RequestTimeout)
}

// watch probes p every probeInterval until ctx ends; after a successful probe of the write
// pool it creates the table if that has not been done yet.
func (s *Server) watch(ctx context.Context, p *dbPool) {
	defer s.wg.Done()
	for {
		pctx, cancel := context.WithTimeout(ctx, s.probeTimeout())
		err := p.ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		p.observe(err)
		if err == nil && p == s.write && !s.schemaReady.Load() {
			s.ensureSchema(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(probeInterval):
		}
	}
}

// ensureSchema runs schemaSQL through the write pool. A failure is logged at most every 30 s
// (the probes retry every second); the race of two nodes' backends creating the table at
// once (a duplicate pg_type row or relation) is retried silently.
func (s *Server) ensureSchema(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	err := s.write.do(sctx, func(c *pgx.Conn) error {
		_, err := c.Exec(sctx, schemaSQL)
		return err
	})
	if err == nil {
		s.schemaReady.Store(true)
		s.log.Info("notes table ready", "target", s.write.target)
		return
	}
	if ctx.Err() != nil {
		return
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07") {
		return
	}
	if s.schemaLog.allow(time.Now()) {
		s.log.Warn("cannot create the notes table yet; retrying every second", "target", s.write.target, "error", err.Error())
	}
}

// every lets one event through per period.
type every struct {
	period time.Duration
	last   atomic.Int64 // UnixNano of the last event let through; 0 for none
}

func (e *every) allow(now time.Time) bool {
	last := e.last.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < e.period {
		return false
	}
	return e.last.CompareAndSwap(last, now.UnixNano())
}
