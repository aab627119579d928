package rollout

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
)

// primaryFirstWhenLowered are the settings a standby must not have lower than its primary:
// lowering one restarts the primary first, in place (Patroni's documentation), raising one
// the replicas first.
var primaryFirstWhenLowered = []string{"max_connections", "max_locks_per_transaction", "max_prepared_transactions", "max_wal_senders", "max_worker_processes"}

const paramPrefix = "postgresql.parameters."

// NeedsRestart reports whether settings take effect only when PostgreSQL restarts: one of
// them is a parameter whose pg_settings.context (contexts, by name) is postmaster. A
// parameter contexts does not know is taken to need a restart.
func NeedsRestart(settings []Setting, contexts map[string]string) bool {
	for _, s := range settings {
		if name, ok := strings.CutPrefix(s.Key, paramPrefix); ok {
			if c, known := contexts[name]; !known || c == "postmaster" {
				return true
			}
		}
	}
	return false
}

// primaryFirst reports whether settings lower a setting of primaryFirstWhenLowered.
func primaryFirst(settings []Setting) bool {
	for _, s := range settings {
		name, ok := strings.CutPrefix(s.Key, paramPrefix)
		if !ok || !slices.Contains(primaryFirstWhenLowered, name) {
			continue
		}
		have, herr := strconv.ParseFloat(ScalarText(s.Have), 64)
		want, werr := strconv.ParseFloat(ScalarText(s.Want), 64)
		if herr == nil && werr == nil && want < have {
			return true
		}
	}
	return false
}

// Configured is what ApplyDCS did.
type Configured struct {
	Restarted  []string  // members restarted, in order
	Switchover *Switched // the switchover before the old leader's restart, if any
	Took       time.Duration
}

// ApplyDCS changes the cluster's dynamic configuration to settings (PATCH /config) and, when
// restart says PostgreSQL must restart for them, restarts the members one at a time once all
// report the pending restart: the replicas, then a switchover (which restarts the old leader
// as a replica), then the old leader if it still has a restart pending; or,
// when a setting of primaryFirstWhenLowered is lowered, the leader first, in place. After
// each restart it waits until the member runs again and every replica follows the leader.
// timeout bounds each wait.
func ApplyDCS(ctx context.Context, pc *patroni.Client, settings []Setting, restart bool, timeout time.Duration, progress Progress) (Configured, error) {
	start := time.Now()
	var done Configured
	if len(settings) == 0 {
		return done, nil
	}
	if err := pc.PatchConfig(ctx, Patch(settings)); err != nil {
		return done, err
	}
	if !restart {
		done.Took = time.Since(start)
		return done, nil
	}
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return done, &UnreachableError{Err: err}
	}
	leader, ok := cl.Leader()
	if !ok {
		return done, fmt.Errorf("the cluster has no leader (%s)", cl)
	}
	replicas := others(cl, leader.Name)
	// Every member has taken the new configuration once it reports the pending restart.
	for _, m := range append([]string{leader.Name}, replicas...) {
		if err := waitPending(ctx, pc, m, timeout); err != nil {
			return done, err
		}
	}
	restartOne := func(member string) error {
		// A switchover restarts the old leader's PostgreSQL as a replica: with the new
		// settings, and nothing pending any more.
		if st, err := pc.Status(ctx, member); err == nil && !st.PendingRestart {
			return nil
		}
		p := startProgress(ctx, pc, progress, time.Now(), "restarting "+member+"'s PostgreSQL")
		defer p.end()
		if _, err := pc.Restart(ctx, member); err != nil {
			return fmt.Errorf("restart %s: %w", member, err)
		}
		p.set("waiting for the cluster to be whole again after " + member + "'s restart")
		if err := waitWhole(ctx, pc, timeout); err != nil {
			return fmt.Errorf("after %s's restart: %w", member, err)
		}
		done.Restarted = append(done.Restarted, member)
		return nil
	}
	if primaryFirst(settings) {
		for _, m := range append([]string{leader.Name}, replicas...) {
			if err := restartOne(m); err != nil {
				return done, err
			}
		}
		done.Took = time.Since(start)
		return done, nil
	}
	for _, m := range replicas {
		if err := restartOne(m); err != nil {
			return done, err
		}
	}
	// The switchover itself restarts the old leader, which then needs nothing more.
	sw, err := Switchover(ctx, pc, "", timeout, progress)
	if err != nil {
		return done, fmt.Errorf("switchover before restarting the leader %s: %w", leader.Name, err)
	}
	done.Switchover = &sw
	if err := restartOne(leader.Name); err != nil {
		return done, err
	}
	done.Took = time.Since(start)
	return done, nil
}

// waitPending waits until member reports a pending restart: Patroni applies a new dynamic
// configuration on its next cycle.
func waitPending(ctx context.Context, pc *patroni.Client, member string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := pc.Status(ctx, member)
		if err == nil && st.PendingRestart {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not report the pending restart within %v (last: %v)", member, timeout, err)
		case <-time.After(pollEvery):
		}
	}
}

// waitWhole waits until the cluster has a running leader that every other member follows.
func waitWhole(ctx context.Context, pc *patroni.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := pc.WaitFor(ctx, pollEvery, func(cl patroni.Cluster) bool {
		l, ok := cl.Leader()
		if !ok || l.State != "running" {
			return false
		}
		st, err := pc.Status(ctx, l.Name)
		if err != nil {
			return false
		}
		members := health.FromPatroni(cl, st)
		for _, m := range others(cl, l.Name) {
			if health.Follows(members, m) != "" {
				return false
			}
		}
		return true
	})
	return err
}

// ParseContexts reads parameter contexts from lines that start "name<TAB or |>context", as
// `psql -At -c 'SELECT name, context FROM pg_settings'` and `postgres --describe-config`
// print them.
func ParseContexts(out []byte) map[string]string {
	contexts := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.FieldsFunc(line, func(r rune) bool { return r == '\t' || r == '|' })
		if len(f) >= 2 {
			contexts[strings.TrimSpace(f[0])] = strings.TrimSpace(f[1])
		}
	}
	return contexts
}
