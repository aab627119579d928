package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/patroni"
)

// minEtcdMembers is the fewest etcd members a removal may leave: three survive losing one.
const minEtcdMembers = 3

// Removed is a node taken out of the cluster.
type Removed struct {
	Node string
	// From and To are the leadership handed over first, both "" when the node did not lead.
	From, To string
	// EtcdMember: its etcd member was removed (false: there was none by its name or peer
	// URL any more).
	EtcdMember bool
	Took       time.Duration // until the rest of the cluster was healthy without it
}

// Remove takes nodes out of the cluster for good while the keep nodes go on serving, one at
// a time: the leaving nodes tagged so that Patroni neither promotes them nor syncs to them
// (retire), a leaving leader first hands over to a node that stays (once; it then leaves last),
// then for each node its etcd member removed through a keep
// node (dial), machine(node) to stop and destroy its machine and its copy of the data, then
// a wait until Patroni no longer lists it (its member key expires with its TTL) and healthy
// passes. Before anything it refuses when a keep node does not run as a member under a
// leader, or when etcd would be left with fewer than three members. timeout bounds each
// wait. It returns what it removed before an error; removing again resumes (a node whose
// etcd member is gone already is no error).
func Remove(ctx context.Context, pc *patroni.Client, dial Dialer, keep, nodes []string, machine func(context.Context, string) error,
	healthy func(context.Context) error, timeout time.Duration, log func(string)) ([]Removed, error) {
	r := removal{pc: pc, dial: dial, keep: keep, leaving: nodes, machine: machine, healthy: healthy, timeout: timeout, log: log}
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return nil, &UnreachableError{Err: err}
	}
	for _, n := range nodes {
		if err := othersServe(cl, keep, n); err != nil {
			return nil, err
		}
	}
	if err := checkEtcdLeft(ctx, dial, keep, nodes); err != nil {
		return nil, err
	}
	// The leaving replicas are retired (retire.go) before anything leaves, so that the leader
	// syncs to and hands over to a node that stays.
	for _, n := range leavingReplicas(cl, nodes) {
		if err := retire(ctx, dial, n, log); err != nil {
			return nil, err
		}
	}
	// A leaving leader hands over first, to a node that stays: while it leads, the health gate
	// between the removals asks it, through endpoints that are the staying nodes' only.
	var handedOver Switched
	if l, ok := cl.Leader(); ok && slices.Contains(nodes, l.Name) {
		if handedOver, err = r.handOver(ctx, l.Name); err != nil {
			return nil, err
		}
	}
	var done []Removed
	for _, n := range removalOrder(cl, nodes) {
		rm, err := r.one(ctx, n)
		if err != nil {
			return done, err
		}
		if handedOver.From == n {
			rm.From, rm.To = handedOver.From, handedOver.To
		}
		done = append(done, rm)
	}
	return done, nil
}

// removal is one Remove's inputs, for its steps.
type removal struct {
	pc            *patroni.Client
	dial          Dialer
	keep, leaving []string
	machine       func(context.Context, string) error
	healthy       func(context.Context) error
	timeout       time.Duration
	log           func(string)
}

// removalOrder puts the leader last: the replicas leave first, and a leaving leader hands
// over once, to a node that stays.
func removalOrder(cl patroni.Cluster, nodes []string) []string {
	l, _ := cl.Leader()
	order := slices.Clone(nodes)
	slices.SortStableFunc(order, func(a, b string) int {
		switch {
		case a == l.Name:
			return 1
		case b == l.Name:
			return -1
		}
		return 0
	})
	return order
}

// checkEtcdLeft refuses a removal that would leave etcd fewer than minEtcdMembers members,
// counted from etcd's own list (not every node need run one).
func checkEtcdLeft(ctx context.Context, dial Dialer, keep, nodes []string) error {
	c, err := dialAny(ctx, dial, keep)
	if err != nil {
		return err
	}
	defer c.Close()
	ms, err := etcdMembers(ctx, c)
	if err != nil {
		return err
	}
	var left []string
	for _, m := range ms {
		if !slices.Contains(nodes, m.Name) {
			left = append(left, m.Name)
		}
	}
	if len(left) < minEtcdMembers && len(left) < len(ms) {
		return fmt.Errorf("removing %s would leave etcd %d members (%s); it needs %d to survive losing one: keep more nodes",
			strings.Join(nodes, ", "), len(left), strings.Join(left, ", "), minEtcdMembers)
	}
	return nil
}

