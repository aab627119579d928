package scenario

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/drill"
	"github.com/pghac/pghac/internal/drill/workload"
	"github.com/pghac/pghac/internal/sandbox"
)

// Paths of the nodes' pgBackRest (emit/pgbackrest): its configuration, the backup script,
// and the log of its restores, which says whether a replica came from the repository.
const (
	pgbackrestConf = "/etc/pgbackrest/pgbackrest.conf"
	backupScript   = "/usr/local/lib/pghac/pghac-backup"
	restoreLog     = "/var/log/pgbackrest/*-restore.log"
	archiveGetLog  = "/var/log/pgbackrest/*-archive-get*.log"
)

// asPostgres runs argv as postgres on machine.
func (r *run) asPostgres(ctx context.Context, machine string, argv ...string) (string, error) {
	out, _, err := sandbox.Exec(ctx, r.env.Sandbox, machine, append([]string{"runuser", "-u", "postgres", "--"}, argv...)...)
	return string(out), err
}

// backupNow takes a full backup on the leader with the nodes' own script.
func (r *run) backupNow(ctx context.Context) error {
	l, err := r.leader()
	if err != nil {
		return err
	}
	r.logf("full backup on %s", l)
	if _, err := r.asPostgres(ctx, l, backupScript, "full"); err != nil {
		return fmt.Errorf("full backup on %s: %w", l, err)
	}
	return nil
}

