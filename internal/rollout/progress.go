package rollout

import (
	"context"
	"sync"
	"time"

	"github.com/pghac/pghac/internal/patroni"
)

// Step is what a waiting operation tells its Progress.
type Step struct {
	Elapsed time.Duration // since the operation sent its request to Patroni
	Phase   string        // what it waits for, like "waiting for node0 to follow the new leader"
	State   string        // the members as Patroni lists them, or "no member answers"
}

// Progress is told, once a second after the first two, what a waiting operation waits for
// and what the cluster looks like, so that a wait that takes long shows why. The calls come
// one at a time from one goroutine, and the last has returned when the operation returns.
type Progress func(Step)

// A wait shorter than progressAfter reports nothing: most switchovers are over by then.
const (
	progressAfter = 2 * time.Second
	progressEvery = time.Second
)

// pollEvery is how often the operations ask /cluster while they wait.
const pollEvery = 500 * time.Millisecond

// reporter is the goroutine that tells a Progress the cluster's state while an operation
// waits. A nil *reporter (no Progress) does nothing.
type reporter struct {
	mu    sync.Mutex
	phase string

	cancel context.CancelFunc
	done   chan struct{}
}

// startProgress starts telling report pc's cluster state, after phase, once the operation
// has run progressAfter since start. It returns nil when report is nil.
func startProgress(ctx context.Context, pc *patroni.Client, report Progress, start time.Time, phase string) *reporter {
	if report == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &reporter{phase: phase, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if time.Since(start) < progressAfter {
				continue
			}
			state := "no member answers"
			if cl, err := pc.Cluster(ctx); err == nil {
				state = cl.String()
			} else if ctx.Err() != nil {
				return
			}
			r.mu.Lock()
			phase := r.phase
			r.mu.Unlock()
			report(Step{Elapsed: time.Since(start), Phase: phase, State: state})
		}
	}()
	return r
}

// set changes what the reports say the operation waits for.
func (r *reporter) set(phase string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.phase = phase
	r.mu.Unlock()
}

// end stops the reports and returns once the last has returned, so that the caller's next
// output comes after it.
func (r *reporter) end() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}
