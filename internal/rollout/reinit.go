package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
)

// Reinitialized is a replica rebuilt.
type Reinitialized struct {
	Node   string        // the rebuilt replica
	Leader string        // the leader it was copied from, and streams from now
	Took   time.Duration // from the request until it streamed again
}

// ErrBusy is wrapped by Reinit's error when Patroni refused because the member is busy with
// something else (a restart, an earlier rebuild); Reinit with force cancels that instead.
var ErrBusy = errors.New("the member is busy")

// busyError is Patroni's refusal of a busy member: its text, and ErrBusy for errors.Is.
type busyError struct{ err error }

func (e busyError) Error() string   { return e.err.Error() }
func (e busyError) Unwrap() []error { return []error{e.err, ErrBusy} }

// Reinit has replica node's Patroni throw its data directory away and copy it anew from the
// leader, then waits until node runs again on a new PostgreSQL (its start time changed) and
// the leader lists it as a streaming replica on its timeline with a known lag
// (health.Follows). The leader cannot be rebuilt: the error names the member to switch over
// to first. force cancels what Patroni is busy with on node instead of refusing (ErrBusy).
// timeout bounds all of it, and is named in the error when node does not come back in time.
// progress, when not nil, is told about a long wait. On error the result is zero.
func Reinit(ctx context.Context, pc *patroni.Client, node string, force bool, timeout time.Duration, progress Progress) (Reinitialized, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	before, err := pc.Cluster(ctx)
	if err != nil {
		return Reinitialized{}, &UnreachableError{Err: err}
	}
	m, ok := before.Member(node)
	if !ok {
		return Reinitialized{}, notMember(node, before)
	}
	if _, ok := before.Leader(); !ok {
		return Reinitialized{}, fmt.Errorf("the cluster has no leader to rebuild %s from (%s)", node, before)
	}
	if m.IsLeader() {
		to := "NODE"
		if cand, ok := candidate(before); ok {
			to = cand
		}
		return Reinitialized{}, fmt.Errorf("%s is the leader: switch over first (pghac switchover --to %s)", node, to)
	}
	// PostgreSQL's start time tells the rebuilt server from the one running now; a member
	// whose PostgreSQL is down has none.
	var started string
	if st, err := pc.Status(ctx, node); err == nil {
		started = st.PostmasterStart
	}

	start := time.Now()
	p := startProgress(ctx, pc, progress, start, "waiting for "+node+" to be rebuilt")
	msg, err := pc.Reinitialize(ctx, node, force)
	if err != nil {
		p.end()
		return Reinitialized{}, refused(err)
	}
	cl, err := pc.WaitFor(ctx, pollEvery, func(cl patroni.Cluster) bool {
		l, ok := cl.Leader()
		m, found := cl.Member(node)
		if !ok || !found || m.Lag == nil {
			return false
		}
		lst, err := pc.Status(ctx, l.Name)
		if err != nil || health.Follows(health.FromPatroni(cl, lst), node) != "" {
			return false
		}
		st, err := pc.Status(ctx, node)
		return err == nil && st.PostmasterStart != "" && st.PostmasterStart != started
	})
	p.end()
	if err != nil {
		return Reinitialized{}, fmt.Errorf("Patroni said %q, but %s did not come back as a streaming replica within %v: %w", msg, node, timeout, err)
	}
	l, _ := cl.Leader()
	return Reinitialized{Node: node, Leader: l.Name, Took: time.Since(start)}, nil
}

// refused is the error of a refused reinitialize: a busyError when Patroni said that an
// action is in progress on the member ("reinitialize already in progress").
func refused(err error) error {
	var he *patroni.HTTPError
	if errors.As(err, &he) && strings.Contains(he.Message, "in progress") {
		return busyError{err}
	}
	return err
}

// candidate is the member to suggest for a switchover: the synchronous standby, else the
// first running replica.
func candidate(cl patroni.Cluster) (string, bool) {
	for _, m := range cl.Members {
		if m.Role == patroni.RoleSyncStandby && runs(m) {
			return m.Name, true
		}
	}
	for _, m := range cl.Members {
		if !m.IsLeader() && runs(m) {
			return m.Name, true
		}
	}
	return "", false
}

// runs reports whether replica m runs: Patroni 3.0.2 says "running", 3.0.4 and later
// "streaming" when it streams.
func runs(m patroni.Member) bool { return m.State == "running" || m.State == "streaming" }