// restoreToPoint is issue 15's drill: under the load, a point T is noted, writes go on,
// then the drill table is dropped (the fault, a bad migration); pghac restore brings the
// cluster back to T (the heal). Every write acknowledged by T must be there afterwards,
// none acknowledged more than drill.RestoreSlack after it, and every write of the restored
// cluster.
func restoreToPoint(ctx context.Context, r *run) error {
	if r.env.Restore == nil {
		return fmt.Errorf("the restore drill needs a way to restore (Env.Restore)")
	}
	// A backup taken now bounds the WAL the restore replays to the drill's own.
	if err := r.backupNow(ctx); err != nil {
		return err
	}
	sleep(ctx, 2*time.Second)
	r.h.RestoreTarget = time.Now()
	r.logf("restore target T = %s; writes go on", r.h.RestoreTarget.UTC().Format("15:04:05.000"))
	sleep(ctx, 4*time.Second)
	l, err := r.leader()
	if err != nil {
		return err
	}
	err = r.fault("DROP TABLE "+workload.Table+" on "+l, func() error {
		_, err := r.asPostgres(ctx, l, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", r.env.Load.Database, "-c", "DROP TABLE "+workload.Table)
		return err
	})
	if err != nil {
		return err
	}
	sleep(ctx, 2*time.Second)
	return r.heal("pghac restore --time T", func() error { return r.env.Restore(ctx, r.h.RestoreTarget) })
}

// replicaFromBackup rebuilds a replica from the repository instead of the primary: its data
// directory emptied and Patroni started, which tries pgBackRest first
// (create_replica_methods). The replica's pgBackRest log must show the restore.
func replicaFromBackup(ctx context.Context, r *run) error {
	if err := r.backupNow(ctx); err != nil {
		return err
	}
	rep, err := r.asyncReplica()
	if err != nil {
		return err
	}
	// The restore log tells how the replica was made; an old one would tell nothing.
	if _, _, err := sandbox.Exec(ctx, r.env.Sandbox, rep, "sh", "-c", "rm -f "+restoreLog); err != nil {
		return err
	}
	err = r.fault("stop Patroni on "+rep+" and empty its data directory", func() error {
		if err := r.systemctl(ctx, rep, "stop", "patroni"); err != nil {
			return err
		}
		_, _, err := sandbox.Exec(ctx, r.env.Sandbox, rep, "sh", "-c", "find "+r.env.DataDir+" -mindepth 1 -delete")
		return err
	})
	if err != nil {
		return err
	}
	if err := r.heal("start Patroni on "+rep+": it restores the backup as a replica", func() error {
		return r.systemctl(ctx, rep, "start", "patroni")
	}); err != nil {
		return err
	}
	if _, err := r.mon.WaitFor(ctx, r.h.HealAt, func(s drill.LeaderSample) bool {
		return slices.ContainsFunc(s.Members, func(m drill.MemberSample) bool { return m.Name == rep && m.Streaming })
	}); err != nil {
		return fmt.Errorf("%s did not stream again: %w", rep, err)
	}
	out, _, err := sandbox.Exec(ctx, r.env.Sandbox, rep, "sh", "-c", "cat "+restoreLog)
	if err != nil || !strings.Contains(string(out), "restore command end: completed successfully") {
		return fmt.Errorf("%s was not rebuilt from the repository (no pgBackRest restore in %s): pg_basebackup loaded the primary instead", rep, restoreLog)
	}
	r.logf("%s was rebuilt from the repository by pgBackRest", rep)
	return nil
}

// archiveCatchUp: a replica away until the leader recycled the WAL it needs catches up by
// itself from the archive (restore_command), with no reinit.
func archiveCatchUp(ctx context.Context, r *run) error {
	first, err := r.syncStandby()
	if err != nil {
		return err
	}
	// Its archive-get log tells whether the archive brought it back; an old one would tell
	// nothing.
	if _, _, err := sandbox.Exec(ctx, r.env.Sandbox, first, "sh", "-c", "rm -f "+archiveGetLog); err != nil {
		return err
	}
	rep, l, err := r.staleReplica(ctx)
	if err != nil {
		return err
	}
	if rep != first {
		return fmt.Errorf("the synchronous standby changed from %s to %s before the fault", first, rep)
	}
	if err := r.heal("nothing: "+rep+" fetches what "+l+" recycled from the archive", func() error { return nil }); err != nil {
		return err
	}
	if _, err := r.mon.WaitFor(ctx, r.h.HealAt, func(s drill.LeaderSample) bool {
		return slices.ContainsFunc(s.Members, func(m drill.MemberSample) bool { return m.Name == rep && m.Streaming })
	}); err != nil {
		return fmt.Errorf("%s did not stream again: %w", rep, err)
	}
	out, _, err := sandbox.Exec(ctx, r.env.Sandbox, rep, "sh", "-c", "cat "+archiveGetLog)
	n := strings.Count(string(out), " in the repo1")
	if err != nil || n == 0 {
		return fmt.Errorf("%s streams again, but fetched nothing from the archive (%s): the scenario tested nothing", rep, archiveGetLog)
	}
	r.logf("%s fetched %d WAL segments from the archive, then streamed", rep, n)
	return nil
}

// staleReplica stops a replica's Patroni until its member key is gone and the leader dropped
// its slot and recycled the WAL it would resume from (the fault), then starts it again; it
// returns the replica and the leader.
func (r *run) staleReplica(ctx context.Context) (rep, leader string, err error) {
	if rep, err = r.syncStandby(); err != nil {
		return "", "", err
	}
	if leader, err = r.leader(); err != nil {
		return "", "", err
	}
	err = r.fault("stop Patroni on "+rep+" and let the leader recycle the WAL it needs", func() error {
		if err := r.systemctl(ctx, rep, "stop", "patroni"); err != nil {
			return err
		}
		// The leader keeps the slot of a member listed in the DCS.
		if _, err := r.mon.WaitFor(ctx, time.Now(), func(s drill.LeaderSample) bool {
			return s.Err == "" && len(s.Members) > 0 && !slices.ContainsFunc(s.Members, func(m drill.MemberSample) bool { return m.Name == rep })
		}); err != nil {
			return fmt.Errorf("%s stayed a member: %w", rep, err)
		}
		sleep(ctx, 3*time.Second) // the leader's next loop drops the slot
		if _, err := r.asPostgres(ctx, leader, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", walGone); err != nil {
			return err
		}
		return r.systemctl(ctx, rep, "start", "patroni")
	})
	return rep, leader, err
}

// withRepositoryRefused makes node's pgBackRest present a revoked secret key (the bucket
// refuses every request, as after a key rotation that missed the node) while f runs, and
// puts its configuration back afterwards, whatever f did.
func (r *run) withRepositoryRefused(ctx context.Context, node string, f func() error) error {
	// A copy beside it, so that the key pair never passes through a command line.
	kept := pgbackrestConf + ".drill"
	if _, _, err := sandbox.Exec(ctx, r.env.Sandbox, node, "cp", "-p", pgbackrestConf, kept); err != nil {
		return err
	}
	defer func() {
		if _, _, err := sandbox.Exec(context.WithoutCancel(ctx), r.env.Sandbox, node, "mv", kept, pgbackrestConf); err != nil {
			r.logf("putting %s back on %s: %v", pgbackrestConf, node, err)
		}
	}()
	if _, _, err := sandbox.Exec(ctx, r.env.Sandbox, node, "sed", "-i", "s/^repo1-s3-key-secret=.*/repo1-s3-key-secret=revoked-by-the-drill/", pgbackrestConf); err != nil {
		return err
	}
	r.logf("%s's pgBackRest now presents a revoked key: the repository refuses it", node)
	return f()
}

// asyncReplica is a replica that is not the synchronous standby, else the synchronous one.
func (r *run) asyncReplica() (string, error) {
	s, _ := r.mon.Latest()
	for _, m := range s.Members {
		if m.Name != s.Leader && m.Role != "sync_standby" {
			return m.Name, nil
		}
	}
	return r.syncStandby()
}
