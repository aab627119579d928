package scenario

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pghac/pghac/internal/sandbox"
)

// The scale drills change the cluster's shape the way people do: node blocks added to the
// cluster file and `pghac up`, then taken out and `pghac up --allow-replace` (Env.ScaleOut,
// Env.ScaleIn), under the drill's load.

// addedNodes is how many nodes the scale drills add: etcd wants an odd number of members.
const addedNodes = 2

// scaleOut adds two nodes, checks that each holds the leader's rows and is an etcd member,
// then takes them out again.
func scaleOut(ctx context.Context, r *run) error {
	if r.env.ScaleOut == nil || r.env.ScaleIn == nil {
		return errors.New("the drill has no way to change the cluster's shape (Env.ScaleOut, Env.ScaleIn)")
	}
	var added []string
	err := r.fault(fmt.Sprintf("add %d nodes to the cluster file and pghac up", addedNodes), func() error {
		var err error
		added, err = r.env.ScaleOut(ctx, addedNodes)
		return err
	})
	if err != nil {
		return err
	}
	for _, n := range added {
		if err := r.sameRows(ctx, n); err != nil {
			return err
		}
	}
	if err := r.etcdMembers(ctx, len(r.env.Nodes)+len(added), added, nil); err != nil {
		return err
	}
	return r.heal("take "+strings.Join(added, ", ")+" out again (pghac up --allow-replace)", func() error {
		return r.env.ScaleIn(ctx, added)
	})
}

// scaleIn adds two nodes (before the fault), then takes them out: the fault; their etcd
// members and machines must be gone after.
func scaleIn(ctx context.Context, r *run) error {
	if r.env.ScaleOut == nil || r.env.ScaleIn == nil {
		return errors.New("the drill has no way to change the cluster's shape (Env.ScaleOut, Env.ScaleIn)")
	}
	r.logf("setup: add %d nodes to take out", addedNodes)
	added, err := r.env.ScaleOut(ctx, addedNodes)
	if err != nil {
		return fmt.Errorf("adding the nodes to take out: %w", err)
	}
	err = r.fault("take "+strings.Join(added, ", ")+" out of the cluster file and pghac up --allow-replace", func() error {
		return r.env.ScaleIn(ctx, added)
	})
	if err != nil {
		return err
	}
	return r.heal("check that their etcd members and machines are gone", func() error {
		if err := r.etcdMembers(ctx, len(r.env.Nodes), nil, added); err != nil {
			return err
		}
		ms, err := sandbox.Machines(r.env.Sandbox)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if slices.Contains(added, m.Name) {
				return fmt.Errorf("%s's machine is still there", m.Name)
			}
		}
		return nil
	})
}

// etcdMembers checks, on the first node, that etcd has want started members, among them
// every one of has and none of hasNot.
func (r *run) etcdMembers(ctx context.Context, want int, has, hasNot []string) error {
	c, err := r.env.Dial(ctx, r.env.Nodes[0])
	if err != nil {
		return err
	}
	defer c.Close()
	out, err := c.Run(ctx, "etcdctl member list", nil)
	if err != nil {
		return err
	}
	list := string(out)
	if got := strings.Count(list, ", started, "); got != want {
		return fmt.Errorf("etcd has %d started members, want %d:\n%s", got, want, list)
	}
	for _, n := range has {
		if !strings.Contains(list, ", "+n+", ") {
			return fmt.Errorf("%s is not an etcd member:\n%s", n, list)
		}
	}
	for _, n := range hasNot {
		if strings.Contains(list, ", "+n+", ") {
			return fmt.Errorf("%s is still an etcd member:\n%s", n, list)
		}
	}
	r.logf("etcd has %d started members", want)
	return nil
}
