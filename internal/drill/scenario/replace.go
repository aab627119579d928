package scenario

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/drill/workload"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/sandbox"
)

// replaceNode replaces the leader's machine the way `pghac up --replace` does (rollout.Replace:
// a switchover, the machine and its data destroyed and made anew through Terraform, its
// member back as a streaming replica), then checks that the new machine is new and holds
// every row the leader has.
func replaceNode(ctx context.Context, r *run) error {
	if r.env.ReplaceMachine == nil {
		return errors.New("the drill has no way to replace a machine (Env.ReplaceMachine)")
	}
	l, err := r.leader()
	if err != nil {
		return err
	}
	before, err := r.hostKey(ctx, l)
	if err != nil {
		return err
	}
	err = r.fault("replace the leader's machine "+l+": a switchover, then Terraform replaces it", func() error {
		machine := func(ctx context.Context) error { return r.env.ReplaceMachine(ctx, l) }
		done, err := rollout.Replace(ctx, r.env.Patroni, r.env.Nodes, l, machine, r.healthyAfter(time.Now()), r.env.RecoveryTimeout,
			func(msg string) { r.logf("  %s", msg) })
		if err == nil {
			r.logf("%s replaced in %s (leadership %s -> %s)", l, done.Took.Round(100*time.Millisecond), done.From, done.To)
		}
		return err
	})
	if err != nil {
		return err
	}
	after, err := r.hostKey(ctx, l)
	if err != nil {
		return err
	}
	if after == before {
		return fmt.Errorf("%s has the host key it had before: its machine was not replaced", l)
	}
	return r.heal("check that "+l+"'s new machine holds every row the leader has", func() error { return r.sameRows(ctx, l) })
}

// hostKey is the SSH host key node's machine made at its first boot: a new machine has a new one.
func (r *run) hostKey(ctx context.Context, node string) (string, error) {
	out, _, err := sandbox.Exec(ctx, r.env.Sandbox, node, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
	if err != nil {
		return "", fmt.Errorf("%s's host key: %w", node, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// sameRows waits until node's copy of the drill table holds the rows the leader's held up to
// its highest id when asked.
func (r *run) sameRows(ctx context.Context, node string) error {
	l, err := r.leader()
	if err != nil {
		return err
	}
	top, err := r.psql(ctx, l, "SELECT coalesce(max(id), 0) FROM "+workload.Table)
	if err != nil {
		return err
	}
	count := "SELECT count(*) FROM " + workload.Table + " WHERE id <= " + top
	want, err := r.psql(ctx, l, count)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.env.FaultTimeout)
	defer cancel()
	for {
		got, err := r.psql(ctx, node, count)
		if err == nil && got == want {
			r.logf("%s holds the leader's %s rows up to id %s", node, want, top)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s holds %s rows up to id %s (%v), the leader %s %s", node, got, top, err, l, want)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// psql runs query in the superuser's database on node's PostgreSQL, over SSH, and returns
// its one value. A node the drill's cluster file does not have (one a scale drill added) is
// reached through its machine instead.
func (r *run) psql(ctx context.Context, node, query string) (string, error) {
	argv := []string{"runuser", "-u", "postgres", "--", "psql", "-XAt", "-d", r.env.Load.Database, "-c", query}
	if !slices.Contains(r.env.Nodes, node) {
		out, _, err := sandbox.Exec(ctx, r.env.Sandbox, node, argv...)
		return strings.TrimSpace(string(out)), err
	}
	c, err := r.env.Dial(ctx, node)
	if err != nil {
		return "", err
	}
	defer c.Close()
	out, err := c.Run(ctx, strings.Join(argv[:len(argv)-1], " ")+" '"+query+"'", nil)
	return strings.TrimSpace(string(out)), err
}
