package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
)

// Switched is a switchover done.
type Switched struct {
	From, To string        // the old leader and the new one
	Took     time.Duration // from the request until the old leader followed the new one
}

// UnreachableError is an operation that could not start: no member's Patroni answered.
type UnreachableError struct {
	Err error // the client's error, naming every member it asked
}

func (e *UnreachableError) Error() string { return "Patroni does not answer: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// Switchover hands the leadership of pc's cluster from its leader to to ("" for the member
// Patroni picks) and waits until the new leader runs and the old one streams from it as a
// replica (health.Follows). timeout bounds all of it, and is named in the error when the
// cluster does not settle in time. progress, when not nil, is told about a long wait. On
// error the result is zero.
func Switchover(ctx context.Context, pc *patroni.Client, to string, timeout time.Duration, progress Progress) (Switched, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	before, err := pc.Cluster(ctx)
	if err != nil {
		return Switched{}, &UnreachableError{Err: err}
	}
	old, ok := before.Leader()
	if !ok {
		return Switched{}, fmt.Errorf("the cluster has no leader to switch over from (%s)", before)
	}
	if before, err = waitSyncStandby(ctx, pc, before, progress); err != nil {
		return Switched{}, err
	}
	if to != "" {
		m, ok := before.Member(to)
		switch {
		case !ok:
			return Switched{}, notMember(to, before)
		case m.Name == old.Name:
			return Switched{}, fmt.Errorf("%s is the leader already; switch over to another member: %s", to, strings.Join(others(before, old.Name), ", "))
		case m.Role != patroni.RoleSyncStandby && syncStandby(before) != "":
			// Patroni would answer 412 "candidate name does not match with sync_standby".
			return Switched{}, fmt.Errorf("%s is not the synchronous standby, and in synchronous mode Patroni hands the leadership only to it: switch over to %s",
				to, syncStandby(before))
		}
	}

	start := time.Now()
	p := startProgress(ctx, pc, progress, start, "waiting for Patroni to switch over")
	msg, err := pc.Switchover(ctx, old.Name, to)
	if err != nil {
		p.end()
		return Switched{}, err
	}
	p.set("waiting for " + old.Name + " to follow the new leader")
	cl, err := pc.WaitFor(ctx, pollEvery, func(cl patroni.Cluster) bool {
		l, ok := cl.Leader()
		if !ok || l.Name == old.Name || l.State != "running" {
			return false
		}
		st, err := pc.Status(ctx, l.Name)
		return err == nil && health.Follows(health.FromPatroni(cl, st), old.Name) == ""
	})
	p.end()
	if err != nil {
		return Switched{}, fmt.Errorf("Patroni said %q, but the cluster did not settle within %v: %w", msg, timeout, err)
	}
	l, _ := cl.Leader()
	if to != "" && l.Name != to {
		return Switched{}, fmt.Errorf("Patroni made %s the leader instead of %s (it said %q)", l.Name, to, msg)
	}
	return Switched{From: old.Name, To: l.Name, Took: time.Since(start)}, nil
}

// waitSyncStandby returns cl when Patroni runs outside synchronous mode or cl has a
// synchronous standby; otherwise it waits until the cluster has one and returns it. In
// synchronous mode Patroni switches over to the synchronous standby alone, and answers 412
// "can not find sync_standby" while there is none: for a moment after a replica restarts or
// leaves, until the leader names another (CI, a rolling restart's switchover right after the
// last replica's restart).
func waitSyncStandby(ctx context.Context, pc *patroni.Client, cl patroni.Cluster, progress Progress) (patroni.Cluster, error) {
	if syncStandby(cl) != "" {
		return cl, nil
	}
	cfg, err := pc.Config(ctx)
	if err != nil {
		return cl, &UnreachableError{Err: err}
	}
	if !synchronousMode(cfg) {
		return cl, nil
	}
	p := startProgress(ctx, pc, progress, time.Now(), "waiting for Patroni to name a synchronous standby")
	defer p.end()
	cl, err = pc.WaitFor(ctx, pollEvery, func(cl patroni.Cluster) bool { return syncStandby(cl) != "" })
	if err != nil {
		return cl, fmt.Errorf("in synchronous mode Patroni switches over to the synchronous standby alone, and none was named: %w", err)
	}
	return cl, nil
}

// synchronousMode reports whether a dynamic configuration (GET /config) turns Patroni's
// synchronous mode on.
func synchronousMode(cfg map[string]any) bool {
	switch v := cfg["synchronous_mode"].(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true") || strings.EqualFold(v, "on")
	}
	return false
}

// notMember says that name is not a member of cl, whose members it lists.
func notMember(name string, cl patroni.Cluster) error {
	return fmt.Errorf("%s is not a Patroni member now (the members: %s); is its Patroni running?", name, cl)
}

// others lists the members of cl other than name.
func others(cl patroni.Cluster, name string) []string {
	var out []string
	for _, m := range cl.Members {
		if m.Name != name {
			out = append(out, m.Name)
		}
	}
	return out
}

// syncStandby is cl's synchronous standby, "" when it has none.
func syncStandby(cl patroni.Cluster) string {
	for _, m := range cl.Members {
		if m.Role == patroni.RoleSyncStandby {
			return m.Name
		}
	}
	return ""
}
