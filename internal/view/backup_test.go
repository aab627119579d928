package view

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/backup"
)

func TestBackups(t *testing.T) {
	stop := time.Date(2026, 12, 7, 3, 0, 40, 0, time.UTC)
	r := backup.Report{
		Leader: "node0",
		Info: backup.Info{Stanza: "main", Backups: []backup.Backup{
			{Label: "20261207-030000F", Type: "full", Start: stop.Add(-40 * time.Second), Stop: stop, Size: 1 << 30, RepoSize: 300 << 20, RepoDelta: 300 << 20},
		}},
		Archiver: backup.Archiver{LastArchived: stop.Add(time.Hour), Now: stop.Add(time.Hour + 5*time.Second)},
		QueueMax: 1 << 30,
	}
	var b strings.Builder
	Backups(&b, "cluster main in s3://b/pgbackrest at storage.yandexcloud.net:443", r)
	for _, want := range []string{
		"Backups of cluster main in s3://b/pgbackrest at storage.yandexcloud.net:443, asked on node0 (the leader)",
		"20261207-030000F  full  2026-12-07 03:00:00  40s   1.0 GiB   300.0 MiB",
		"Point-in-time recovery reaches from 2026-12-07 03:00:40 to 2026-12-07 04:00:45 (now) UTC.",
		"WAL archive: last segment archived 5s ago; 0 segments waiting.",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "problems") {
		t.Errorf("problems without any:\n%s", b.String())
	}

	// A bucket that refuses, and an archiver failing with WAL piling up.
	r.Info = backup.Info{Stanza: "main", Code: 99, Message: "other", RepoMessage: "[HostConnectError] unable to connect"}
	r.Archiver = backup.Archiver{LastArchived: stop, LastFailed: stop.Add(time.Minute), LastFailedWAL: "00000001000000000000000A",
		Now: stop.Add(2 * time.Minute), Waiting: 40}
	b.Reset()
	BackupSummary(&b, r, stop.Add(2*time.Minute))
	for _, want := range []string{
		"Backups: WAL archive: last segment archived 2m0s ago, 40 segments waiting.",
		"Backup problems:\n  - the backup repository cannot be used: [HostConnectError] unable to connect",
		"  - WAL archiving fails (last failure 1m0s ago, on 00000001000000000000000A; last success 2m0s ago); 640.0 MiB of WAL waits",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
	js := BackupJSON(&backup.Report{Leader: "node0", InfoErr: errors.New("ssh: no route")}, stop)
	if js.LastBackup != nil || len(js.Problems) != 1 || !strings.Contains(js.Problems[0], "no route") {
		t.Errorf("json with an unreachable leader: %+v", js)
	}
}
