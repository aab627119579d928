package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestClassify covers the SQLSTATEs and error kinds that the database tests cannot all
// produce on demand.
func TestClassify(t *testing.T) {
	pgErr := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code, Message: "m"}) }
	tests := []struct {
		name    string
		err     error
		status  int
		healthy bool
	}{
		{"read-only", pgErr("25006"), 503, false},
		{"admin shutdown", pgErr("57P01"), 503, false},
		{"crash shutdown", pgErr("57P02"), 503, false},
		{"cannot connect now", pgErr("57P03"), 503, false},
		{"PgBouncer refusal", pgErr("08P01"), 503, false},
		{"connection failure", pgErr("08006"), 503, false},
		{"too many connections", pgErr("53300"), 503, false},
		{"table missing", pgErr("42P01"), 503, true},
		{"serialization failure", pgErr("40001"), 503, true},
		{"statement timeout", pgErr("57014"), 503, true},
		{"string too long", pgErr("22001"), 422, false},
		{"undefined column", pgErr("42703"), 500, false},
		{"deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), 503, false},
		{"client gone", context.Canceled, 503, false},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, 503, false},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), 503, false},
		{"EOF", io.ErrUnexpectedEOF, 503, false},
		{"scan", pgx.ScanArgError{ColumnIndex: 0, Err: errors.New("cannot scan NULL")}, 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify(tt.err, "5s")
			if f.status != tt.status || f.healthy != tt.healthy || f.detail == "" {
				t.Errorf("classify(%v) = %+v, want status %d healthy %v", tt.err, f, tt.status, tt.healthy)
			}
			if f.unexpected != (tt.status == 500) {
				t.Errorf("classify(%v).unexpected = %v, want it for 500s only", tt.err, f.unexpected)
			}
		})
	}
}
