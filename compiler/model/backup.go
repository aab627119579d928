package model

import (
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Backup is the cluster's pgBackRest setup: one stanza, named after the cluster, whose
// repository is a path in an S3 bucket; WAL archived continuously from the primary; full and
// differential (or incremental) backups on a schedule, taken on whichever node leads.
type Backup struct {
	// Stanza is pgBackRest's name for the cluster's repository and settings.
	Stanza string
	// Repository: where the backups and the WAL archive live.
	Bucket string
	// Endpoint is the S3 host (no scheme): storage.yandexcloud.net in the cloud, the host's
	// bridge address in the sandbox, which serves an S3 of its own there.
	Endpoint string
	Port     int
	Region   string
	// Path is the repository's folder in the bucket.
	Path string

	// Full and Partial are systemd calendar expressions (OnCalendar=) of the backups;
	// PartialType is pgBackRest's type of the partial ones: "diff" or "incr".
	Full        Schedule
	Partial     Schedule
	PartialType string
	// RetentionDays is how far back a restore can go: pgBackRest keeps the full backups (and
	// the backups and WAL that depend on them) that reach that far (retention type time).
	RetentionDays int
	// ArchiveTimeout forces a WAL segment switch on an idle primary, bounding how much an
	// idle cluster can lose with its disks.
	ArchiveTimeout time.Duration
	// ArchiveQueueMax is how much WAL the asynchronous archiver keeps on a node while the
	// bucket does not take it. Beyond it pgBackRest drops WAL (a gap in point-in-time
	// recovery, which status reports) rather than fill the disk and stop the database.
	ArchiveQueueMax int64
	// Compression is pgBackRest's compress-type (zst, lz4, gz, bz2, none) at CompressLevel.
	Compression   string
	CompressLevel int
	// DeletionProtection: the cloud refuses to delete the KMS key that encrypts the backups and
	// the Lockbox secret of their key pair until it is lifted (yandex).
	DeletionProtection bool
	DeclRange          hcl.Range
}

// Schedule is when a backup runs: a systemd calendar expression and the weekdays it fires on
// (for the checks that compare schedules and retention).
type Schedule struct {
	// Calendar is the expression as systemd takes it, e.g. "Sun *-*-* 03:00:00".
	Calendar string
	// Written is the expression as cluster.hcl wrote it ("Sun 03:00"), for messages.
	Written string
	// Weekdays are the days it fires on, 0 = Sunday, sorted.
	Weekdays []time.Weekday
}

// Addr is the S3 endpoint's host:port.
func (b Backup) Addr() string { return net.JoinHostPort(b.Endpoint, strconv.Itoa(b.Port)) }

// The backup repository of both targets. Yandex Object Storage answers path-style requests
// at its one endpoint, region ru-central1.
const (
	YandexStorageEndpoint = "storage.yandexcloud.net"
	YandexStorageRegion   = "ru-central1"
	// SandboxS3Port is where the sandbox's S3 server listens on the host's bridge address
	// (internal/sandbox), with TLS: pgBackRest talks to S3 only over TLS.
	SandboxS3Port = 9443
)

// WALGetCommand is the replicas' restore_command: emit/pgbackrest writes the script, the
// Patroni configuration and pgBackRest's standby restores name it. It fetches WAL from the
// archive, but never the last segments of a timeline (the script's comment says why).
const WALGetCommand = "/usr/local/lib/pghac/pghac-wal-get %f \"%p\""

// Secrets of the backup repository: the S3 key pair pgBackRest signs its requests with. The
// sandbox generates them and gives them to its S3 server; in the cloud they are the backup
// service account's static access key.
const (
	SecretBackupAccessKey Secret = "backup_s3_access_key"
	SecretBackupSecretKey Secret = "backup_s3_secret_key"
)
