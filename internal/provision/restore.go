package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/backup"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/remote"
)

// RestoreTarget is where a restore takes the cluster: a point in time, or (Latest) the end of
// the WAL archive.
type RestoreTarget struct {
	Time   time.Time
	Latest bool
}

func (t RestoreTarget) String() string {
	if t.Latest {
		return "the end of the WAL archive"
	}
	return t.Time.UTC().Format(time.RFC3339)
}

// Restored is what Restore did.
type Restored struct {
	// Node is the node restored from the repository; the others were rebuilt from it.
	Node string
	// Backup is the label of the full backup taken of the restored cluster.
	Backup string
	Took   time.Duration
}

// CheckRestore refuses a target the repository cannot reach, changing nothing: it reads the
// repository and the archiver on the leader, and returns the report it judged by.
func (f Fleet) CheckRestore(ctx context.Context, t RestoreTarget) (backup.Report, error) {
	r, err := f.Backups(ctx)
	if err != nil {
		return r, err
	}
	if r.InfoErr != nil {
		return r, fmt.Errorf("reading the repository: %w", r.InfoErr)
	}
	if p := r.Info.Problem(); p != "" {
		return r, errors.New(p)
	}
	if r.ArchiverErr != nil {
		return r, fmt.Errorf("reading the WAL archiver: %w", r.ArchiverErr)
	}
	if t.Latest {
		if _, ok := r.Info.Last(); !ok {
			return r, fmt.Errorf("the repository holds no backup: there is nothing to restore")
		}
		return r, nil
	}
	return r, r.Info.CheckTarget(t.Time, r.Archiver)
}

