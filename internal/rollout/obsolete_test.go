package rollout

import (
	"slices"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/backend"
	"github.com/pghac/pghac/emit/patroni"
	"github.com/pghac/pghac/emit/pgbackrest"
)

// TestObsoleteBackupFiles: the obsolete list is every file emit/pgbackrest writes but its
// configuration, for differential and incremental backups both, and nothing else.
func TestObsoleteBackupFiles(t *testing.T) {
	emitted := map[string]bool{}
	for _, typ := range []string{"diff", "incr"} {
		c := modeltest.Cluster()
		c.Backup = &model.Backup{Stanza: "main", Bucket: "b", Endpoint: model.YandexStorageEndpoint, Port: 443,
			Region: model.YandexStorageRegion, Path: "/pgbackrest", PartialType: typ, RetentionDays: 14,
			Full:    model.Schedule{Calendar: "Sun *-*-* 03:00:00"},
			Partial: model.Schedule{Calendar: "Mon *-*-* 03:00:00"}, Compression: "zst", CompressLevel: 3}
		p, err := pgbackrest.NodePart(c, c.Nodes[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Files {
			if f.Path != pgbackrest.ConfigPath {
				emitted[f.Path] = true
			}
		}
	}
	for p := range emitted {
		if !slices.Contains(obsolete, p) {
			t.Errorf("emit/pgbackrest writes %s, which a rollout would leave behind when backups are turned off", p)
		}
	}
	for _, p := range obsolete {
		if !emitted[p] {
			t.Errorf("obsolete lists %s, which emit/pgbackrest does not write", p)
		}
	}
}

// TestPaths: the paths this package knows by name are where the emit families put them.
func TestPaths(t *testing.T) {
	for _, p := range []struct{ ours, emitted string }{
		{patroniConfig, patroni.ConfigPath},
		{postBootstrapScript, patroni.PostBootstrapPath},
		{etcd3FixScript, patroni.Etcd3FixPath},
		{pgbackrestConfig, pgbackrest.ConfigPath},
		{backendInstallScript, backend.InstallPath},
	} {
		if p.ours != p.emitted {
			t.Errorf("rollout knows %s, emit writes %s", p.ours, p.emitted)
		}
	}
}
