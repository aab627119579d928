package workload

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/backend/pgtest"
	"github.com/pghac/pghac/internal/drill"
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

	ro := stoppedProbe(t, cfg, ReadOnly, from)
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
	bad := stoppedProbe(t, cfg, ReadWrite, from)
	if !bad.Connected.IsZero() || !strings.Contains(bad.LastErr, "password authentication failed") {
		t.Errorf("probe with a wrong password: %+v", bad)
	}
}

// stoppedProbe runs a probe that is not to get a session and stops it once it has had time
// for one whole attempt and the start of the next (Attempts 2 or more), so that its last error
// is libpq's reason rather than a stop in the middle of its first attempt. An attempt starts
// psql, which can take seconds on a busy machine: the probe runs for 2 s, then, as long as it
// has not made two attempts, again for twice as long, up to 32 s.
func stoppedProbe(t *testing.T, cfg Config, attrs string, from time.Time) drill.LibpqProbe {
	t.Helper()
	for wait := 2 * time.Second; ; wait *= 2 {
		rec := StartProbe(context.Background(), cfg, attrs, from).Wait(wait)
		if !rec.Connected.IsZero() || rec.Attempts >= 2 || wait >= 32*time.Second {
			return rec
		}
		t.Logf("%s probe stopped after %s in attempt %d (last error %q): again, for longer", attrs, wait, rec.Attempts, rec.LastErr)
	}
}
