package scenario

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/sandbox"
)

const haproxyCfg = "/etc/haproxy/haproxy.cfg"

// mendNode breaks a replica's HAProxy by hand (a line HAProxy cannot read appended to its
// configuration, HAProxy restarted: it stops), then mends it the way `pghac up` does when a
// node has problems its change touches (rollout.Apply with the node in Live.Broken: the
// generated file written to it first, HAProxy started by the reload action), and checks that
// HAProxy runs the generated file again.
func mendNode(ctx context.Context, r *run) error {
	l, err := r.leader()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(r.env.Nodes, func(n string) bool { return n != l })
	if i < 0 {
		return fmt.Errorf("no replica: the nodes are %v", r.env.Nodes)
	}
	node := r.env.Nodes[i]
	c, err := r.env.Dial(ctx, node)
	if err != nil {
		return err
	}
	files, err := c.ReadFiles(ctx, []string{haproxyCfg})
	c.Close()
	if err != nil {
		return err
	}
	good := files[haproxyCfg]
	if !good.Exists {
		return fmt.Errorf("%s has no %s", node, haproxyCfg)
	}
	err = r.fault(fmt.Sprintf("%s's HAProxy configuration broken by hand and HAProxy restarted: it stops", node), func() error {
		if _, _, err := sandbox.Exec(ctx, r.env.Sandbox, node, "sh", "-c", "echo 'this is not haproxy' >> "+haproxyCfg+" && systemctl restart haproxy"); err == nil {
			return fmt.Errorf("%s's HAProxy restarted with a configuration it cannot read", node)
		}
		if err := r.systemctl(ctx, node, "is-active", "--quiet", "haproxy"); err == nil {
			return fmt.Errorf("%s's HAProxy runs with a configuration it cannot read", node)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sleep(ctx, r.env.Warmup) // the load meets the broken node for as long as it ran before
	return r.heal("pghac up's mend: the generated "+haproxyCfg+" to "+node+" first, HAProxy started by its reload", func() error {
		l := rollout.Live{Broken: []string{node}, Nodes: []rollout.NodePlan{{Node: node, Files: []rollout.FileChange{{
			File: rollout.File{Path: haproxyCfg, Content: good.Content, Mode: good.Mode, Owner: good.Owner}, Kind: "changed",
			Actions: rollout.ActionsFor(haproxyCfg),
		}}}}}
		if err := r.rollOut(ctx, l); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, r.env.FaultTimeout)
		defer cancel()
		for r.systemctl(ctx, node, "is-active", "--quiet", "haproxy") != nil {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s's HAProxy does not run after the mend", node)
			case <-time.After(500 * time.Millisecond):
			}
		}
		r.logf("%s's HAProxy runs the generated configuration again", node)
		return nil
	})
}
