package pgbackrest

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"text/template"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

// Paths on a node.
const (
	// ConfigPath is pgBackRest's default configuration file.
	ConfigPath = "/etc/pgbackrest/pgbackrest.conf"
	// ScriptPath is the backup script the timers (and pghac backup now) run as postgres.
	ScriptPath = "/usr/local/lib/pghac/pghac-backup"
	// WALGetPath is the replicas' restore_command (model.WALGetCommand).
	WALGetPath = "/usr/local/lib/pghac/pghac-wal-get"
	// ServiceUnit is the backup service template; its instance is the backup type.
	ServiceUnit = "pghac-backup@.service"
	SpoolPath   = "/var/spool/pgbackrest"
	LogPath     = "/var/log/pgbackrest"
	lockFile    = "/var/lib/postgresql/.pghac-backup.lock"
	unitDir     = "/etc/systemd/system/"
)

// Timers are the backup timers, by unit name: the full and partial schedules, and "ensure",
// which takes a first full backup soon after the cluster (or its backups) start.
func Timers(b *model.Backup) []string {
	return []string{"pghac-backup-ensure.timer", "pghac-backup-full.timer", "pghac-backup-" + b.PartialType + ".timer"}
}

// walGetLater is how many later segments of its timeline the archive must hold before
// pghac-wal-get serves a segment to a replica: 64 MB, which the primary keeps anyway
// (the compiler's wal_keep_size is at least 128 MB).
const walGetLater = 4

//go:embed templates
var templates embed.FS

var tmpl = template.Must(template.New("").Option("missingkey=error").ParseFS(templates, "templates/*.tmpl"))

// timer is one backup timer.
type timer struct {
	Unit, Type, Description, Why string
	When                         []string
	Persistent                   bool
}

// NodePart returns pgBackRest's part of node n: its configuration, the backup script, service
// and timers, and the boot lines that make its folders and start the timers. Nothing when
// backups are off.
func NodePart(c *model.Cluster, n model.Node) (artifact.NodePart, error) {
	b := c.Backup
	if b == nil {
		return artifact.NodePart{}, nil
	}
	data := map[string]any{
		"Node": n.Name, "Stanza": b.Stanza, "Bucket": b.Bucket, "Endpoint": b.Endpoint, "Port": b.Port, "Addr": b.Addr(),
		"Region": b.Region, "Path": b.Path, "RetentionDays": b.RetentionDays,
		"AccessKey": model.SecretBackupAccessKey.Placeholder(), "SecretKey": model.SecretBackupSecretKey.Placeholder(),
		"Compression": b.Compression, "CompressLevel": b.CompressLevel,
		"SpoolPath": SpoolPath, "LogPath": LogPath, "QueueMax": strconv.FormatInt(b.ArchiveQueueMax, 10),
		"DataDir": c.OS.DataDir, "PgPort": c.Postgres.Port, "SocketDir": "/var/run/postgresql",
		"PrimaryURL": "http://" + n.AddrPort(c.Patroni.RestAPIPort).String() + "/primary",
		"LockFile":   lockFile, "Script": ScriptPath, "Later": walGetLater,
	}
	partial := "differential"
	if b.PartialType == "incr" {
		partial = "incremental"
	}
	timers := []timer{
		{Type: "ensure", Description: "First full pgBackRest backup of cluster " + b.Stanza + " (when the repository has none)",
			Why:  "Soon after boot, and then every quarter of an hour: a full backup when the repository has none yet\n# (a new cluster, backups just turned on), so that recovery does not wait for the schedule.",
			When: []string{"OnBootSec=2min", "OnUnitInactiveSec=15min"}},
		{Type: "full", Description: "Full pgBackRest backup of cluster " + b.Stanza + " (" + b.Full.Written + " UTC)",
			Why:  "Full backups: " + b.Full.Written + " UTC (cluster.hcl backup.full).",
			When: []string{"OnCalendar=" + b.Full.Calendar}, Persistent: true},
		{Type: b.PartialType, Description: strings.ToUpper(partial[:1]) + partial[1:] + " pgBackRest backup of cluster " + b.Stanza + " (" + b.Partial.Written + " UTC)",
			Why:  strings.ToUpper(partial[:1]) + partial[1:] + " backups: " + b.Partial.Written + " UTC (cluster.hcl backup." + partial + ").",
			When: []string{"OnCalendar=" + b.Partial.Calendar}, Persistent: true},
	}
	for i, name := range Timers(b) {
		timers[i].Unit = name
	}

	var files []artifact.NodeFile
	add := func(name, path, owner string, mode fs.FileMode, data any) error {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return fmt.Errorf("pgbackrest: %s: %w", path, err)
		}
		files = append(files, artifact.NodeFile{Path: path, Owner: owner, Mode: mode, Bytes: buf.Bytes()})
		return nil
	}
	// 0640: the file holds the repository's key pair once rendered; postgres runs pgBackRest.
	if err := add("pgbackrest.conf.tmpl", ConfigPath, "root:postgres", 0o640, data); err != nil {
		return artifact.NodePart{}, err
	}
	if err := add("pghac-backup.sh.tmpl", ScriptPath, "root:root", 0o755, data); err != nil {
		return artifact.NodePart{}, err
	}
	if err := add("pghac-wal-get.sh.tmpl", WALGetPath, "root:root", 0o755, data); err != nil {
		return artifact.NodePart{}, err
	}
	if err := add("pghac-backup@.service.tmpl", unitDir+ServiceUnit, "root:root", 0o644, data); err != nil {
		return artifact.NodePart{}, err
	}
	for _, t := range timers {
		if err := add("timer.tmpl", unitDir+t.Unit, "root:root", 0o644, t); err != nil {
			return artifact.NodePart{}, err
		}
	}
	return artifact.NodePart{
		Files: files,
		Boot: []string{
			"install -d -o postgres -g postgres -m 0750 " + SpoolPath + " " + LogPath,
			"systemctl daemon-reload",
			"systemctl enable --now " + strings.Join(Timers(b), " "),
		},
	}, nil
}
