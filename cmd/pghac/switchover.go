package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
)

var switchoverCommand = &command{
	name:     "switchover",
	synopsis: "[--to NODE] [--timeout DURATION] [-f cluster.hcl] [--state-dir DIR]",
	summary:  "hand the sandbox cluster's leadership to another node (a planned Patroni switchover)",
	detail: `Asks Patroni for a switchover: the leader stops accepting writes, the chosen
replica is promoted once it has every WAL record, and the old leader comes back as
a replica of it. Without --to, Patroni picks the candidate (the synchronous
standby in synchronous mode, else a healthy replica).

pghac finds the leader in Patroni's /cluster, sends the request to it with the
REST API's password from the sandbox's secrets (never printed), and waits until
the new leader runs and the old one streams from it as a replica. While it waits
longer than a moment it prints the members' states on stderr every second. At the
end it prints, on stdout:

  switched over from node0 to node1 in 2.3s

Exits 0 when the switchover is done, 2 on a bad command line (--to naming no node
of the cluster file), 4 when it could not be done or did not finish within
--timeout: the sandbox is not up, --to is the leader already or not a running
member, Patroni refused (its message is shown) or made another node the leader.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, false)
		to := fs.String("to", "", "make `NODE` the leader (default: the replica Patroni picks)")
		timeout := fs.Duration("timeout", 60*time.Second, "give up after `DURATION` (default 60s)")
		return func(c *cli, _ []string) int {
			if *timeout <= 0 {
				return c.usageError(lookup("switchover"), "--timeout must be positive")
			}
			s, code, ok := c.sandboxSite("switchover", f)
			if !ok {
				return code
			}
			cl, code, ok := c.loadQuiet("switchover", s.File)
			if !ok {
				return code
			}
			if *to != "" && !hasNode(cl, *to) {
				return c.usageError(lookup("switchover"), fmt.Sprintf("--to %s: %s", *to, noNode(cl, *to, s.File)))
			}
			pc, ok := c.sandboxPatroni("switchover", s, cl)
			if !ok {
				return exitRuntime
			}
			ctx, cancel := context.WithTimeout(c.ctx, *timeout)
			defer cancel()
			return c.switchover(ctx, pc, *to, *timeout)
		}
	},
}

// hasNode reports whether cl has a node called name.
func hasNode(cl *model.Cluster, name string) bool {
	return slices.ContainsFunc(cl.Nodes, func(n model.Node) bool { return n.Name == name })
}

// noNode says that file has no node name, and which it has.
func noNode(cl *model.Cluster, name, file string) string {
	names := make([]string, len(cl.Nodes))
	for i, n := range cl.Nodes {
		names[i] = n.Name
	}
	return fmt.Sprintf("%s has no node %q; its nodes are %s", file, name, strings.Join(names, ", "))
}

// sandboxPatroni is a client of the sandbox's Patroni REST APIs with the password from its
// secrets. It reports, and returns false, when the sandbox has no secrets or no running
// machine: Patroni's addresses lead nowhere then.
func (c *cli) sandboxPatroni(cmd string, s site.Site, cl *model.Cluster) (*patroni.Client, bool) {
	vars, err := infra.StringVars(s.Secrets())
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: the sandbox's secrets: %v; is the sandbox up (pghac up)?\n", cmd, err)
		return nil, false
	}
	password := vars[string(model.SecretRestAPIPassword)]
	if password == "" {
		fmt.Fprintf(c.stderr, "pghac %s: %s holds no %s; is the sandbox up (pghac up)?\n", cmd, s.Secrets(), model.SecretRestAPIPassword)
		return nil, false
	}
	ms, err := sandbox.Machines(sandboxConfig(s, cl, nil))
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		return nil, false
	}
	if !slices.ContainsFunc(ms, sandbox.Machine.Running) {
		fmt.Fprintf(c.stderr, "pghac %s: the sandbox is not running: start it with 'pghac up'\n", cmd)
		return nil, false
	}
	return &patroni.Client{Endpoints: health.PatroniEndpoints(cl), Username: model.RestAPIUser, Password: password}, true
}

// pollEvery is how often the commands ask /cluster while they wait.
const pollEvery = 500 * time.Millisecond

// switchover switches over from the current leader to to ("" for Patroni's pick) and waits
// until the old leader streams from the new one. ctx bounds all of it; timeout is only
// named in messages.
func (c *cli) switchover(ctx context.Context, pc *patroni.Client, to string, timeout time.Duration) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(c.stderr, "pghac switchover: "+format+"\n", args...)
		return exitRuntime
	}
	before, err := pc.Cluster(ctx)
	if err != nil {
		return fail("Patroni does not answer; is the sandbox up (pghac status)? %v", err)
	}
	old, ok := before.Leader()
	if !ok {
		return fail("the cluster has no leader to switch over from (%s)", before)
	}
	if to != "" {
		m, ok := before.Member(to)
		switch {
		case !ok:
			return fail("%s is not a Patroni member now (the members: %s); is its Patroni running?", to, before)
		case m.Name == old.Name:
			return fail("%s is the leader already; switch over to another member: %s", to, strings.Join(others(before, old.Name), ", "))
		}
	}

	start := time.Now()
	p := c.startProgress(ctx, pc, start, "waiting for Patroni to switch over")
	msg, err := pc.Switchover(ctx, old.Name, to)
	if err != nil {
		p.end()
		return fail("%v", err)
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
		return fail("Patroni said %q, but the cluster did not settle within %v: %v", msg, timeout, err)
	}
	l, _ := cl.Leader()
	if to != "" && l.Name != to {
		return fail("Patroni made %s the leader instead of %s (it said %q)", l.Name, to, msg)
	}
	fmt.Fprintf(c.stdout, "switched over from %s to %s in %.1fs\n", old.Name, l.Name, time.Since(start).Seconds())
	return exitOK
}

// runs reports whether replica m runs: Patroni 3.0.2 says "running", 3.0.4 and later
// "streaming" when it streams.
func runs(m patroni.Member) bool { return m.State == "running" || m.State == "streaming" }

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

// Progress shows on stderr, once a second after the first few, what the cluster looks like,
// so that a wait that takes long shows why.
const (
	progressAfter = 2 * time.Second
	progressEvery = time.Second
)

// progress is the goroutine that shows the members' states while a command waits.
type progress struct {
	mu    sync.Mutex
	phase string

	cancel context.CancelFunc
	done   chan struct{}
}

// startProgress starts showing the states of pc's cluster, after phase, once the command has
// run progressAfter since start. End it before writing anything else to stderr.
func (c *cli) startProgress(ctx context.Context, pc *patroni.Client, start time.Time, phase string) *progress {
	ctx, cancel := context.WithCancel(ctx)
	p := &progress{phase: phase, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
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
			p.mu.Lock()
			fmt.Fprintf(c.stderr, "  [%3ds] %s: %s\n", int(time.Since(start).Seconds()), p.phase, state)
			p.mu.Unlock()
		}
	}()
	return p
}

// set changes what the progress lines say the command waits for.
func (p *progress) set(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

// end stops the progress lines and returns once the last is written.
func (p *progress) end() {
	p.cancel()
	<-p.done
}
