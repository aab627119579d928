package workload

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/pgtest"
)

// TestProbe runs the libpq probe (the real psql) against a real primary: asked for read-write
// it gets a session there and names the member; asked for read-only it keeps retrying, with
// libpq's own reason as its last error, until it is stopped.
func TestProbe(t *testing.T) {
	pg := pgtest.StartPostgres(t)
	cfg := loopbackConfig(pg)
	from := time.Now()

	rw := StartProbe(context.Background(), cfg, ReadWrite, from).Wait(30 * time.Second)
	if rw.Connected.IsZero() || rw.Server != "n1" || rw.Port != pg.Port || rw.Attrs != ReadWrite || !rw.From.Equal(from) {
		t.Fatalf("read-write probe of a primary: %+v, want a session on n1", rw)
	}

	ro := StartProbe(context.Background(), cfg, ReadOnly, from).Wait(2 * time.Second)
	if !ro.Connected.IsZero() || ro.Attempts < 2 {
		t.Fatalf("read-only probe of a primary: %+v, want no session after several attempts", ro)
	}
	if !strings.Contains(ro.LastErr, "session is not read-only") {
		t.Errorf("read-only probe's last error %q, want libpq's reason", ro.LastErr)
	}
	if strings.Contains(ro.LastErr, pg.SuperuserPassword()) {
		t.Error("the probe's error holds the password")
	}

	// A wrong password is a failed attempt, told as libpq tells it.
	cfg.Password = "wrong-password-for-the-test"
	bad := StartProbe(context.Background(), cfg, ReadWrite, from).Wait(time.Second)
	if !bad.Connected.IsZero() || !strings.Contains(bad.LastErr, "password authentication failed") {
		t.Errorf("probe with a wrong password: %+v", bad)
	}
}
