package cloudapi

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pghac/pghac/internal/lockbox"
)

// Server serves the metadata service and Lockbox over one state directory. Its handlers
// are safe for concurrent use; one Server per directory is expected to write it.
type Server struct {
	dir           string
	operatorToken string
	key           []byte

	// Logger, when set, gets one line per request: the handler, method, path, the caller's
	// address and the status. Never a header, a query or a body, so never a token or a value.
	Logger *slog.Logger

	now func() time.Time // the clock; tests move it to expire tokens

	mu  sync.Mutex                   // serializes read-modify-write of secrets/ and ops
	ops map[string]lockbox.Operation // by id; see the package doc
}

// New opens the state directory dir, creating it (0700) and its tokens on first start.
func New(dir string) (*Server, error) {
	if err := makeDirs(dir); err != nil {
		return nil, fmt.Errorf("cloud API state %s: %w", dir, err)
	}
	op, err := readOrCreate(filepath.Join(dir, operatorTokenFile), newOperatorToken)
	if err != nil {
		return nil, fmt.Errorf("cloud API state %s: operator token: %w", dir, err)
	}
	if op == "" {
		return nil, fmt.Errorf("cloud API state %s: %s is empty", dir, operatorTokenFile)
	}
	k, err := readOrCreate(filepath.Join(dir, tokenKeyFile), func() (string, error) { return randomHex(32) })
	if err != nil {
		return nil, fmt.Errorf("cloud API state %s: token key: %w", dir, err)
	}
	key, err := hex.DecodeString(k)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("cloud API state %s: %s is not a hex key of at least 16 bytes", dir, tokenKeyFile)
	}
	return &Server{dir: dir, operatorToken: op, key: key, now: time.Now, ops: map[string]lockbox.Operation{}}, nil
}

// Handler serves both APIs on one address: their paths (/computeMetadata/ and
// /lockbox/, /operations/) do not overlap.
func (s *Server) Handler() http.Handler {
	md, lb := s.Metadata(), s.Lockbox()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/computeMetadata/") {
			md.ServeHTTP(w, r)
			return
		}
		lb.ServeHTTP(w, r)
	})
}

// remoteAddr is the address the request came from: on the sandbox's bridge, the machine.
func remoteAddr(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return canonical(ap.Addr()), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return canonical(a), true
	}
	return netip.Addr{}, false
}

// logged wraps h to log each request, if there is a Logger.
func (s *Server) logged(api string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Logger == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.Logger.Info("request", "api", api, "method", r.Method, "path", r.URL.Path, "from", r.RemoteAddr, "status", rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
