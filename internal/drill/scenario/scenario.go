package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/drill"
	"github.com/pghac/pghac/internal/drill/workload"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/sandbox"
)

// Env is the cluster a drill runs on and how to reach it.
type Env struct {
	Sandbox sandbox.Config
	Nodes   []string // member names, which are also the machines' names
	Load    workload.Config
	Monitor workload.MonitorConfig
	// Patroni reaches the members' REST APIs with the password (switchover, reinit).
	Patroni *patroni.Client
	// Dial reaches the nodes over SSH, as the rollout engine does (the rollout drills).
	Dial rollout.Dialer
	// ReplaceMachine replaces node's machine through the target's Terraform, as `pghac up
	// --replace` does (the replace-node drill); nil for a drill that replaces none.
	ReplaceMachine func(ctx context.Context, node string) error
	// RotateSecret gives a secret a new value and rolls it out, as `pghac secrets rotate`
	// does (the rotate-secret drill); nil for a drill that rotates none.
	RotateSecret func(ctx context.Context, name model.Secret) error
	// RotateTLS issues every certificate again and rolls them out, as `pghac secrets rotate
	// tls` does (the rotate-tls drill); nil for a drill that rotates none.
	RotateTLS func(ctx context.Context) error
	// RotateCA takes the next step of the rotation of the certificates' authority and rolls
	// it out, as `pghac secrets rotate ca` does, and says which step it took (the rotate-ca
	// drill); nil for a drill that rotates none.
	RotateCA func(ctx context.Context) (string, error)
	// ScaleOut adds n node blocks to the cluster file and runs pghac up, returning the new
	// nodes' names; ScaleIn takes those out again and runs pghac up --allow-replace (the
	// scale drills). nil for a drill that changes no shape.
	ScaleOut func(ctx context.Context, n int) ([]string, error)
	ScaleIn  func(ctx context.Context, nodes []string) error
	// Restore brings the cluster back to a point in time, as pghac restore --time does (the
	// restore drill); nil for a drill that restores none.
	Restore func(ctx context.Context, t time.Time) error
	// DataDir is PostgreSQL's data directory on the nodes; Backups: the cluster has them
	// (the backup drills need them).
	DataDir string
	Backups bool
	// MaxLag is the replica lag, in bytes, still counted as caught up: what HAProxy's
	// replica check accepts, since Patroni's figure trails every write by up to
	// loop_wait.
	MaxLag int64
	// Synchronous: the cluster runs in synchronous mode, and is whole only with a
	// synchronous standby.
	Synchronous bool
	// Progress gets a line per step and a status line every ProgressEvery (default
	// 2 s); nil is silent.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Warmup is the steady load before the fault (default 5 s), Settle the load
	// after recovery (default 3 s). ReadyTimeout bounds the wait for a healthy
	// cluster before the run (default 3 min), RecoveryTimeout the wait after the
	// heal (default 3 min), FaultTimeout the wait for the fault's effect, such as a
	// new leader (default 2 min).
	Warmup, Settle                              time.Duration
	ReadyTimeout, RecoveryTimeout, FaultTimeout time.Duration
	// LibpqTimeout bounds, after the recovery, the wait for each libpq client's session
	// (default 1 min).
	LibpqTimeout time.Duration
	// Steady is how long the steady scenario runs (default 10 min).
	Steady time.Duration
}

func (e Env) withDefaults() Env {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&e.ProgressEvery, 2*time.Second)
	def(&e.Warmup, 5*time.Second)
	def(&e.Settle, 3*time.Second)
	def(&e.ReadyTimeout, 3*time.Minute)
	def(&e.RecoveryTimeout, 3*time.Minute)
	def(&e.FaultTimeout, 2*time.Minute)
	def(&e.LibpqTimeout, time.Minute)
	def(&e.Steady, 10*time.Minute)
	if e.Progress == nil {
		e.Progress = io.Discard
	}
	return e
}

