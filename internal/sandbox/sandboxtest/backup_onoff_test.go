package sandboxtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/drill"
	"github.com/pghac/pghac/internal/drill/workload"
)

// checkBackupsOffOn turns backups off and on again on the running cluster, through pghac up's
// rollout, as an operator would with `enabled = false` in cluster.hcl and back. Off: every
// node's backup timers are stopped and gone, and PostgreSQL archives no more. On again: the
// timers are back, archiving is on, and a new full backup is taken at once (the WAL of the
// time off was never archived, so no older backup recovers past it). The data stays: the
// drills' writers run through both rollouts, and every write they had acknowledged is there.
func checkBackupsOffOn(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	before := lastBackup(ctx, t, c)
	// The drills' writers run through both rollouts: every write acknowledged must be there.
	load := workload.Config{PrimaryPort: c.Model.HAProxy.PrimaryPort, ReplicaPort: c.Model.HAProxy.ReplicaPort,
		User: appRole, Password: c.secret(t, model.RolePassword(appRole)), Database: appRole, CACert: c.caPath()}
	for i, n := range c.Model.Nodes {
		load.Nodes = append(load.Nodes, workload.Node{Name: n.Name, Addr: c.Addresses()[i]})
	}
	if err := workload.Prepare(ctx, load); err != nil {
		t.Fatal(err)
	}
	writes := workload.Start(ctx, load)
	defer func() {
		if writes != nil {
			writes.Stop()
		}
	}()
	editCluster(t, c, func(src string) string {
		return strings.Replace(src, "backup {\n", "backup {\n    enabled = false\n", 1)
	})
	out, err := c.Run(ctx, "up")
	if err != nil {
		t.Fatalf("pghac up with backups turned off: %v\n%s", err, out)
	}
	for _, want := range []string{"removed  /etc/systemd/system/pghac-backup-full.timer", "removed  /usr/local/lib/pghac/pghac-wal-get",
		"postgresql.parameters.archive_mode: on -> (unset)", "Rolled out in", "Healthy"} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac up turning backups off: the output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("backups off: %s", rolledOut(out))
	primary := c.Model.HAProxy.PrimaryPort
	if out, err := c.PSQL(ctx, c.Addresses()[0], primary, "", "INSERT INTO seed VALUES (20, 'written with backups off')"); err != nil {
		t.Fatalf("INSERT with backups off: %v\n%s", err, out)
	}
	for i, n := range c.Model.Nodes {
		if got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SHOW archive_mode"); err != nil || got != "off" {
			t.Errorf("%s: archive_mode %q, %v with backups off", n.Name, got, err)
		}
		if timers, err := c.Exec(ctx, n.Name, "sh", "-c", "ls /etc/systemd/system/pghac-backup* 2>/dev/null; systemctl list-timers --all --no-legend 'pghac-backup*'"); err != nil || strings.TrimSpace(timers) != "" {
			t.Errorf("%s: backup units left with backups off (%v):\n%s", n.Name, err, timers)
		}
	}

	editCluster(t, c, func(src string) string { return strings.Replace(src, "    enabled = false\n", "", 1) })
	out, err = c.Run(ctx, "up")
	if err != nil {
		t.Fatalf("pghac up with backups turned on again: %v\n%s", err, out)
	}
	for _, want := range []string{"added    /etc/systemd/system/pghac-backup-full.timer", "postgresql.parameters.archive_mode: (unset) -> on",
		"a full backup runs on the leader now", "Healthy"} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac up turning backups on again: the output lacks %q:\n%s", want, out)
		}
	}
	for i, n := range c.Model.Nodes {
		if got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT note FROM seed WHERE id = 20"); err != nil || got != "written with backups off" {
			t.Errorf("%s: the row written with backups off: %q, %v", n.Name, got, err)
		}
		if active, err := c.Exec(ctx, n.Name, "systemctl", "is-active", "pghac-backup-full.timer", "pghac-backup-diff.timer", "pghac-backup-ensure.timer"); err != nil || strings.Count(active, "active") != 3 {
			t.Errorf("%s: backup timers with backups on again: %v\n%s", n.Name, err, active)
		}
	}
	t.Logf("backups on again: %s", rolledOut(out))
	acked, lost := checkWritesKept(ctx, t, load, writes)
	writes = nil
	t.Logf("writes through both rollouts: %d acknowledged, %d lost", acked, lost)
	deadline := time.Now().Add(3 * time.Minute)
	for now := lastBackup(ctx, t, c); now.Label == before.Label || now.Type != "full"; now = lastBackup(ctx, t, c) {
		if time.Now().After(deadline) {
			t.Fatalf("no new full backup 3 minutes after backups were turned on again: the last is %+v (before: %+v)", now, before)
		}
		time.Sleep(5 * time.Second)
	}
	if out, err := c.Run(ctx, "backup", "verify"); err != nil {
		t.Errorf("pghac backup verify with backups on again: %v\n%s", err, out)
	}
}

// lastBackup is pghac status's last backup (zero when there is none or status cannot tell).
func lastBackup(ctx context.Context, t *testing.T, c *Cluster) (last struct{ Label, Type string }) {
	t.Helper()
	out, _ := c.Run(ctx, "status", "--json")
	var st struct {
		Backups *struct {
			LastBackup *struct{ Label, Type string } `json:"last_backup"`
		} `json:"backups"`
	}
	if err := json.Unmarshal([]byte(out), &st); err == nil && st.Backups != nil && st.Backups.LastBackup != nil {
		last = *st.Backups.LastBackup
	}
	return last
}

// rolledOut is the "Rolled out in ..." line of pghac up's output.
func rolledOut(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Rolled out in") {
			return strings.TrimSpace(l)
		}
	}
	return "(no rollout line)"
}

// checkWritesKept stops the load and checks that every write it had acknowledged is in the
// table; it returns how many were acknowledged and how many of those are missing.
func checkWritesKept(ctx context.Context, t *testing.T, cfg workload.Config, l *workload.Load) (acked, lost int) {
	t.Helper()
	ws, _ := l.Stop()
	ids, _, err := workload.FinalIDs(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	have := make(map[int64]bool, len(ids))
	for _, id := range ids {
		have[id] = true
	}
	for _, w := range ws {
		if w.Outcome != drill.Acked {
			continue
		}
		acked++
		if !have[w.ID] {
			lost++
		}
	}
	if acked == 0 || lost > 0 {
		t.Errorf("%d writes acknowledged, %d of them lost", acked, lost)
	}
	return acked, lost
}
