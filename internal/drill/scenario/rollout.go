package scenario

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/rollout"
)

// The rollout drills change the running cluster the way `pghac up` and `pghac apply` roll a
// change out (internal/rollout's Apply: files over SSH, reloads, restarts, one node at a time,
// health-gated), under the drill's load, and then change it back.

const pgbouncerINI = "/etc/pgbouncer/pgbouncer.ini"

// healthyAfter is the health gate between rollout steps: a sample taken after from shows
// every member healthy. It records nothing (the run's recovery is after its heal).
func (r *run) healthyAfter(from time.Time) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, why, err := r.whole(ctx, from)
		if err != nil {
			return fmt.Errorf("%w: %s", err, why)
		}
		return nil
	}
}

// rollOut applies l with the rollout engine, logging its steps.
func (r *run) rollOut(ctx context.Context, l rollout.Live) error {
	if r.env.Dial == nil {
		return errors.New("the drill has no way to reach the nodes (Env.Dial)")
	}
	healthy := r.healthyAfter(time.Now())
	// The drills roll out to a healthy cluster: l.Broken is empty, and so is except.
	done, err := rollout.Apply(ctx, l, r.env.Dial, r.env.Patroni, func(ctx context.Context, _ []string) error { return healthy(ctx) }, r.env.RecoveryTimeout, func(msg string) { r.logf("  %s", msg) })
	if err != nil {
		return err
	}
	r.logf("rolled out in %s (restarted: %v)", done.Took.Round(100*time.Millisecond), done.Configured.Restarted)
	return nil
}

// parameter is a PostgreSQL parameter's value in the dynamic configuration.
func (r *run) parameter(ctx context.Context, name string) (any, error) {
	cfg, err := r.env.Patroni.Config(ctx)
	if err != nil {
		return nil, err
	}
	pg, _ := cfg["postgresql"].(map[string]any)
	params, _ := pg["parameters"].(map[string]any)
	v, ok := params[name]
	if !ok {
		return nil, fmt.Errorf("the dynamic configuration has no %s", name)
	}
	return v, nil
}

// iniChange is every node's pgbouncer.ini with line from replaced by line to.
func (r *run) iniChange(ctx context.Context, from, to string) ([]rollout.NodePlan, error) {
	var plans []rollout.NodePlan
	for _, n := range r.env.Nodes {
		c, err := r.env.Dial(ctx, n)
		if err != nil {
			return nil, err
		}
		files, err := c.ReadFiles(ctx, []string{pgbouncerINI})
		c.Close()
		if err != nil {
			return nil, err
		}
		f := files[pgbouncerINI]
		if !strings.Contains(string(f.Content), "\n"+from+"\n") {
			return nil, fmt.Errorf("%s: %s has no line %q", n, pgbouncerINI, from)
		}
		changed := strings.Replace(string(f.Content), "\n"+from+"\n", "\n"+to+"\n", 1)
		plans = append(plans, rollout.NodePlan{Node: n, Files: []rollout.FileChange{{
			File:    rollout.File{Path: pgbouncerINI, Content: []byte(changed), Mode: f.Mode, Owner: f.Owner},
			Kind:    "changed",
			Actions: rollout.ActionsFor(pgbouncerINI),
		}}})
	}
	return plans, nil
}

// showEverywhere waits until every node's PostgreSQL runs parameter at want: Patroni applies
// a dynamic setting that needs no restart on its next cycle.
func (r *run) showEverywhere(ctx context.Context, parameter, want string) error {
	ctx, cancel := context.WithTimeout(ctx, r.env.FaultTimeout)
	defer cancel()
	for _, n := range r.env.Nodes {
		for {
			got, err := r.show(ctx, n, parameter)
			if err == nil && got == want {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s runs %s = %q (%v), want %s", n, parameter, got, err, want)
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	r.logf("every node runs %s = %s", parameter, want)
	return nil
}

// show is SHOW parameter on node's PostgreSQL, over SSH.
func (r *run) show(ctx context.Context, node, parameter string) (string, error) {
	return r.psql(ctx, node, "SHOW "+parameter)
}

// rolloutReload changes a parameter PostgreSQL reloads (work_mem, through Patroni's dynamic
// configuration) and a PgBouncer setting (every node's pgbouncer.ini, then RELOAD), then
// changes both back.
func rolloutReload(ctx context.Context, r *run) error {
	old, err := r.parameter(ctx, "work_mem")
	if err != nil {
		return err
	}
	const temp = "13MB"
	change := func(want any, from, to string) (rollout.Live, error) {
		nodes, err := r.iniChange(ctx, from, to)
		return rollout.Live{Nodes: nodes, Settings: []rollout.Setting{{Key: "postgresql.parameters.work_mem", Want: want}}}, err
	}
	forth, err := change(temp, "max_client_conn = 1000", "max_client_conn = 999")
	if err != nil {
		return err
	}
	if err := r.fault(fmt.Sprintf("roll out work_mem %v -> %s and PgBouncer's max_client_conn 1000 -> 999", old, temp),
		func() error { return r.rollOut(ctx, forth) }); err != nil {
		return err
	}
	if err := r.showEverywhere(ctx, "work_mem", temp); err != nil {
		return err
	}
	back, err := change(old, "max_client_conn = 999", "max_client_conn = 1000")
	if err != nil {
		return err
	}
	return r.heal("roll both back", func() error { return r.rollOut(ctx, back) })
}

// rolloutRestart raises max_connections, which PostgreSQL takes only at a restart (the
// replicas, then a switchover), then lowers it back (the leader first, in place).
func rolloutRestart(ctx context.Context, r *run) error {
	v, err := r.parameter(ctx, "max_connections")
	if err != nil {
		return err
	}
	var old int
	if _, err := fmt.Sscan(rollout.ScalarText(v), &old); err != nil {
		return fmt.Errorf("max_connections %v: %w", v, err)
	}
	setting := func(n int) rollout.Live {
		return rollout.Live{Settings: []rollout.Setting{{Key: "postgresql.parameters.max_connections", Have: v, Want: fmt.Sprint(n)}}, Restart: true}
	}
	if err := r.fault(fmt.Sprintf("roll out max_connections %d -> %d (a rolling restart)", old, old+20),
		func() error { return r.rollOut(ctx, setting(old+20)) }); err != nil {
		return err
	}
	if err := r.showEverywhere(ctx, "max_connections", fmt.Sprint(old+20)); err != nil {
		return err
	}
	raised := setting(old)
	raised.Settings[0].Have = fmt.Sprint(old + 20) // lowered: the leader first
	return r.heal(fmt.Sprintf("roll max_connections back to %d (the leader first)", old), func() error { return r.rollOut(ctx, raised) })
}