// Scenario is one kind of fault and the limits pghac's defaults must meet under it.
type Scenario struct {
	Name    string
	Summary string
	Limits  drill.Limits
	// ReplacesMachines: the scenario needs Env.ReplaceMachine; RotatesSecrets Env.RotateSecret,
	// Env.RotateTLS and Env.RotateCA;
	// Resizes Env.ScaleOut and Env.ScaleIn; Restores Env.Restore; NeedsBackups a cluster
	// with backups.
	ReplacesMachines, RotatesSecrets, Resizes, Restores, NeedsBackups bool
	// inject causes the fault and undoes it, recording FaultAt and HealAt through
	// r.fault and r.heal.
	inject func(ctx context.Context, r *run) error
}

// The limits of issue 6, and issue 12's: a libpq client gets its session within a few
// seconds of the recovery.
const (
	crashOutage    = 25 * time.Second
	gracefulOutage = 5 * time.Second
	reloadOutage   = time.Second // issue 14: no gap over 1 s for reload-type changes
	recoveryLimit  = 2 * time.Minute
	libpqDelay     = 5 * time.Second
)

var scenarios = []Scenario{
	{
		Name:    "leader-crash",
		Summary: "the leader's machine killed at once, started again once another member leads",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: crashOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		inject: func(ctx context.Context, r *run) error {
			return r.leaderFault(ctx, "kill", sandbox.Kill, "start", func(name string) error { return sandbox.Start(ctx, r.env.Sandbox, name) }, 0)
		},
	},
	{
		Name:    "leader-freeze",
		Summary: "every process of the leader's machine frozen, thawed once another member leads",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: crashOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		inject: func(ctx context.Context, r *run) error {
			return r.leaderFault(ctx, "freeze", sandbox.Freeze, "thaw", func(name string) error { return sandbox.Thaw(r.env.Sandbox, name) }, 0)
		},
	},
	{
		Name:    "leader-partition",
		Summary: "the leader's machine cut from the others and from clients, healed once another member leads",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: crashOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		inject: func(ctx context.Context, r *run) error {
			return r.leaderFault(ctx, "partition", sandbox.Partition, "heal", func(name string) error { return sandbox.Heal(r.env.Sandbox, name) }, 0)
		},
	},
	{
		Name:    "leader-stop",
		Summary: "Patroni stopped on the leader as systemd stops it, started again once another member leads",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		inject: func(ctx context.Context, r *run) error {
			return r.leaderFault(ctx, "systemctl stop patroni on", func(_ sandbox.Config, name string) error {
				return r.systemctl(ctx, name, "stop", "patroni")
			}, "systemctl start patroni on", func(name string) error {
				return r.systemctl(ctx, name, "start", "patroni")
			}, 0)
		},
	},
	{
		Name:    "switchover",
		Summary: "a planned switchover to a replica through Patroni's REST API",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		inject:  switchover,
	},
	{
		Name:    "replica-crash",
		Summary: "the synchronous standby's machine killed at once, started again after 15 s",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: crashOutage, MaxRecovery: recoveryLimit},
		inject:  replicaCrash,
	},
	{
		Name:    "etcd-loss",
		Summary: "etcd killed on the leader's machine (one of three members), started again after 20 s",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: recoveryLimit},
		inject:  etcdLoss,
	},
	{
		Name:    "all-restart",
		Summary: "every machine killed at once, then all started again",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxRecovery: 5 * time.Minute, AllowFailover: true},
		inject:  allRestart,
	},
	{
		Name:    "leader-return",
		Summary: "the leader's machine killed and kept down for 30 s of writes on the new timeline; it must rejoin by itself (pg_rewind)",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: crashOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		inject: func(ctx context.Context, r *run) error {
			return r.leaderFault(ctx, "kill", sandbox.Kill, "start", func(name string) error { return sandbox.Start(ctx, r.env.Sandbox, name) }, 30*time.Second)
		},
	},
	{
		Name:    "steady",
		Summary: "no fault: steady load for 10 min (drill --steady); the leader must not change",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay},
		inject: func(ctx context.Context, r *run) error {
			r.logf("steady load for %s, no fault", r.env.Steady)
			sleep(ctx, r.env.Steady)
			return ctx.Err()
		},
	},
	{
		Name:    "rollout-reload",
		Summary: "a reload-type change rolled out under load and back: work_mem (Patroni) and a PgBouncer setting (its file, RELOAD)",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: reloadOutage, MaxRecovery: recoveryLimit},
		inject:  rolloutReload,
	},
	{
		Name:    "rollout-restart",
		Summary: "max_connections raised and lowered back under load: rolling restarts, a switchover before the leader's turn when raised, the leader first when lowered",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		inject:  rolloutRestart,
	},
	{
		Name:    "mend-node",
		Summary: "a replica's HAProxy broken by hand (it stops), then mended as pghac up mends a node its change touches: the generated file to it first",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: reloadOutage, MaxRecovery: recoveryLimit},
		inject:  mendNode,
	},
	{
		Name:             "replace-node",
		Summary:          "the leader's machine replaced as pghac up --replace does: a switchover, a new machine from the same user-data, its data copied from the new leader",
		Limits:           drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: recoveryLimit, AllowFailover: true},
		ReplacesMachines: true,
		inject:           replaceNode,
	},
	{
		Name: "rotate-secret",
		Summary: "the replication, PgBouncer lookup and HAProxy statistics passwords rotated as pghac secrets rotate does: " +
			"a role's password through the leader first, then every node's files and reloads",
		Limits:         drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: reloadOutage, MaxRecovery: recoveryLimit},
		RotatesSecrets: true,
		inject:         rotateSecrets,
	},
	{
		Name: "rotate-tls",
		Summary: "every node's certificate and the service certificate issued again and rolled out as pghac secrets rotate tls does: " +
			"each node's PostgreSQL and PgBouncer reloaded, one node at a time",
		Limits:         drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: reloadOutage, MaxRecovery: recoveryLimit},
		RotatesSecrets: true,
		inject:         rotateTLS,
	},
	{
		Name: "rotate-ca",
		Summary: "the certificates' authority rotated as pghac secrets rotate ca does, its three steps one after the other: " +
			"a new authority trusted beside the old, every certificate issued by it, the old one no longer trusted",
		Limits:         drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: reloadOutage, MaxRecovery: recoveryLimit},
		RotatesSecrets: true,
		inject:         rotateCA,
	},
	{
		Name:    "scale-out",
		Summary: "two node blocks added and pghac up (3 -> 5: new machines, etcd members, replicas; the other nodes' files), then taken out again",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: recoveryLimit},
		Resizes: true,
		inject:  scaleOut,
	},
	{
		Name:    "scale-in",
		Summary: "two nodes added first, then their blocks taken out and pghac up --allow-replace (5 -> 3: etcd members removed, machines destroyed)",
		Limits:  drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: recoveryLimit},
		Resizes: true,
		inject:  scaleIn,
	},
	{
		Name: "reinit",
		Summary: "a replica stopped until the leader recycled the WAL it needs (the seed's last paragraph), while the backup " +
			"repository refuses it (with backups it would catch up from the archive); pghac node reinit rebuilds it",
		Limits: drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: 5 * time.Minute},
		inject: reinit,
	},
	{
		Name:         "archive-catch-up",
		Summary:      "a replica stopped until the leader recycled the WAL it needs, then started: it catches up from the WAL archive by itself",
		Limits:       drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: 3 * time.Minute},
		NeedsBackups: true,
		inject:       archiveCatchUp,
	},
	{
		Name:         "replica-from-backup",
		Summary:      "a replica's data directory emptied: Patroni rebuilds it from the backup repository (pgBackRest), not from the primary",
		Limits:       drill.Limits{MaxLibpqDelay: libpqDelay, MaxOutage: gracefulOutage, MaxRecovery: 3 * time.Minute},
		NeedsBackups: true,
		inject:       replicaFromBackup,
	},
	{
		Name: "restore",
		Summary: "under the write load a point T noted, writes go on, the drill table dropped; pghac restore --time T: " +
			"every write acknowledged by T is back, none acknowledged after T+1s",
		// The cluster takes no writes from the drop until the restored leader runs.
		Limits:       drill.Limits{MaxLibpqDelay: libpqDelay, MaxRecovery: 3 * time.Minute, AllowFailover: true},
		NeedsBackups: true,
		Restores:     true,
		inject:       restoreToPoint,
	},
}