// Restore brings the whole cluster back to t from the backup repository, discarding every
// write after it: Patroni stopped on every node (replicas first), the cluster's state removed
// from etcd, the leader's data restored to t by pgBackRest and replayed to it by a PostgreSQL
// of its own, which promotes (a new timeline); then Patroni started there, which makes the
// node the leader of the cluster again; a full backup of the restored cluster (the older
// ones are of another timeline past t); and the other nodes emptied and started, which
// restore that backup from the repository as replicas. log gets each step; out
// pgBackRest's output.
func (f Fleet) Restore(ctx context.Context, t RestoreTarget, log func(string), out io.Writer) (Restored, error) {
	start := time.Now()
	b := f.Cluster.Backup
	if b == nil {
		return Restored{}, ErrBackupsOff
	}
	pc, _, err := PatroniOf(f.Site, f.Cluster)
	if err != nil {
		return Restored{}, err
	}
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return Restored{}, fmt.Errorf("Patroni does not answer; is the cluster up (pghac status)? %w", err)
	}
	// The leader's data is the newest: pgBackRest's delta restore rewrites the least there.
	target := f.Cluster.Nodes[0].Name
	if m, ok := cl.Leader(); ok {
		target = m.Name
	}
	nodes, err := NewNodes(f.Site, f.Cluster)
	if err != nil {
		return Restored{}, err
	}
	conns := map[string]*remote.Client{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, n := range f.Cluster.NodeNames() {
		c, err := nodes.Dial(ctx, n)
		if err != nil {
			return Restored{}, fmt.Errorf("every node takes part in a restore: %w", err)
		}
		conns[n] = c
	}
	others := slices.DeleteFunc(f.Cluster.NodeNames(), func(n string) bool { return n == target })

	log("stopping Patroni (and PostgreSQL) on " + strings.Join(append(slices.Clone(others), target), ", ") + ", the leader last")
	for _, n := range append(slices.Clone(others), target) {
		if _, err := conns[n].Run(ctx, "systemctl stop patroni", nil); err != nil {
			return Restored{}, fmt.Errorf("stopping Patroni on %s: %w", n, err)
		}
	}
	scope := f.Cluster.Patroni.Namespace + f.Cluster.Patroni.Scope + "/"
	etcdNode := f.Cluster.EtcdNodes()[0].Name
	log("removing the cluster's state (" + scope + ") from etcd")
	if _, err := conns[etcdNode].Run(ctx, "etcdctl del --prefix "+remote.Quote(scope), nil); err != nil {
		return Restored{}, fmt.Errorf("removing %s from etcd on %s: %w", scope, etcdNode, err)
	}

	data := f.Cluster.OS.DataDir
	bin := f.Cluster.OS.BinDir
	asPostgres := "runuser -u postgres -- "
	// To the microsecond, as PostgreSQL compares commit times: a target cut to the second
	// would lose the writes of its last fraction.
	restore := "--delta --type=time --target=" + remote.Quote(t.Time.UTC().Format("2006-01-02 15:04:05.999999-07")) + " --target-action=promote"
	if t.Latest {
		restore = "--delta --type=default"
	}
	log(fmt.Sprintf("restoring %s to %s with pgBackRest", target, t))
	c := conns[target]
	if err := c.Stream(ctx, f.pgbackrest(restore+" restore"), out); err != nil {
		return Restored{}, fmt.Errorf("pgbackrest restore on %s: %w", target, err)
	}
	logFile := "/var/log/postgresql/pghac-restore.log"
	log("replaying WAL on " + target + " (PostgreSQL on its own, log " + logFile + ") until it promotes")
	if _, err := c.Run(ctx, asPostgres+bin+"/pg_ctl -D "+data+" -l "+logFile+" -w -t 3600 start", nil); err != nil {
		return Restored{}, fmt.Errorf("starting PostgreSQL on %s to replay the archive: %w", target, err)
	}
	if err := waitPromoted(ctx, c, data, logFile); err != nil {
		return Restored{}, fmt.Errorf("%s: %w", target, err)
	}
	// pgBackRest wrote the recovery target into postgresql.auto.conf: left there, it would
	// stop this node's recovery at the target again whenever it runs as a replica.
	var reset []string
	for _, p := range []string{"restore_command", "recovery_target_time", "recovery_target_action"} {
		reset = append(reset, "-c "+remote.Quote("ALTER SYSTEM RESET "+p))
	}
	if _, err := c.Run(ctx, asPostgres+"psql -X "+strings.Join(reset, " "), nil); err != nil {
		return Restored{}, fmt.Errorf("clearing the recovery target on %s: %w", target, err)
	}
	if _, err := c.Run(ctx, asPostgres+bin+"/pg_ctl -D "+data+" -m fast -w -t 600 stop", nil); err != nil {
		return Restored{}, fmt.Errorf("stopping the replayed PostgreSQL on %s: %w", target, err)
	}

	log("starting Patroni on " + target + ": it leads the restored cluster")
	if _, err := c.Run(ctx, "systemctl start patroni", nil); err != nil {
		return Restored{}, fmt.Errorf("starting Patroni on %s: %w", target, err)
	}
	if _, err := pc.WaitFor(ctx, time.Second, func(cl patroni.Cluster) bool {
		m, ok := cl.Leader()
		return ok && m.Name == target && m.State == "running"
	}); err != nil {
		return Restored{}, fmt.Errorf("waiting for %s to lead the restored cluster: %w", target, err)
	}
	// Patroni names the leader once it holds the lock, while its PostgreSQL, started as a
	// standby, may still be promoting; pgBackRest backs up only a primary.
	if err := waitOutOfRecovery(ctx, c); err != nil {
		return Restored{}, fmt.Errorf("%s: %w", target, err)
	}

	log("taking a full backup of the restored cluster (the replicas are built from it)")
	if err := c.Stream(ctx, asPostgres+backupScript+" full", out); err != nil {
		return Restored{}, fmt.Errorf("the full backup after the restore on %s: %w", target, err)
	}
	r := Restored{Node: target}
	if info, err := c.Run(ctx, f.pgbackrest("--output=json info"), nil); err == nil {
		if in, err := backup.ParseInfo(info, b.Stanza); err == nil {
			if last, ok := in.Last(); ok {
				r.Backup = last.Label
			}
		}
	}

	for _, n := range others {
		log("emptying " + n + "'s data directory and starting Patroni: it restores the new backup as a replica")
		if _, err := conns[n].Run(ctx, "find "+data+" -mindepth 1 -delete && systemctl start patroni", nil); err != nil {
			return r, fmt.Errorf("rebuilding %s: %w", n, err)
		}
	}
	log("waiting for every replica to stream")
	if err := f.WaitHealthy(ctx); err != nil {
		return r, fmt.Errorf("the restored cluster is not healthy: %w", err)
	}
	r.Took = time.Since(start)
	return r, nil
}

// waitOutOfRecovery waits, up to two minutes, until the PostgreSQL c reaches runs as a primary.
func waitOutOfRecovery(ctx context.Context, c *remote.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		out, err := c.Run(ctx, "runuser -u postgres -- psql -XAtc 'SELECT pg_is_in_recovery()'", nil)
		if err == nil && strings.TrimSpace(string(out)) == "f" {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				return errors.New("PostgreSQL is still in recovery two minutes after Patroni took the lead")
			}
			return fmt.Errorf("PostgreSQL did not answer as a primary two minutes after Patroni took the lead: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitPromoted waits until the PostgreSQL replaying the archive at data has reached its
// target and promoted; one that stops meanwhile (a target the WAL does not reach) fails with
// the end of its log.
func waitPromoted(ctx context.Context, c *remote.Client, data, logFile string) error {
	for {
		out, err := c.Run(ctx, "runuser -u postgres -- psql -XAtc 'SELECT pg_is_in_recovery()'", nil)
		if err == nil && strings.TrimSpace(string(out)) == "f" {
			return nil
		}
		if _, err := c.Run(ctx, "runuser -u postgres -- "+"test -f "+data+"/postmaster.pid", nil); err != nil {
			tail, _ := c.Run(ctx, "tail -n 20 "+logFile, nil)
			return fmt.Errorf("PostgreSQL stopped before it reached the target:\n%s", tail)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
