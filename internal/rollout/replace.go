package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
)

// Replaced is a node's machine replaced.
type Replaced struct {
	Node string
	// From is the leader the node handed over from, To the member that took over; both ""
	// when the node did not lead.
	From, To string
	Took     time.Duration // from the start until the new machine's member streamed
}

// Replace replaces node's machine while the other nodes serve: node must not be the last
// of anything, so every other node of nodes (the cluster's) must run as a member; when node
// leads, a switchover hands the leadership to another member first. machine then replaces
// the machine (the target's Terraform: the old one and its data destroyed, a new one booted
// from the same user-data, which joins the etcd cluster and copies the data from the
// leader). Replace waits until the new member streams from the leader and healthy (the
// health gate between rollout steps) passes; timeout bounds the switchover and that wait
// each. log gets a line per step. On error the result is zero and nothing further was done.
func Replace(ctx context.Context, pc *patroni.Client, nodes []string, node string, machine, healthy func(context.Context) error,
	timeout time.Duration, log func(string)) (Replaced, error) {
	return Disrupt(ctx, pc, nodes, node, Disruption{
		Doing:   fmt.Sprintf("replacing %s's machine", node),
		Waiting: fmt.Sprintf("waiting for %s's new machine to join and copy the data", node),
		Failed:  fmt.Sprintf("%s's new machine did not join as a streaming replica", node),
	}, machine, healthy, timeout, log)
}

// Disruption says, for the log and errors, what Disrupt does to a node's machine.
type Disruption struct {
	Doing   string // "replacing node1's machine"
	Waiting string // what it waits for after
	Failed  string // what did not happen in time
}

// Disrupt is Replace for any change that takes node's machine down and brings it back as
// a member (machine does it: a replacement, or a stop to update the VM in place), d saying
// which.
func Disrupt(ctx context.Context, pc *patroni.Client, nodes []string, node string, d Disruption, machine, healthy func(context.Context) error,
	timeout time.Duration, log func(string)) (Replaced, error) {
	start := time.Now()
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return Replaced{}, &UnreachableError{Err: err}
	}
	if err := othersServe(cl, nodes, node); err != nil {
		return Replaced{}, err
	}
	done := Replaced{Node: node}
	if l, _ := cl.Leader(); l.Name == node {
		log(fmt.Sprintf("%s leads: switching over to another member first", node))
		sw, err := Switchover(ctx, pc, "", timeout, nil)
		if err != nil {
			return Replaced{}, fmt.Errorf("switching over from %s before %s: %w", node, d.Doing, err)
		}
		done.From, done.To = sw.From, sw.To
		log(fmt.Sprintf("%s leads now (switched over in %s)", sw.To, sw.Took.Round(100*time.Millisecond)))
	}

	log(d.Doing)
	if err := machine(ctx); err != nil {
		return Replaced{}, fmt.Errorf("%s: %w", d.Doing, err)
	}
	log(d.Waiting)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = pc.WaitFor(wctx, pollEvery, func(cl patroni.Cluster) bool {
		l, ok := cl.Leader()
		if !ok || l.Name == node {
			return false
		}
		st, err := pc.Status(wctx, l.Name)
		return err == nil && health.Follows(health.FromPatroni(cl, st), node) == ""
	})
	if err == nil {
		err = healthy(wctx)
	}
	if err != nil {
		return Replaced{}, fmt.Errorf("%s within %v: %w", d.Failed, timeout, err)
	}
	done.Took = time.Since(start)
	return done, nil
}

// othersServe says why the cluster cl cannot lose node for a while: another node of nodes
// is not a running member, or there is no running leader other than node to hand over to.
func othersServe(cl patroni.Cluster, nodes []string, node string) error {
	var down []string
	for _, n := range nodes {
		if n == node {
			continue
		}
		if m, ok := cl.Member(n); !ok || !(runs(m) || m.IsLeader() && m.State == "running") {
			down = append(down, n)
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("%s does not run as a member (%s): replacing %s now would leave too few to serve; bring %s back first",
			strings.Join(down, ", "), cl, node, strings.Join(down, ", "))
	}
	if _, ok := cl.Leader(); !ok {
		return fmt.Errorf("the cluster has no leader (%s): it must serve before a machine is replaced", cl)
	}
	return nil
}
