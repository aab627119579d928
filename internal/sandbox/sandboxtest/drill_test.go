package sandboxtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/drill"
)

// checkDrills runs CI's subset of the drills on the real sandbox: a leader crash and a
// switchover (issue 6), a reload-type and a restart-type change rolled out (issue 14), a
// restore to a point in time (issue 15), once each, under write and read load. Any lost or
// split-brain write fails the test, as does a run the checker could not trust or a
// cluster that did not become whole again. The outage limits are speed goals: their
// figures are logged here and measured in BENCHMARKS.md, not asserted on a machine that
// runs other tests at the same time.
func checkDrills(t *testing.T, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	scenarios := []string{"leader-crash", "switchover", "rollout-reload", "rollout-restart", "rotate-tls", "rotate-ca", "restore"}
	// Whether the leader must change: a reload rolled out keeps it. A restore may go either
	// way: it restores on the leader, whose Patroni takes the lock again.
	failover := map[string]bool{"leader-crash": true, "switchover": true, "rollout-reload": false, "rollout-restart": true, "rotate-tls": false, "rotate-ca": false}
	out, err := c.Run(ctx, append([]string{"drill", "--report", dir}, scenarios...)...)
	var exit *exec.ExitError
	// 1 is a broken invariant or limit: the reports below say which; anything else
	// means the drill did not run to its end.
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("pghac drill: %v\n%s", err, out)
	}
	t.Logf("pghac drill %s:\n%s", strings.Join(scenarios, " "), out)
	for _, name := range scenarios {
		f, err := os.Open(filepath.Join(dir, name+"-1.history.json"))
		if err != nil {
			t.Fatal(err)
		}
		h, err := drill.ReadHistory(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// Judged again from the recorded history, so that the test checks the data,
		// not only the command's own verdict.
		r := drill.Check(h, drill.Limits{AllowFailover: true})
		switch {
		case len(r.InputErrors) > 0:
			t.Errorf("%s: the history cannot be checked: %v", name, r.InputErrors)
		case r.Writes.Acked < 100:
			t.Errorf("%s: only %d writes acknowledged: the load did not run", name, r.Writes.Acked)
		case r.Writes.Lost != 0 || r.Writes.SplitBrain != 0:
			t.Errorf("%s: %d acknowledged writes lost, %d split-brain: %v", name, r.Writes.Lost, r.Writes.SplitBrain, r.Violations())
		case !r.Recovery.Recovered:
			t.Errorf("%s: the cluster did not become healthy again", name)
		case failover[name] && r.Leadership.Failovers < 1:
			t.Errorf("%s: the leader never changed: %v", name, r.Leadership.Leaders)
		case !failover[name] && name != "restore" && r.Leadership.Failovers != 0:
			t.Errorf("%s: the leader changed: %v", name, r.Leadership.Leaders)
		case name == "restore" && (r.Writes.Discarded == 0 || len(r.Writes.Resurrected) != 0):
			// Writes acknowledged after the target must go, or the restore restored nothing.
			t.Errorf("restore: %d writes after the target discarded, %d resurrected: %v", r.Writes.Discarded, len(r.Writes.Resurrected), r.Violations())
		}
		// libpq clients (multi-host strings, target_session_attrs) get their sessions. The
		// drill's own limit is a few seconds; here, on a machine running other tests too, a
		// generous bound still tells a stale pooler (never) from a slow one.
		if len(r.Libpq) != 2 {
			t.Errorf("%s: %d libpq probes, want read-write and read-only", name, len(r.Libpq))
		}
		for _, p := range r.Libpq {
			switch {
			case !p.Connected:
				t.Errorf("%s: libpq target_session_attrs=%s through :%d never got a session (%d attempts, last: %s)", name, p.Attrs, p.Port, p.Attempts, p.LastErr)
			case p.AfterRecovery.D() > 15*time.Second:
				t.Errorf("%s: libpq target_session_attrs=%s got its session %s after the recovery", name, p.Attrs, p.AfterRecovery)
			}
			t.Logf("%s: libpq %s reached %s in %s", name, p.Attrs, p.Server, p.Took)
		}
		t.Logf("%s: write outage %s, %d writes acknowledged, recovered in %s", name, r.Writes.Outage.Length, r.Writes.Acked, r.Recovery.Duration)
	}
	for _, f := range []string{"summary.txt", "report.html"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("report %s: %v", f, err)
		}
	}
}