// All returns every scenario, in the order `pghac drill` runs them.
func All() []Scenario { return slices.Clone(scenarios) }

// Lookup finds a scenario by name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Names lists the scenarios' names.
func Names() []string {
	out := make([]string, len(scenarios))
	for i, s := range scenarios {
		out[i] = s.Name
	}
	return out
}

// run is one scenario's run in progress.
type run struct {
	env   Env
	mon   *workload.Monitor
	load  *workload.Load
	h     drill.History
	start time.Time
	// effect is when the fault was seen to take effect (another member leads); healed is when
	// the heal returned, which for a rollout's roll-back is a rolling restart after HealAt;
	// settled is when a fault that is a change with nothing to heal (a rotation rolled out)
	// returned.
	effect, healed, settled time.Time
	// probeCtx bounds the libpq probes; readWrite is the read-write one, started as soon as
	// a new leader is seen (nil until then).
	probeCtx  context.Context
	readWrite *workload.Probe
}

// startReadWrite starts the read-write libpq client, once, measuring from from.
func (r *run) startReadWrite(from time.Time) {
	if r.readWrite == nil {
		r.readWrite = workload.StartProbe(r.probeCtx, r.env.Load, workload.ReadWrite, from)
	}
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.env.Progress, "%7.1fs  %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// fault records FaultAt and runs f. The time is taken before f, so that the
// outage measured from it includes the injection itself.
func (r *run) fault(what string, f func() error) error {
	r.logf("fault: %s", what)
	r.h.FaultAt = time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// heal records HealAt and runs f.
func (r *run) heal(what string, f func() error) error {
	r.logf("heal: %s", what)
	r.h.HealAt = time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	r.healed = time.Now()
	return nil
}

// leader is the current lock holder, from the latest sample.
func (r *run) leader() (string, error) {
	s, ok := r.mon.Latest()
	if !ok || s.Leader == "" {
		return "", errors.New("no leader")
	}
	return s.Leader, nil
}

// waitLeaderNot waits until a member other than old holds the lock.
func (r *run) waitLeaderNot(ctx context.Context, old string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.env.FaultTimeout)
	defer cancel()
	s, err := r.mon.WaitFor(ctx, r.h.FaultAt, func(s drill.LeaderSample) bool {
		return s.Err == "" && s.Leader != "" && s.Leader != old
	})
	if err != nil {
		return "", fmt.Errorf("no member other than %s took the leader lock within %s", old, r.env.FaultTimeout)
	}
	r.effect = s.At
	r.logf("%s holds the leader lock", s.Leader)
	r.startReadWrite(s.At)
	return s.Leader, nil
}

// leaderFault applies fault to the leader, waits for another member to lead,
// keeps the fault for hold more, then undoes it.
func (r *run) leaderFault(ctx context.Context, faultName string, fault func(sandbox.Config, string) error,
	healName string, heal func(string) error, hold time.Duration) error {
	l, err := r.leader()
	if err != nil {
		return err
	}
	if err := r.fault(faultName+" "+l+" (the leader)", func() error { return fault(r.env.Sandbox, l) }); err != nil {
		return err
	}
	if _, err := r.waitLeaderNot(ctx, l); err != nil {
		return err
	}
	if hold > 0 {
		r.logf("keeping %s down for %s", l, hold)
		sleep(ctx, hold)
	}
	return r.heal(healName+" "+l, func() error { return heal(l) })
}

func switchover(ctx context.Context, r *run) error {
	l, err := r.leader()
	if err != nil {
		return err
	}
	var msg string
	err = r.fault("switchover from "+l, func() error {
		var err error
		msg, err = r.env.Patroni.Switchover(ctx, l, "")
		return err
	})
	if err != nil {
		return err
	}
	r.logf("Patroni: %s", strings.TrimSpace(msg))
	_, err = r.waitLeaderNot(ctx, l)
	return err
}

// syncStandby is the member Patroni lists as synchronous standby, else any replica.
func (r *run) syncStandby() (string, error) {
	s, _ := r.mon.Latest()
	var replica string
	for _, m := range s.Members {
		if m.Name == s.Leader {
			continue
		}
		if m.Role == "sync_standby" {
			return m.Name, nil
		}
		if replica == "" {
			replica = m.Name
		}
	}
	if replica == "" {
		return "", errors.New("no replica")
	}
	return replica, nil
}

func replicaCrash(ctx context.Context, r *run) error {
	rep, err := r.syncStandby()
	if err != nil {
		return err
	}
	if err := r.fault("kill "+rep+" (a replica)", func() error { return sandbox.Kill(r.env.Sandbox, rep) }); err != nil {
		return err
	}
	sleep(ctx, 15*time.Second)
	return r.heal("start "+rep, func() error { return sandbox.Start(ctx, r.env.Sandbox, rep) })
}

func etcdLoss(ctx context.Context, r *run) error {
	l, err := r.leader()
	if err != nil {
		return err
	}
	// kill, not stop: a lost member does not say goodbye. The unit's restart policy
	// must not bring it back, hence stop right after, which only records the state.
	if err := r.fault("kill etcd on "+l+" (the leader's machine)", func() error {
		if err := r.systemctl(ctx, l, "kill", "--signal=SIGKILL", "etcd"); err != nil {
			return err
		}
		return r.systemctl(ctx, l, "stop", "etcd")
	}); err != nil {
		return err
	}
	sleep(ctx, 20*time.Second)
	return r.heal("start etcd on "+l, func() error { return r.systemctl(ctx, l, "start", "etcd") })
}

func allRestart(ctx context.Context, r *run) error {
	err := r.fault("kill every machine", func() error {
		var errs []error
		for _, n := range r.env.Nodes {
			errs = append(errs, sandbox.Kill(r.env.Sandbox, n))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return err
	}
	return r.heal("start every machine", func() error {
		var wg sync.WaitGroup
		errs := make([]error, len(r.env.Nodes))
		for i, n := range r.env.Nodes {
			wg.Go(func() { errs[i] = sandbox.Start(ctx, r.env.Sandbox, n) })
		}
		wg.Wait()
		return errors.Join(errs...)
	})
}

// walGone makes the leader drop the WAL a stopped replica needs: with the replica's
// Patroni stopped for longer than ttl its member key expires and the leader drops its
// replication slot; then 48 WAL segments (more than wal_keep_size's 512 MB) and a
// checkpoint let the leader remove the segments the replica would resume from.
const walGone = `CREATE TABLE IF NOT EXISTS pghac_wal_filler (x int);
DO $$ BEGIN FOR i IN 1..48 LOOP INSERT INTO pghac_wal_filler VALUES (i); PERFORM pg_switch_wal(); END LOOP; END $$;
CHECKPOINT;
DROP TABLE pghac_wal_filler;
CHECKPOINT;`

// reinit is the seed's last paragraph: a replica away for so long that the WAL it
// needs is gone from the leader cannot catch up by itself, and pghac node reinit
// rebuilds it (what the seed did by stopping Patroni and deleting the data directory).
// With backups the archive would bring it back (archive-catch-up): here the repository
// refuses the replica until the rebuild was asked for, so that only a rebuild can.
func reinit(ctx context.Context, r *run) error {
	rep, err := r.syncStandby()
	if err != nil {
		return err
	}
	if !r.env.Backups {
		return reinitStale(ctx, r)
	}
	return r.withRepositoryRefused(ctx, rep, func() error { return reinitStale(ctx, r) })
}

func reinitStale(ctx context.Context, r *run) error {
	rep, l, err := r.staleReplica(ctx)
	if err != nil {
		return err
	}
	// The replica must not catch up by itself, or the scenario tested nothing.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	_, err = r.mon.WaitFor(wctx, time.Now(), func(s drill.LeaderSample) bool {
		return slices.ContainsFunc(s.Members, func(m drill.MemberSample) bool { return m.Name == rep && m.Streaming })
	})
	cancel()
	if err == nil {
		return fmt.Errorf("%s caught up by itself: its WAL was not gone", rep)
	}
	r.logf("%s cannot catch up: the WAL it needs is gone from %s", rep, l)
	var msg string
	err = r.heal("pghac node reinit "+rep, func() error {
		var err error
		msg, err = r.env.Patroni.Reinitialize(ctx, rep, true)
		return err
	})
	if err == nil {
		r.logf("Patroni: %s", strings.TrimSpace(msg))
	}
	return err
}

func (r *run) systemctl(ctx context.Context, machine string, args ...string) error {
	_, _, err := sandbox.Exec(ctx, r.env.Sandbox, machine, append([]string{"systemctl"}, args...)...)
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
