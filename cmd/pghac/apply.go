package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var applyCommand = &command{
	name:     "apply",
	synopsis: "[-f cluster.hcl] [-o deploy] [--target TARGET] [--auto-approve] [--timeout DURATION] [--terraform PATH]",
	summary:  "apply exactly the plan `pghac plan` saved and showed",
	detail: `Applies the plan 'pghac plan' saved: exactly that plan, never a fresh one. It prints
the plan's summary again and asks for confirmation; without a terminal to ask on,
it refuses unless --auto-approve is given.

It refuses when cluster.hcl or the generated tree changed since the plan was made
(run 'pghac plan' again), and when there is no saved plan. Plans made with
'pghac plan --offline' are never saved and cannot be applied. With --target
sandbox it applies the live changes 'pghac plan --target sandbox' saved, the same
way (machines come and go with 'pghac up').

When the cluster runs, the plan has a live part: what changes on the nodes whose VMs
Terraform keeps (cloud-init reads user-data on a VM's first boot only, so Terraform's
update of it reaches no running node). apply surveys those nodes again first and
refuses, changing nothing, when they differ from what the plan saw (a hand edit, a
node that went away) or cannot be reached. After Terraform's apply it rolls the
live part out as 'pghac up' does on the sandbox: one node at a time, replicas
first, each step waiting up to --timeout for the cluster to be healthy. A rollout
that stops leaves the cluster serving; plan and apply again continue it.

A plan that replaces database VMs, or updates them in a way that stops them, is
applied one VM at a time while the cluster serves: replicas first, the leader last
after a switchover, each a plan targeted at that VM that must be part of the saved
plan, then a wait until it streams again and the cluster is healthy; then the rest
of the plan, checked the same way. Nodes taken out of cluster.hcl leave first, one
at a time: a leader hands over to a node that stays, each one's etcd member is
removed, then its VM goes (a step of the saved plan too).

Ctrl-C stops Terraform gracefully: the cloud calls in flight finish and the state
is kept. A second Ctrl-C kills it.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		tf := addTFFlags(fs)
		autoApprove := fs.Bool("auto-approve", false, "apply without asking")
		timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for a healthy cluster after `DURATION`")
		return func(c *cli, _ []string) int {
			if *timeout <= 0 {
				return c.usageError(lookup("apply"), "--timeout must be positive")
			}
			if t, err := tf.target(); err == nil && t == model.TargetSandbox {
				s, code, ok := c.sandboxSite("apply", sandboxFlags{file: tf.file, out: tf.out, stateDir: tf.stateDir})
				if !ok {
					return code
				}
				return c.apply(s, *tf.terraform, *autoApprove, *timeout)
			}
			s, code, ok := c.site("apply", tf)
			if !ok {
				return code
			}
			return c.apply(s, *tf.terraform, *autoApprove, *timeout)
		}
	},
}

func (c *cli) apply(s site.Site, terraform string, autoApprove bool, timeout time.Duration) int {
	if code, ok := c.unattended("apply", autoApprove); !ok {
		return code
	}
	bin, ok := c.findTerraform("apply", terraform)
	if !ok {
		return exitRuntime
	}
	r, info, err := provision.OpenSaved(s, bin, c.stdout)
	switch {
	case errors.Is(err, infra.ErrNoPlan):
		return c.noPlan(s)
	case errors.Is(err, provision.ErrChanged):
		return c.changedSincePlan("apply", s)
	case err != nil:
		return c.fail("apply", err)
	}
	var changedBuild *provision.BuildChangedError
	if err := provision.CheckBuilds(s); errors.As(err, &changedBuild) {
		fmt.Fprintf(c.stderr, "pghac apply: %v\n", err)
		return exitInvalid
	} else if err != nil {
		return c.fail("apply", err)
	}
	if s.Target == model.TargetSandbox && info.HasChanges {
		// plan --target sandbox saves no other: machines come and go with up's own plan.
		if len(info.Replace) == 0 {
			fmt.Fprintf(c.stderr, "pghac apply: the saved plan adds, replaces or removes machines: `pghac up` does that on the sandbox\n")
			return exitInvalid
		}
		stop, code, ok := c.sandboxApplying(s, terraform)
		if !ok {
			return code
		}
		defer stop()
	}
	cl, code, ok := c.loadQuiet("apply", s) // compiled at plan time: the fingerprint says so
	if !ok {
		return code
	}
	live, code, ok := c.surveyAgain(s, cl, r)
	if !ok {
		return code
	}
	if !info.HasChanges && (live == nil || live.Live.Empty()) {
		fmt.Fprintf(c.stdout, "The saved plan has no changes: nothing to apply.\n")
		if err := r.ClearPlan(); err != nil {
			return c.fail("apply", err)
		}
		return exitOK
	}
	p, err := r.Show(c.ctx)
	if err != nil {
		return c.terraformFailed("apply", err)
	}
	title := fmt.Sprintf("Saved plan (%s, %s)", s.Target, bin.Name)
	if info.Destroy {
		title = fmt.Sprintf("Saved DESTROY plan (%s, %s)", s.Target, bin.Name)
	}
	steps, code, ok := c.planSteps(s, cl, p, live)
	if !ok {
		return code
	}
	var l *rollout.Live
	if live != nil {
		l = &live.Live
	}
	if code, ok := c.confirmPlan("apply", r, p, title, l, autoApprove); !ok {
		return code
	}
	var lb *provision.CloudLockbox
	if s.Target != model.TargetSandbox {
		// Checked before anything changes: VMs made without their secrets in Lockbox could
		// only wait for them.
		if lb, ok = c.cloudLockbox("apply"); !ok {
			return exitInvalid
		}
		// A VM a step replaces reads the secrets at its first boot: the current ones.
		if code, ok := c.syncCloudSecrets("apply", provision.Fleet{Site: s, Cluster: cl}, nil, *lb); !ok {
			return code
		}
	}
	if steps != nil {
		fmt.Fprintf(c.stdout, "Applying it one database VM at a time, the cluster healthy before the next:\n")
		err := r.ApplySteps(c.ctx, steps.fleet, steps.pc, p, steps.dis, steps.leaving, timeout, func(title string, sp *infra.Plan) {
			view.PlanSummary(c.stdout, fmt.Sprintf("Step: %s", title), sp, cl.NodeNames(), c.stdoutColor())
		}, c.stepLog())
		if err != nil {
			fmt.Fprintf(c.stderr, "pghac apply: %s\nIt stopped there; the cluster serves. `pghac plan` shows what is left, and `pghac apply` carries it out.\n", rolloutMessage(err))
			return exitRuntime
		}
	} else if code := c.applySaved("apply", r, p); code != exitOK {
		return code
	}
	if lb != nil {
		if code, ok := c.syncCloudSecrets("apply", provision.Fleet{Site: s, Cluster: cl}, r, *lb); !ok {
			return code
		}
	}
	if l == nil || l.Empty() {
		return exitOK
	}
	fmt.Fprintf(c.stdout, "\nRolling out the live changes, one node at a time, replicas first:\n")
	done, err := rollout.Apply(c.ctx, *l, live.dial, live.pc, live.fleet.WaitHealthyExcept, timeout, c.stepLog())
	if err == nil {
		// Every node runs the generated tree now: a rotation stopped midway is done.
		err = live.fleet.EndRotation(c.ctx, timeout)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac apply: %s\nThe rollout stopped there; the cluster serves. `pghac plan` and `pghac apply` again continue it.\n", rolloutMessage(err))
		return exitRuntime
	}
	c.rolledOut(done)
	return exitOK
}

// steps is how apply takes a running cluster's database VMs down one at a time.
type steps struct {
	fleet   provision.Fleet
	pc      *patroni.Client
	dis     []provision.Disruption
	leaving []string // nodes taken out of the cluster file
}

// planSteps decides how the saved plan p of cl is applied: nil for in one go, as Terraform
// would, when it disrupts no database VM (provision.Disruptions) and takes no node out
// (provision.Leaving), or no node of the cluster answers and p replaces every one (a
// cluster that is gone, rebuilt as the plan warned); else one VM at a time
// (provision.Run.ApplySteps), which needs the cluster to answer. live is the plan's live
// part surveyed again, nil when nothing ran at plan time.
func (c *cli) planSteps(s site.Site, cl *model.Cluster, p *infra.Plan, live *liveChange) (*steps, int, bool) {
	dis, leaving := provision.Disruptions(p, cl), provision.Leaving(p, cl)
	if len(dis) == 0 && len(leaving) == 0 || p.Info.Destroy {
		return nil, exitOK, true
	}
	st := &steps{fleet: provision.Fleet{Site: s, Cluster: cl}, dis: dis, leaving: leaving}
	var err error
	if st.pc, _, err = provision.PatroniOf(s, cl); err == nil {
		_, err = st.pc.Cluster(c.ctx)
	}
	if err == nil {
		return st, exitOK, true
	}
	// A plan of some VMs alone (plan --replace) says nothing of the others: they may serve.
	if live == nil && len(p.Info.Replace) == 0 && len(leaving) == 0 && !slices.ContainsFunc(dis, func(d provision.Disruption) bool { return !d.Replace }) {
		return nil, exitOK, true
	}
	names := slices.Clone(leaving)
	for _, d := range dis {
		names = append(names, d.Node)
	}
	fmt.Fprintf(c.stderr, "pghac apply: the plan takes %s down, which pghac does one at a time with the cluster serving, and the cluster does not answer: %s\n"+
		"Nothing was changed.\n", strings.Join(names, ", "), rolloutMessage(err))
	return nil, exitRuntime, false
}

// sandboxApplying readies the sandbox for a machine that its Terraform makes during apply, as
// up does: the backend binary served (until stop), the stand-in jump host running.
func (c *cli) sandboxApplying(s site.Site, terraform string) (stop func(), code int, ok bool) {
	sb, code, ok := c.sandbox("apply", s, terraform)
	if !ok {
		return nil, code, false
	}
	if err := sb.StandInJumpHost(c.ctx); err != nil {
		return nil, c.fail("apply", err), false
	}
	if err := sb.PrepareS3(c.ctx); err != nil {
		return nil, c.fail("apply", err), false
	}
	ctx, cancel := context.WithCancel(c.ctx)
	if sb.Cluster.Backend != nil {
		if err := sb.ServeBackend(ctx, "", func(err error) { fmt.Fprintf(c.stderr, "pghac apply: %v\n", err) }); err != nil {
			cancel()
			return nil, c.fail("apply", err), false
		}
	}
	return cancel, exitOK, true
}

// liveChange is the live part of a saved plan, surveyed again, with what carries it out.
type liveChange struct {
	rollout.Live
	fleet provision.Fleet
	dial  rollout.Dialer
	pc    *patroni.Client
}

// surveyAgain surveys the nodes of cl in the saved plan's live part again (nil when it has
// none), refusing when they cannot all be reached or differ from what the plan saw. Either
// way nothing was changed, and the plan stays saved.
func (c *cli) surveyAgain(s site.Site, cl *model.Cluster, r *provision.Run) (*liveChange, int, bool) {
	lp, err := r.SavedLive()
	if err != nil || lp == nil {
		return nil, c.failIf("apply", err), err == nil
	}
	lc := &liveChange{fleet: provision.Fleet{Site: s, Cluster: cl}}
	if lc.Live, lc.dial, lc.pc, err = lc.fleet.LiveOf(c.ctx, lp.Nodes); err != nil {
		return nil, c.fail("apply", fmt.Errorf("surveying the running nodes: %s", rolloutMessage(err))), false
	}
	if bad := lc.Unreachable(); len(bad) > 0 {
		fmt.Fprintf(c.stderr, "pghac apply: %s cannot be reached (%v), so nothing was changed: pghac cannot tell what it runs.\n", bad[0].Node, bad[0].Err)
		return nil, exitRuntime, false
	}
	if lc.Fingerprint() != lp.Fingerprint {
		fmt.Fprintf(c.stderr, "pghac apply: the running nodes (%s) differ from what the plan saw on them; refusing to apply a plan you have not seen\n", strings.Join(lp.Nodes, ", "))
		fmt.Fprintf(c.stderr, "Run `%s` again.\n", planCmd(s))
		return nil, exitInvalid, false
	}
	// The nodes that did not run at plan time are the plan's new VMs: they join once the
	// rollout has the others admit them.
	for _, n := range cl.NodeNames() {
		if !slices.Contains(lp.Nodes, n) {
			lc.Joining = append(lc.Joining, n)
		}
	}
	return lc, exitOK, true
}

// failIf is fail for an error, exitOK for none.
func (c *cli) failIf(cmd string, err error) int {
	if err == nil {
		return exitOK
	}
	return c.fail(cmd, err)
}

// confirmPlan prints the plan's summary (and its live part, l, when not nil) and asks
// unless autoApprove. A plan that is not confirmed stays saved, except a destroy plan:
// applying one later by mistake must not be possible.
func (c *cli) confirmPlan(cmd string, r *provision.Run, p *infra.Plan, title string, l *rollout.Live, autoApprove bool) (int, bool) {
	dbLosses := view.PlanSummary(c.stdout, title, p, dbNodes(r.Site), c.stdoutColor())
	if l != nil {
		fmt.Fprintln(c.stdout)
		view.Live(c.stdout, fmt.Sprintf("Live changes (%s)", r.Site.Target), *l, c.stdoutColor())
	}
	if !autoApprove {
		question := "Apply this plan?"
		switch {
		case p.Info.Destroy:
			question = "Destroy all of the cluster's infrastructure, its databases included? There is no undo."
		case dbLosses > 0:
			question = fmt.Sprintf("Apply this plan, losing %s as warned above?", view.Plural(dbLosses, "database VM"))
		case len(provision.RepositoryLosses(p)) > 0:
			question = "Apply this plan, deleting the backup repository as warned above?"
		}
		if !c.confirm(question) {
			fmt.Fprintf(c.stderr, "pghac %s: not confirmed; nothing was changed\n", cmd)
			if p.Info.Destroy {
				r.ClearPlan()
			}
			return exitInvalid, false
		}
	}
	fmt.Fprintln(c.stdout)
	// The live part is carried out after Terraform's, or never: a later apply must not find it.
	if err := r.ClearLive(); err != nil {
		return c.fail(cmd, err), false
	}
	return exitOK, true
}

// cloudLockbox is how this pghac reaches the cloud's Lockbox: $YC_TOKEN, and
// $PGHAC_LOCKBOX_ENDPOINT for a stand-in. Without a token it says why one is needed.
func (c *cli) cloudLockbox(cmd string) (*provision.CloudLockbox, bool) {
	lb := &provision.CloudLockbox{Token: c.getenv("YC_TOKEN"), Endpoint: c.getenv("PGHAC_LOCKBOX_ENDPOINT")}
	if lb.Token == "" {
		fmt.Fprintf(c.stderr, "pghac %s: %v\nNothing was changed.\n", cmd, provision.ErrNoCloudToken)
		return nil, false
	}
	return lb, true
}

// syncCloudSecrets writes the site's secrets into the cluster's Lockbox secret when they differ
// from its newest version, after recording which secret that is (and the bastion's address)
// from r's state (nil: the one recorded before, if any).
func (c *cli) syncCloudSecrets(cmd string, f provision.Fleet, r *provision.Run, lb provision.CloudLockbox) (int, bool) {
	if r != nil {
		if _, err := f.RecordOutputs(c.ctx, r); err != nil {
			return c.terraformFailed(cmd, err), false
		}
		adopted, err := f.AdoptBackupKey(c.ctx, r, lb)
		if err != nil {
			return c.fail(cmd, err), false
		}
		if adopted {
			fmt.Fprintf(c.stdout, "%s: now holds the backup service account's S3 key pair (from Lockbox; values not shown).\n", f.Site.Secrets())
		}
	}
	id, version, added, _, err := f.SyncCloudSecrets(c.ctx, lb)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\nNodes made now wait for their secrets (20 minutes at most): `pghac secrets push` writes them.\n", cmd, err)
		return exitRuntime, false
	}
	if added {
		fmt.Fprintf(c.stdout, "Secrets: wrote version %s of Lockbox secret %s, which the nodes read at their first boot.\n", version, id)
	}
	return exitOK, true
}

// applySaved applies Terraform's saved plan p as it is.
func (c *cli) applySaved(cmd string, r *provision.Run, p *infra.Plan) int {
	if !p.Info.HasChanges {
		return c.failIf(cmd, r.ClearPlan())
	}
	err := r.Apply(c.ctx)
	var fperr *infra.FingerprintError
	switch {
	case errors.As(err, &fperr):
		return c.changedSincePlan(cmd, r.Site)
	case err != nil:
		return c.terraformFailed(cmd, err)
	}
	return exitOK
}

func (c *cli) noPlan(s site.Site) int {
	fmt.Fprintf(c.stderr, "pghac apply: no saved plan in %s: run `%s` first\n", s.Work(), planCmd(s))
	if _, err := os.Stat(filepath.Join(s.Offline(), "terraform")); err == nil {
		fmt.Fprintf(c.stderr, "(`pghac plan --offline` plans are never saved: they cannot be applied)\n")
	}
	return exitInvalid
}

func (c *cli) changedSincePlan(cmd string, s site.Site) int {
	fmt.Fprintf(c.stderr, "pghac %s: %s or %s changed since the plan was made; refusing to apply a plan you have not seen\n", cmd, s.File, s.Deploy)
	fmt.Fprintf(c.stderr, "Run `%s` again.\n", planCmd(s))
	return exitInvalid
}

// planCmd is the command that plans for s's target.
func planCmd(s site.Site) string {
	if s.Target == model.Targets[0] {
		return "pghac plan"
	}
	return "pghac plan --target " + string(s.Target)
}
