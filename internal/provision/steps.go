package provision

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/rollout"
)

// Disruption is a database VM that a plan takes down while keeping the node: replaced (a
// new boot disk, image or zone; the data copied anew from the leader) or updated in place
// in a way that stops it (cores, memory, platform: allow_stopping_for_update). Applied in
// one go, Terraform would do all of them at once and the cluster would lose its quorum, or
// every copy of its data; pghac applies them one node at a time, the cluster healthy
// before the next.
type Disruption struct {
	Node    string
	Replace bool     // false: stopped and updated in place
	Why     []string // the attribute paths that force it (infra.Change.ReplacePaths, Updated)
}

// topAttr is the top-level attribute of an attribute path: "resources" of "resources[0].cores".
func topAttr(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// harmless are the attributes of a VM that an update in place changes without stopping it.
// The user-data in metadata reaches no running node (cloud-init reads it at first boot only):
// the live rollout carries its content.
var harmless = []string{"metadata", "labels", "description", "allow_stopping_for_update"}

// Disruptions are the database VMs of cl that p replaces or stops to update, in node order.
// A VM p creates or destroys is a node added or removed, not disrupted.
func Disruptions(p *infra.Plan, cl *model.Cluster) []Disruption {
	var out []Disruption
	for _, n := range cl.NodeNames() {
		addr := MachineAddress(cl.Target, n)
		for _, ch := range p.Summary.Changes {
			if ch.Address != addr || ch.Deposed {
				continue
			}
			switch ch.Action {
			case infra.ActionReplace:
				why := ch.ReplacePaths
				if len(why) == 0 && ch.Reason != "" {
					why = []string{ch.Reason} // replace_by_request: plan --replace
				}
				out = append(out, Disruption{Node: n, Replace: true, Why: why})
			case infra.ActionUpdate:
				var why []string
				for _, a := range ch.Updated {
					if !slices.Contains(harmless, topAttr(a)) {
						why = append(why, a)
					}
				}
				if len(why) > 0 {
					out = append(out, Disruption{Node: n, Why: why})
				}
			}
		}
	}
	return out
}

// Moves are the disruptions that put a running node's VM somewhere else on the network
// (another address, subnet or zone), replaced or updated in place. No rollout carries one:
// the other nodes know the node by its address (etcd's peers, Patroni's etcd hosts,
// HAProxy's servers) until the live rollout that follows Terraform, so the moved node could
// not rejoin before its step's health gate gave up. A new node at the new place, then the
// old one taken out, can.
func Moves(dis []Disruption) []Disruption {
	var out []Disruption
	for _, d := range dis {
		if slices.ContainsFunc(d.Why, func(w string) bool {
			// A whole interface added or gone ("network_interface[1]") moves it too.
			return w == "zone" || topAttr(w) == "network_interface" &&
				(strings.HasSuffix(w, ".ip_address") || strings.HasSuffix(w, ".subnet_id") || !strings.Contains(w, "."))
		}) {
			out = append(out, d)
		}
	}
	return out
}

// Leaving are the database VMs (labelled role = "database") that p destroys and cl has no
// node for: nodes taken out of the cluster file (scale in), in name order. Whether one ran
// as a member is Patroni's to say (ApplySteps asks).
func Leaving(p *infra.Plan, cl *model.Cluster) []string {
	var out []string
	for _, ch := range p.Summary.Changes {
		if ch.Action != infra.ActionDelete || ch.Deposed || ch.Labels["role"] != model.RoleDatabase ||
			MachineAddress(cl.Target, ch.Name) != ch.Address || cl.HasNode(ch.Name) {
			continue
		}
		out = append(out, ch.Name)
	}
	slices.Sort(out)
	return out
}

// planWithin plans with opts (a -target at one VM, or everything) and keeps the plan only
// when it is part of the reviewed one (Within).
func (r *Run) planWithin(ctx context.Context, reviewed *infra.Plan, opts infra.PlanOptions) (*infra.Plan, error) {
	p, _, err := r.plan(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := Within(p.Summary, reviewed.Summary); err != nil {
		r.ClearPlan()
		return nil, err
	}
	return p, nil
}

// Within checks that every change of step is one the reviewed plan has, with the same
// action: a step applies part of what was reviewed and nothing else (a change to the
// cloud's side since the plan, say, makes another step).
func Within(step, reviewed infra.Summary) error {
	var extra []string
	for _, ch := range step.Changes {
		if ch.Action == infra.ActionRead {
			continue // data sources are read again on every plan
		}
		if !slices.ContainsFunc(reviewed.Changes, func(r infra.Change) bool {
			return r.Address == ch.Address && r.Action == ch.Action && r.Deposed == ch.Deposed
		}) {
			extra = append(extra, fmt.Sprintf("%s %s", ch.Action, ch.Address))
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("Terraform now plans what the reviewed plan did not (%s): nothing more was applied; run `pghac plan` again", strings.Join(extra, ", "))
	}
	return nil
}

// StepOrder is the order pghac disrupts dis in: the replicas first, leader last, so that
// the leadership moves once at most.
func StepOrder(dis []Disruption, leader string) []Disruption {
	out := slices.Clone(dis)
	slices.SortStableFunc(out, func(a, b Disruption) int {
		switch {
		case a.Node == leader && b.Node != leader:
			return 1
		case b.Node == leader && a.Node != leader:
			return -1
		}
		return 0
	})
	return out
}

// ApplySteps applies the reviewed plan one database VM at a time when it disrupts some
// (Disruptions) or takes nodes out (Leaving). The leaving nodes go first, through
// rollout.Remove: retired, a leader handing over to a node that stays, each one's etcd
// member removed before a plan targeted at its VM (its destruction, within the reviewed
// plan) is applied, the rest healthy without it before the next. Then each disrupted VM, in
// StepOrder: a plan targeted at it that must stay within the reviewed one (Within), applied
// through rollout.Disrupt (a switchover first when it leads; after, a wait until it streams
// again and the cluster is healthy). Then a plan of the rest, within the reviewed one too.
// show gets each step's plan before it is applied. It stops at the first failure, the
// cluster serving: `pghac plan` again shows what is left.
func (r *Run) ApplySteps(ctx context.Context, f Fleet, pc *patroni.Client, reviewed *infra.Plan, dis []Disruption, leaving []string,
	timeout time.Duration, show func(title string, p *infra.Plan), log func(string)) error {
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return &rollout.UnreachableError{Err: err}
	}
	if err := r.removeSteps(ctx, f, pc, cl, reviewed, leaving, timeout, show, log); err != nil {
		return err
	}
	if len(leaving) > 0 {
		if cl, err = pc.Cluster(ctx); err != nil {
			return &rollout.UnreachableError{Err: err}
		}
	}
	leader, _ := cl.Leader()
	for _, d := range StepOrder(dis, leader.Name) {
		addr := MachineAddress(f.Cluster.Target, d.Node)
		opts := infra.PlanOptions{Target: []string{addr}}
		if slices.Contains(reviewed.Info.Replace, addr) {
			opts = infra.PlanOptions{Replace: []string{addr}} // asked for: nothing in the configuration forces it
		}
		machine := func(ctx context.Context) error {
			p, err := r.planWithin(ctx, reviewed, opts)
			if err != nil {
				return err
			}
			show(d.Node+" only", p)
			if d.Replace {
				if err := f.ForgetHostKey(d.Node); err != nil {
					return err
				}
			}
			return r.Apply(ctx)
		}
		done, err := rollout.Disrupt(ctx, pc, f.Cluster.NodeNames(), d.Node, d.text(f.Cluster.Target), machine, f.WaitHealthy, timeout, log)
		if err != nil {
			return err
		}
		log(fmt.Sprintf("%s streams again and the cluster is healthy (%s in all)", d.Node, done.Took.Round(time.Second)))
	}
	if len(reviewed.Info.Replace) > 0 {
		return nil // the reviewed plan was of those VMs alone
	}
	p, err := r.planWithin(ctx, reviewed, infra.PlanOptions{})
	if err != nil {
		return err
	}
	if !p.Info.HasChanges {
		return r.ClearPlan()
	}
	show("the rest", p)
	return r.Apply(ctx)
}

// text says what d does to its node on target t, for the log and errors.
func (d Disruption) text(t model.Target) rollout.Disruption {
	why := strings.Join(d.Why, ", ")
	if !d.Replace {
		return rollout.Disruption{
			Doing:   fmt.Sprintf("updating %s's VM, which stops it (%s)", d.Node, why),
			Waiting: fmt.Sprintf("waiting for %s to come back and stream", d.Node),
			Failed:  fmt.Sprintf("%s did not come back as a streaming replica", d.Node),
		}
	}
	vm := "VM"
	if t == model.TargetSandbox {
		vm = "machine"
	}
	return rollout.Disruption{
		Doing:   fmt.Sprintf("replacing %s's %s (%s)", d.Node, vm, why),
		Waiting: fmt.Sprintf("waiting for %s's new %s to join and copy the data", d.Node, vm),
		Failed:  fmt.Sprintf("%s's new %s did not join as a streaming replica", d.Node, vm),
	}
}

// removeSteps takes the leaving nodes that run as members out of the cluster one at a time
// (rollout.Remove), each VM's destruction a step of the reviewed plan; leaving VMs that are
// not members are the rest's. Their addresses come from Patroni: the cluster file no longer
// has them.
func (r *Run) removeSteps(ctx context.Context, f Fleet, pc *patroni.Client, cl patroni.Cluster, reviewed *infra.Plan, leaving []string,
	timeout time.Duration, show func(title string, p *infra.Plan), log func(string)) error {
	addrs := map[string]netip.Addr{}
	var members []string
	for _, n := range leaving {
		if m, ok := cl.Member(n); ok {
			a, err := netip.ParseAddr(m.Host)
			if err != nil {
				return fmt.Errorf("%s: Patroni gives no address for it (%q): %w", n, m.Host, err)
			}
			addrs[n] = a
			members = append(members, n)
		}
	}
	if len(members) == 0 {
		return nil
	}
	nodes, err := NewNodes(f.Site, f.Cluster)
	if err != nil {
		return err
	}
	nodes.leaving = addrs
	machine := func(ctx context.Context, node string) error {
		p, err := r.planWithin(ctx, reviewed, infra.PlanOptions{Target: []string{MachineAddress(f.Cluster.Target, node)}})
		if err != nil {
			return err
		}
		show(node+" only", p)
		if err := r.Apply(ctx); err != nil {
			return err
		}
		return f.forgetHostKey(addrs[node])
	}
	done, err := rollout.Remove(ctx, pc, nodes.dialer(), f.Cluster.NodeNames(), members, machine, f.WaitHealthy, timeout, log)
	for _, d := range done {
		log(fmt.Sprintf("%s left the cluster in %s", d.Node, d.Took.Round(time.Second)))
	}
	return err
}
