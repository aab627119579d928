package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the notes API over its two pools. Create it with New, serve Handler, and Close
// it when done; Serve does all three.
type Server struct {
	cfg         Config
	log         *slog.Logger
	write, read *dbPool
	schemaReady atomic.Bool
	metrics     *metrics
	metricsH    http.Handler

	schemaLog     every // rate of "cannot create the table" lines
	unexpectedLog every // rate of lines about 500s

	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New validates cfg, creates both pools without connecting (the database may not be up
// yet) and starts probing them: each pool's reachability is logged when it changes, and the
// table is created as soon as the write pool answers.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	pcs, err := cfg.poolConfigs()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:           cfg,
		log:           cfg.Logger,
		schemaLog:     every{period: 30 * time.Second},
		unexpectedLog: every{period: 10 * time.Second},
	}
	pools := make([]*dbPool, 2)
	for i, name := range []string{"write", "read"} {
		p, err := pgxpool.NewWithConfig(context.Background(), pcs[i])
		if err != nil {
			for _, q := range pools[:i] {
				q.pool.Close()
			}
			return nil, fmt.Errorf("cannot create the %s pool: %w", name, err)
		}
		pools[i] = &dbPool{name: name, target: target(pcs[i]), pool: p, log: s.log}
	}
	s.write, s.read = pools[0], pools[1]
	s.metrics = newMetrics(s)
	s.metricsH = promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})

	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.wg.Add(2)
	go s.watch(ctx, s.write)
	go s.watch(ctx, s.read)
	return s, nil
}

// SchemaReady reports whether the backend has made sure the notes table exists.
func (s *Server) SchemaReady() bool { return s.schemaReady.Load() }

// Close stops the probes and closes both pools, waiting for connections in use to be
// released. Requests served after Close get 503s.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.wg.Wait()
		s.write.pool.Close()
		s.read.pool.Close()
	})
}

// Handler returns the HTTP handler of every route. Each request is counted once in the
// metrics, under its route pattern, whatever its outcome; a panic becomes a 500 with no
// details for the client and one log line.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	route, h := s.route(r.URL.Path)
	s.instrument(route, h)(w, r)
}

// instrument wraps the handler of route: it counts and times each request once, and turns a
// panic into a 500 (when nothing was written yet) with one log line.
func (s *Server) instrument(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic while serving a request", "method", methodLabel(r.Method), "route", route,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "Internal Server Error")
				}
			}
			s.metrics.observe(r.Method, route, rec.code(), time.Since(start))
		}()
		h(rec, r)
	}
}

// route returns the route pattern of path and its handler. A trailing slash is optional:
// /notes and /notes/ are one route, as are /notes/1 and /notes/1/.
func (s *Server) route(path string) (string, http.HandlerFunc) {
	p := path
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	switch {
	case p == "/notes":
		return routeNotes, s.notes
	case strings.HasPrefix(p, "/notes/") && !strings.Contains(p[len("/notes/"):], "/"):
		id := p[len("/notes/"):]
		return routeNote, func(w http.ResponseWriter, r *http.Request) { s.note(w, r, id) }
	case p == "/healthz":
		return routeHealthz, getOnly(s.healthz)
	case p == "/readyz":
		return routeReadyz, getOnly(s.readyz)
	case p == "/metrics":
		return routeMetrics, getOnly(s.metricsH.ServeHTTP)
	}
	return routeOther, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

// getOnly answers methods other than GET and HEAD with a 405.
func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		h(w, r)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) code() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.status
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readiness is /readyz's body.
type readiness struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
	Write  string `json:"write"`
	Read   string `json:"read"`
	Schema string `json:"schema"`
}

// readyz answers 200 when both pools run SELECT 1 within the probe timeout and the table
// exists, else 503 saying which part is down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.probeTimeout())
	defer cancel()
	var errs [2]error
	var wg sync.WaitGroup
	for i, p := range []*dbPool{s.write, s.read} {
		wg.Go(func() { errs[i] = p.ping(ctx) })
	}
	wg.Wait()
	body := readiness{Status: "ok", Write: "ok", Read: "ok", Schema: "ok"}
	var details []string
	for i, p := range []*dbPool{s.write, s.read} {
		if errs[i] == nil {
			continue
		}
		msg := classify(errs[i], s.probeTimeout().String()).detail
		details = append(details, p.name+" pool: "+msg)
		if i == 0 {
			body.Write = "down"
		} else {
			body.Read = "down"
		}
	}
	if !s.schemaReady.Load() {
		body.Schema = "pending"
		details = append(details, "the notes table is not created yet")
	}
	if len(details) > 0 {
		body.Status = "unavailable"
		body.Detail = strings.Join(details, "; ")
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// Serve serves the API on ln until ctx ends, then stops accepting connections, lets
// in-flight requests finish (up to cfg.ShutdownTimeout) and closes the pools. It returns nil
// after a shutdown, or the error that stopped serving.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	cfg = s.cfg
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// net/http's own complaints (TLS on a plain port, scanners) are per connection.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving the notes API", "listen", ln.Addr().String(), "version", cfg.Version,
		"write", s.write.target, "read", s.read.target, "request_timeout", cfg.RequestTimeout.String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("in-flight requests did not finish in time and were cut off", "timeout", cfg.ShutdownTimeout.String())
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP on %s: %w", ln.Addr(), err)
	}
	s.Close()
	s.log.Info("stopped")
	return nil
}
