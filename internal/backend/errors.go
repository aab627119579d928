package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// writeJSON writes v as the JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"detail":"Internal Server Error"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func marshal(v any) ([]byte, error) {
	var s strings.Builder
	enc := json.NewEncoder(&s)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// detail is the body of every error response, as FastAPI's HTTPException writes it.
type detail struct {
	Detail string `json:"detail"`
}

// writeError writes {"detail": msg} with status; a 503 also says Retry-After: 1.
func writeError(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, detail{msg})
}

// dbFailure is how a database error is answered.
type dbFailure struct {
	status int
	detail string
	// unexpected marks a failure that is a bug (or a schema the backend did not make), not
	// an outage: it is logged.
	unexpected bool
	// healthy marks a 503 after which the connection is still good: the statement failed,
	// not the connection or the server behind it.
	healthy bool
}

// classify maps a database error to a response. Everything that can happen during a
// failover or an outage is a 503: connection errors of any kind (refused, reset, closed,
// PgBouncer's 08P01 refusals), admin_shutdown and friends (57P0x), read-only (25006: HAProxy
// still routes to a demoted primary), too many connections (53xxx), serialization failures,
// a missing table (42P01: not created yet), the request's timeout and pool acquire timeouts.
// Bad values that got past validation are 422s; any other server error is a 500.
func classify(err error, timeout string) dbFailure {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		switch {
		case code == "42P01":
			return dbFailure{status: 503, detail: "The notes table does not exist yet: the backend creates it as soon as the primary answers. Retry shortly.", healthy: true}
		case code == "25006":
			return dbFailure{status: 503, detail: "The database is read-only (SQLSTATE 25006): a failover is in progress. Retry shortly."}
		case strings.HasPrefix(code, "57P"):
			return dbFailure{status: 503, detail: "The database is shutting down or starting up (SQLSTATE " + code + "). Retry shortly."}
		case strings.HasPrefix(code, "08"):
			return dbFailure{status: 503, detail: "The database connection failed (SQLSTATE " + code + "). Retry shortly."}
		case strings.HasPrefix(code, "53"):
			return dbFailure{status: 503, detail: "The database is out of resources (SQLSTATE " + code + "). Retry shortly."}
		case code == "40001" || code == "40P01":
			return dbFailure{status: 503, detail: "The transaction conflicted with another (SQLSTATE " + code + "). Retry.", healthy: true}
		case code == "57014":
			return dbFailure{status: 503, detail: "The query was cancelled (SQLSTATE 57014). Retry shortly.", healthy: true}
		case strings.HasPrefix(code, "22") || code == "23502":
			return dbFailure{status: 422, detail: "The database rejected the value: " + pgErr.Message + "."}
		default:
			return dbFailure{status: 500, detail: "Internal Server Error", unexpected: true}
		}
	}
	var scanErr pgx.ScanArgError
	switch {
	case errors.As(err, &scanErr):
		// A row the backend cannot read: a table of another shape than it expects.
		return dbFailure{status: 500, detail: "Internal Server Error", unexpected: true}
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		return dbFailure{status: 503, detail: "The database did not answer within " + timeout + ". Retry shortly."}
	case errors.Is(err, context.Canceled):
		return dbFailure{status: 503, detail: "The request was cancelled."}
	default:
		// Dial errors, resets, EOFs, closed connections and a closed pool: all mean that no
		// database is there to answer right now.
		return dbFailure{status: 503, detail: "The database is unreachable. Retry shortly."}
	}
}
