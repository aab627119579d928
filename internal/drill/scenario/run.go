package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pghac/pghac/internal/drill"
	"github.com/pghac/pghac/internal/drill/workload"
	"github.com/pghac/pghac/internal/sandbox"
)

// Run runs scenario s once on env and returns what it recorded. The error is for a
// drill that could not be run or finished (the cluster was not healthy to begin
// with, a fault could not be injected, the final read failed); a run that ran is
// judged by drill.Check, not here. Whatever happens, Run undoes the faults it may
// have left before it returns.
func Run(ctx context.Context, env Env, s Scenario) (h drill.History, err error) {
	env = env.withDefaults()
	r := &run{env: env, h: drill.History{Scenario: s.Name}, start: time.Now()}
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	r.probeCtx = probeCtx
	defer func() {
		if rerr := restore(context.WithoutCancel(ctx), env, r.logf); rerr != nil {
			err = errors.Join(err, fmt.Errorf("undo the faults: %w", rerr))
		}
	}()

	r.mon = workload.StartMonitor(ctx, env.Monitor)
	monitorStopped := false
	defer func() {
		if !monitorStopped {
			r.mon.Stop()
		}
	}()
	if err := r.waitHealthy(ctx, time.Time{}, env.ReadyTimeout, "before the drill"); err != nil {
		return r.h, err
	}
	prepCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = workload.Prepare(prepCtx, env.Load)
	cancel()
	if err != nil {
		return r.h, err
	}

	r.load = workload.Start(ctx, env.Load)
	loadStopped := false
	defer func() {
		if !loadStopped {
			r.load.Stop()
		}
	}()
	stopProgress := r.progress()
	defer stopProgress()

	r.logf("steady load for %s", env.Warmup)
	sleep(ctx, env.Warmup)
	if err := ctx.Err(); err != nil {
		return r.h, err
	}
	if err := s.inject(ctx, r); err != nil {
		return r.h, err
	}
	// Recovery counts from the heal's end, or from when the fault took effect or settled: a
	// sample taken right after a switchover was requested still shows the old, whole cluster,
	// and one taken while a roll-back restarts its nodes one by one shows a cluster not yet
	// back.
	since := r.h.FaultAt
	for _, t := range []time.Time{r.h.HealAt, r.healed, r.effect, r.settled} {
		if t.After(since) {
			since = t
		}
	}
	err = r.waitHealthy(ctx, since, env.RecoveryTimeout, "after the fault")
	if err != nil {
		// Not an error of the run: the report says the cluster did not recover.
		r.logf("%v", err)
	}
	r.libpq()
	if err == nil {
		sleep(ctx, env.Settle)
	}

	stopProgress()
	r.h.Writes, r.h.Reads = r.load.Stop()
	loadStopped = true
	r.h.Samples = r.mon.Stop()
	monitorStopped = true
	c := r.load.Counts()
	r.logf("load stopped: %d writes acknowledged, %d failed, %d unknown; %d read errors", c.Acked, c.Failed, c.Unknown, c.ReadErrors)

	finalCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ids, server, err := workload.FinalIDs(finalCtx, env.Load)
	if err != nil {
		return r.h, err
	}
	r.h.FinalIDs = ids
	r.logf("read %d ids back from %s", len(ids), server)
	return r.h, nil
}

// libpq records the libpq clients: the read-write one (started when the new leader was seen,
// or now) and a read-only one started now, each given LibpqTimeout to get its session.
func (r *run) libpq() {
	r.startReadWrite(time.Now())
	readOnly := workload.StartProbe(r.probeCtx, r.env.Load, workload.ReadOnly, time.Now())
	deadline := time.Now().Add(r.env.LibpqTimeout)
	for _, p := range []*workload.Probe{r.readWrite, readOnly} {
		rec := p.Wait(time.Until(deadline))
		r.h.Libpq = append(r.h.Libpq, rec)
		if rec.Connected.IsZero() {
			r.logf("libpq %s through :%d: no session in %d attempts (last: %s)", rec.Attrs, rec.Port, rec.Attempts, rec.LastErr)
		} else {
			r.logf("libpq %s through :%d: %s after %s", rec.Attrs, rec.Port, rec.Server, rec.Connected.Sub(rec.From).Round(time.Millisecond))
		}
	}
}

// whole waits for a sample after since showing every member healthy and returns it, or why
// the last one was not.
func (r *run) whole(ctx context.Context, since time.Time) (drill.LeaderSample, string, error) {
	var why string
	s, err := r.mon.WaitFor(ctx, since, func(s drill.LeaderSample) bool {
		ok, w := workload.Healthy(s, r.env.Nodes, r.env.MaxLag, r.env.Synchronous)
		why = w
		return ok
	})
	return s, why, err
}

// waitHealthy waits for a sample after since showing every member healthy, and
// records it as RecoveredAt when since is set.
func (r *run) waitHealthy(ctx context.Context, since time.Time, timeout time.Duration, when string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, why, err := r.whole(ctx, since)
	if err != nil {
		return fmt.Errorf("the cluster was not healthy %s within %s: %s", when, timeout, why)
	}
	if !since.IsZero() {
		r.h.RecoveredAt = s.At
		r.logf("healthy again: %s leads, every replica caught up", s.Leader)
	} else {
		r.logf("healthy: %s leads", s.Leader)
	}
	return nil
}

// progress prints a status line every ProgressEvery until the returned func is
// called (more than once is fine).
func (r *run) progress() func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(r.env.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			c := r.load.Counts()
			s, _ := r.mon.Latest()
			leader := s.Leader
			switch {
			case s.Err != "":
				leader = "unknown (DCS unreachable)"
			case leader == "":
				leader = "none"
			}
			r.logf("leader %-8s writes %d ok, %d failed, %d unknown; reads %d failed", leader, c.Acked, c.Failed, c.Unknown, c.ReadErrors)
		}
	}()
	var once bool
	return func() {
		if !once {
			once = true
			close(done)
			<-stopped
		}
	}
}

// restore undoes every fault a drill can leave: frozen or partitioned machines,
// machines not running, etcd or Patroni stopped. It is safe on a whole cluster.
func restore(ctx context.Context, env Env, logf func(string, ...any)) error {
	var errs []error
	parted, err := sandbox.Partitioned(env.Sandbox)
	errs = append(errs, err)
	running := map[string]bool{}
	ms, err := sandbox.Machines(env.Sandbox)
	errs = append(errs, err)
	for _, m := range ms {
		running[m.Name] = m.Running()
	}
	for _, n := range env.Nodes {
		if frozen, _ := sandbox.Frozen(env.Sandbox, n); frozen {
			logf("undo: thaw %s", n)
			errs = append(errs, sandbox.Thaw(env.Sandbox, n))
		}
		for _, p := range parted {
			if p == n {
				logf("undo: heal %s", n)
				errs = append(errs, sandbox.Heal(env.Sandbox, n))
			}
		}
		if !running[n] {
			logf("undo: start %s", n)
			errs = append(errs, sandbox.Start(ctx, env.Sandbox, n))
			continue
		}
		// A no-op for running services; starts what a drill stopped.
		_, _, err := sandbox.Exec(ctx, env.Sandbox, n, "systemctl", "start", "etcd", "patroni")
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