// dialAny connects to the first of nodes that answers.
func dialAny(ctx context.Context, dial Dialer, nodes []string) (Conn, error) {
	var errs []error
	for _, n := range nodes {
		c, err := dial(ctx, n)
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", n, err))
	}
	return nil, fmt.Errorf("no node to run etcdctl on: %w", errors.Join(errs...))
}

// one removes node: hands over first if it leads, retires it, waits until Patroni syncs to a
// node that stays, removes its etcd member and its machine, and waits until the cluster is
// healthy without it.
func (r removal) one(ctx context.Context, node string) (Removed, error) {
	pc, dial, keep, log := r.pc, r.dial, r.keep, r.log
	start := time.Now()
	done := Removed{Node: node}
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return done, &UnreachableError{Err: err}
	}
	if err := othersServe(cl, keep, node); err != nil {
		return done, err
	}
	if l, _ := cl.Leader(); l.Name == node { // it took the leadership since Remove began
		sw, err := r.handOver(ctx, node)
		if err != nil {
			return done, err
		}
		done.From, done.To = sw.From, sw.To
	}
	// Retired already, unless it could not be reached then; and until Patroni syncs to a node
	// that stays, its leaving would hold up every commit.
	if err := retire(ctx, dial, node, log); err != nil {
		return done, err
	}
	if err := waitSyncStays(ctx, pc, keep, r.leaving, r.timeout, log); err != nil {
		return done, err
	}

	c, err := dialAny(ctx, dial, keep)
	if err != nil {
		return done, err
	}
	done.EtcdMember, err = removeEtcdMember(ctx, c, node)
	c.Close()
	if err != nil {
		return done, err
	}
	if done.EtcdMember {
		log(fmt.Sprintf("removed %s's etcd member", node))
	}

	log(fmt.Sprintf("stopping and destroying %s's machine", node))
	if err := r.machine(ctx, node); err != nil {
		return done, fmt.Errorf("removing %s's machine: %w", node, err)
	}
	log(fmt.Sprintf("waiting for Patroni to forget %s and the cluster to be healthy without it", node))
	wctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	_, err = pc.WaitFor(wctx, pollEvery, func(cl patroni.Cluster) bool {
		_, listed := cl.Member(node)
		return !listed
	})
	if err == nil {
		err = r.healthy(wctx)
	}
	if err != nil {
		return done, fmt.Errorf("the cluster was not healthy without %s within %v: %w", node, r.timeout, err)
	}
	done.Took = time.Since(start)
	return done, nil
}

// handOver switches over from node, which leads, to the member of keep that succeeds it,
// once Patroni syncs to one of them (in synchronous mode it switches over to the synchronous
// standby alone), and then retires node.
func (r removal) handOver(ctx context.Context, node string) (Switched, error) {
	if err := waitSyncStays(ctx, r.pc, r.keep, r.leaving, r.timeout, r.log); err != nil {
		return Switched{}, err
	}
	cl, err := r.pc.Cluster(ctx)
	if err != nil {
		return Switched{}, &UnreachableError{Err: err}
	}
	to := successor(cl, r.keep)
	r.log(fmt.Sprintf("%s leads: switching over to %s, which stays", node, to))
	sw, err := Switchover(ctx, r.pc, to, r.timeout, nil)
	if err != nil {
		return Switched{}, fmt.Errorf("switching over from %s before its removal: %w", node, err)
	}
	r.log(fmt.Sprintf("%s leads now (switched over in %s)", sw.To, sw.Took.Round(100*time.Millisecond)))
	return sw, retire(ctx, r.dial, node, r.log)
}

// successor is the member of keep a leaving leader hands over to: the synchronous standby
// when one stays (Patroni's synchronous mode accepts no other), else the first streaming
// replica. "" (Patroni's pick) when none qualifies, which othersServe rules out.
func successor(cl patroni.Cluster, keep []string) string {
	pick := ""
	for _, n := range keep {
		m, ok := cl.Member(n)
		switch {
		case !ok || m.IsLeader() || !runs(m):
		case m.Role == patroni.RoleSyncStandby:
			return n
		case pick == "":
			pick = n
		}
	}
	return pick
}
