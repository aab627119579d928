package pgbackrest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/artifact"
)

func withBackup() *model.Cluster {
	c := modeltest.Cluster()
	c.Backup = &model.Backup{
		Stanza: "main", Bucket: "pghac-test", Endpoint: model.YandexStorageEndpoint, Port: 443, Region: model.YandexStorageRegion,
		Path:          "/pgbackrest",
		Full:          model.Schedule{Calendar: "Sun *-*-* 03:00:00", Written: "Sun 03:00", Weekdays: []time.Weekday{0}},
		Partial:       model.Schedule{Calendar: "Mon,Tue,Wed,Thu,Fri,Sat *-*-* 03:00:00", Written: "Mon..Sat 03:00", Weekdays: []time.Weekday{1, 2, 3, 4, 5, 6}},
		PartialType:   "diff",
		RetentionDays: 14, ArchiveTimeout: time.Minute, ArchiveQueueMax: 2 << 30, Compression: "zst", CompressLevel: 3,
	}
	return c
}

func part(t *testing.T, c *model.Cluster) map[string]artifact.NodeFile {
	t.Helper()
	p, err := NodePart(c, c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]artifact.NodeFile{}
	for _, f := range p.Files {
		files[f.Path] = f
	}
	return files
}

func TestNothingWithoutBackups(t *testing.T) {
	p, err := NodePart(modeltest.Cluster(), modeltest.Cluster().Nodes[0])
	if err != nil || len(p.Files) != 0 || len(p.Boot) != 0 {
		t.Errorf("backups off: %+v, %v", p, err)
	}
}

// TestConfigAccepted: the real pgBackRest reads the rendered configuration without a
// complaint about any option, and gets as far as the repository (unreachable here).
func TestConfigAccepted(t *testing.T) {
	if _, err := exec.LookPath("pgbackrest"); err != nil {
		t.Skip("pgbackrest is not installed (make deps)")
	}
	for _, typ := range []string{"zst", "lz4"} {
		c := withBackup()
		c.Backup.Compression = typ
		conf := part(t, c)[ConfigPath]
		if conf.Mode != 0o640 || conf.Owner != "root:postgres" {
			t.Errorf("%s: mode %o owner %s; the key pair must not be world-readable", ConfigPath, conf.Mode, conf.Owner)
		}
		body := strings.NewReplacer(model.SecretBackupAccessKey.Placeholder(), "AKIDTEST", model.SecretBackupSecretKey.Placeholder(), "SECRETTEST").Replace(string(conf.Bytes))
		dir := t.TempDir()
		f := filepath.Join(dir, "pgbackrest.conf")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// A closed port on loopback stands in for the endpoint: the test needs no network.
		out, err := exec.CommandContext(ctx, "pgbackrest", "--config="+f, "--stanza=main", "--log-path="+dir, "--lock-path="+dir,
			"--repo1-s3-endpoint=127.0.0.1", "--repo1-storage-port=1", "--io-timeout=2", "info").CombinedOutput()
		cancel()
		// info reports an unreachable repository in its output, and may exit 0 doing so.
		_ = err
		if regexp.MustCompile(`(?i)invalid|not valid|unknown|must be`).Match(out) || !strings.Contains(string(out), "127.0.0.1") {
			t.Errorf("%s: pgBackRest did not take the configuration:\n%s", typ, out)
		}
		if strings.Contains(string(out), "SECRETTEST") {
			t.Errorf("pgBackRest printed the secret key")
		}
	}
}

// TestTimers: systemd reads each timer's calendar expression as the schedule written in
// cluster.hcl, and the backup type a timer starts is the schedule's.
func TestTimers(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("no systemd-analyze")
	}
	c := withBackup()
	files := part(t, c)
	calRE := regexp.MustCompile(`(?m)^OnCalendar=(.*)$`)
	for _, tt := range []struct{ unit, typ, weekday string }{
		{"pghac-backup-full.timer", "full", "Sun"},
		{"pghac-backup-diff.timer", "diff", "Mon"},
	} {
		f, ok := files[unitDir+tt.unit]
		if !ok {
			t.Fatalf("no %s", tt.unit)
		}
		if !strings.Contains(string(f.Bytes), "Unit=pghac-backup@"+tt.typ+".service\n") {
			t.Errorf("%s does not start a %s backup:\n%s", tt.unit, tt.typ, f.Bytes)
		}
		m := calRE.FindSubmatch(f.Bytes)
		if m == nil {
			t.Fatalf("%s has no OnCalendar", tt.unit)
		}
		// A fixed base time (a Sunday afternoon) keeps the test from depending on today's weekday.
		out, err := exec.Command("systemd-analyze", "calendar", "--base-time=2026-01-04 12:00:00 UTC", "--iterations=7", string(m[1])).CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze calendar %q: %v\n%s", m[1], err, out)
		}
		if !strings.Contains(string(out), "Next elapse: "+tt.weekday) || !strings.Contains(string(out), "03:00:00 UTC") {
			t.Errorf("%s: %q elapses:\n%s", tt.unit, m[1], out)
		}
	}
	c.Backup.PartialType = "incr"
	if _, ok := part(t, c)[unitDir+"pghac-backup-incr.timer"]; !ok {
		t.Error("incremental backups have no pghac-backup-incr.timer")
	}
}
