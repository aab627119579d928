package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/pghac/pghac/internal/backup"
	"github.com/pghac/pghac/internal/remote"
)

// backupScript is the backup script every node has (emit/pgbackrest's ScriptPath), which acts
// only where the node leads the cluster.
const backupScript = "/usr/local/lib/pghac/pghac-backup"

// BackupTypes are the types `pghac backup now` takes.
var BackupTypes = []string{"full", "diff", "incr"}

// ErrBackupsOff: the cluster file turns backups off.
var ErrBackupsOff = errors.New("backups are off in the cluster file (backup { enabled = false })")

// leader connects to the node that leads the cluster.
func (f Fleet) leader(ctx context.Context) (string, *remote.Client, error) {
	if f.Cluster.Backup == nil {
		return "", nil, ErrBackupsOff
	}
	pc, _, err := PatroniOf(f.Site, f.Cluster)
	if err != nil {
		return "", nil, err
	}
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("Patroni does not answer; is the cluster up (pghac status)? %w", err)
	}
	m, ok := cl.Leader()
	if !ok {
		return "", nil, fmt.Errorf("the cluster has no leader now (pghac status): backups are taken on the leader")
	}
	nodes, err := NewNodes(f.Site, f.Cluster)
	if err != nil {
		return "", nil, err
	}
	c, err := nodes.Dial(ctx, m.Name)
	if err != nil {
		return "", nil, err
	}
	return m.Name, c, nil
}

// pgbackrest is the command line of pgBackRest as postgres for the cluster's stanza.
func (f Fleet) pgbackrest(args string) string {
	return "runuser -u postgres -- pgbackrest --stanza=" + f.Cluster.Backup.Stanza + " " + args
}

// BackupNow takes a backup of typ (BackupTypes) on the leader with the nodes' own backup
// script, pgBackRest's progress written to out as it comes, and returns the leader's name.
func (f Fleet) BackupNow(ctx context.Context, typ string, out io.Writer) (string, error) {
	if !slices.Contains(BackupTypes, typ) {
		return "", fmt.Errorf("backup type %q: want one of full, diff, incr", typ)
	}
	name, c, err := f.leader(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return name, c.Stream(ctx, "runuser -u postgres -- "+backupScript+" "+typ, out)
}

// Backups reads the repository (pgbackrest info) and the archiver on the leader.
func (f Fleet) Backups(ctx context.Context) (backup.Report, error) {
	name, c, err := f.leader(ctx)
	if err != nil {
		return backup.Report{}, err
	}
	defer c.Close()
	b := backup.Report{Leader: name, QueueMax: f.Cluster.Backup.ArchiveQueueMax}
	out, err := c.Run(ctx, f.pgbackrest("--output=json info"), nil)
	if err == nil {
		b.Info, err = backup.ParseInfo(out, f.Cluster.Backup.Stanza)
	}
	b.InfoErr = err
	out, err = c.Run(ctx, backup.ArchiverCommand(f.Cluster.OS.DataDir), nil)
	if err == nil {
		b.Archiver, err = backup.ParseArchiver(out)
	}
	b.ArchiverErr = err
	return b, nil
}

// VerifyBackups proves the repository works, on the leader: pgbackrest check (the stanza's
// settings agree with the database, and a WAL segment switched now reaches the repository),
// then pgbackrest verify (every backup's and WAL segment's checksums in the repository).
// pgBackRest's output goes to out as it comes; it returns the leader's name.
func (f Fleet) VerifyBackups(ctx context.Context, out io.Writer) (string, error) {
	name, c, err := f.leader(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Stream(ctx, f.pgbackrest("check"), out); err != nil {
		return name, fmt.Errorf("pgbackrest check: %w", err)
	}
	if err := c.Stream(ctx, f.pgbackrest("verify"), out); err != nil {
		return name, fmt.Errorf("pgbackrest verify: %w", err)
	}
	return name, nil
}
