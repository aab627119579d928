package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var planCommand = &command{
	name:     "plan",
	synopsis: "[-f cluster.hcl] [-o deploy] [--target TARGET] [--var-file FILE]... [--offline | --replace NODE] [--terraform PATH]",
	summary:  "build, then show what would change: generated files and Terraform's plan",
	detail: `Builds DIR/<target>/ from cluster.hcl as build does, printing which generated files
change and their unified diff. Then it runs Terraform on a copy of the tree, kept
with Terraform's state in the state folder (.pghac/<target>/terraform/ beside the
cluster file), and prints the plan: what is added, changed, replaced and destroyed.
Database VMs that would be replaced or destroyed are called out loudly.

Once the cluster runs, it also surveys the nodes whose VMs Terraform's plan keeps,
over SSH (through network.jump_host when set), and prints their live changes: each
generated file that differs from what the node runs, with its diff (secrets as
placeholders) and the reload or restart it needs, and Patroni's dynamic settings
that differ. cloud-init reads user-data on a VM's first boot only: these are what
'pghac apply' rolls out after Terraform. A node that cannot be reached is named
with why; apply will not start until it answers.

The plan is saved, its live part with it: 'pghac apply' applies exactly it, and
refuses once cluster.hcl, the generated tree or the surveyed nodes changed.

With --replace NODE the plan replaces NODE's VM and touches nothing else: how a dead
node is replaced, or a node rebuilt. apply does it while the other nodes serve (a
switchover first when NODE leads), then waits until the new VM streams from the
leader.

Terraform gets the secrets from .pghac/<target>/secrets.tfvars ('pghac secrets
init' writes it) and the files given with --var-file (cloud_id, folder_id, or
the secrets in CI), in that order. Cloud credentials come from the environment
(YC_TOKEN or YC_SERVICE_ACCOUNT_KEY_FILE).

With --offline, Terraform runs against pghac's built-in stand-in for the Yandex
provider instead: it validates and plans against the provider's schema, without
credentials or network, with fake values for the variables. Such a plan shows
what the configuration asks for; it cannot be applied.

With --target sandbox it shows what 'pghac up' would do to the running sandbox and
changes nothing: the machines Terraform would add, replace or remove, and the live
changes, read from the machines over SSH: each generated file that differs from
what the machine runs, with its diff (secrets as placeholders) and the reload or
restart it needs, and the dynamic settings that differ. When no machine comes or
goes, the plan is saved as in the cloud: 'pghac apply --target sandbox' carries
out exactly it; so is a plan with --replace NODE, which apply carries out as in the
cloud (NODE's machine alone, the others serving).`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		tf := addTFFlags(fs)
		varFiles := fs.StringArray("var-file", nil, "pass Terraform the variables in `FILE` (repeatable)")
		offline := fs.Bool("offline", false, "plan against the provider's schema only: no credentials, cannot be applied")
		strict := fs.Bool("strict", false, "treat warnings as errors")
		replace := fs.String("replace", "", "plan the replacement of `NODE`'s VM and nothing else (a dead node, or one to rebuild)")
		return func(c *cli, _ []string) int {
			if t, err := tf.target(); err == nil && t == model.TargetSandbox {
				if *offline || len(*varFiles) > 0 {
					return c.usageError(lookup("plan"), "--offline and --var-file have no use for the sandbox")
				}
				s, code, ok := c.sandboxSite("plan", sandboxFlags{file: tf.file, out: tf.out, stateDir: tf.stateDir})
				if !ok {
					return code
				}
				return c.planSandbox(s, *tf.terraform, *replace)
			}
			s, code, ok := c.site("plan", tf)
			if !ok {
				return code
			}
			if *offline && len(*varFiles) > 0 {
				return c.usageError(lookup("plan"), "--var-file has no use with --offline, which gives every variable a fake value")
			}
			if *offline && *replace != "" {
				return c.usageError(lookup("plan"), "--replace has no use with --offline, whose plans are never applied")
			}
			return c.plan(s, *tf.terraform, *varFiles, *offline, *strict, *replace)
		}
	},
}

func (c *cli) plan(s site.Site, terraform string, extraVarFiles []string, offline, strict bool, replace string) int {
	bin, ok := c.findTerraform("plan", terraform)
	if !ok {
		return exitRuntime
	}
	var varFiles []string
	if !offline {
		if varFiles, ok = c.varFiles("plan", s, extraVarFiles); !ok {
			return exitInvalid
		}
	}
	cl, code, ok := c.buildForPlan(s, strict)
	if !ok {
		return code
	}
	if !offline {
		// After the build: the module just written says which of pghac's builds it uploads.
		if varFiles, ok = c.withBuilds("plan", s, varFiles); !ok {
			return exitInvalid
		}
		// A new node needs its certificate, and one near its end a new one, before the nodes'
		// files are compared and apply writes the nodes' secret.
		tls, err := s.EnsureTLS(cl, time.Now())
		if err != nil {
			return c.fail("plan", err)
		}
		c.reportTLS(s, tls)
	}
	if cl.State != nil && !bin.AtLeast(infra.S3BackendMinVersion) {
		c.tooOldForState(s.File, cl.State, bin)
		return exitInvalid
	}
	fmt.Fprintln(c.stdout)
	if offline {
		return c.planOffline(s, bin, cl)
	}
	if replace != "" && !cl.HasNode(replace) {
		return c.usageError(lookup("plan"), "--replace "+replace+": "+noNode(cl, replace, s.File))
	}
	r, err := provision.Open(s, bin, varFiles, nil)
	if err != nil {
		return c.fail("plan", err)
	}
	p, code, ok := c.planOrReplace(r, replace)
	if !ok {
		return code
	}
	view.Plan(c.stdout, fmt.Sprintf("Terraform plan (%s, %s)", s.Target, bin.Name), p, cl.NodeNames(), c.stdoutColor())
	dis := provision.Disruptions(p, cl)
	if moves := provision.Moves(dis); len(moves) > 0 {
		r.ClearPlan()
		fmt.Fprintln(c.stdout)
		c.refuseMoves(s.File, cl, moves)
		return exitInvalid
	}
	c.stepsAhead(dis, provision.Leaving(p, cl))
	lp, code, ok := c.planLive(s, cl, r, provision.KeptNodes(p, cl))
	if !ok {
		r.ClearPlan()
		return code
	}
	switch {
	case lp.Unreachable:
		fmt.Fprintf(c.stdout, "\nSaved the plan in %s; `pghac apply` applies it once those nodes answer as they did.\n", r.Dir())
	case p.Info.HasChanges || lp.Changes:
		fmt.Fprintf(c.stdout, "\nSaved the plan in %s. Run `pghac apply` to apply exactly this plan.\n", r.Dir())
	}
	return exitOK
}

// stepsAhead says which database VMs apply will take down one at a time (dis), and which
// nodes it will take out of the cluster first (leaving).
func (c *cli) stepsAhead(dis []provision.Disruption, leaving []string) {
	if len(dis) > 0 {
		var what []string
		for _, d := range dis {
			verb := "stopped to update"
			if d.Replace {
				verb = "replaced"
			}
			what = append(what, fmt.Sprintf("%s (%s: %s)", d.Node, verb, strings.Join(d.Why, ", ")))
		}
		fmt.Fprintf(c.stdout, "\nWhile the cluster serves, `pghac apply` takes these database VMs down one at a time, replicas first\n"+
			"and the leader last after a switchover, each streaming again before the next: %s.\n", strings.Join(what, "; "))
	}
	if len(leaving) > 0 {
		fmt.Fprintf(c.stdout, "\n`pghac apply` takes %s out of the cluster first, one at a time while the others serve: a leader hands\n"+
			"over to a node that stays, each one's etcd member is removed, then its VM and its copy of the data go.\n", strings.Join(leaving, ", "))
	}
}

// planLive surveys the nodes in kept, those whose VMs Terraform's plan keeps, prints what
// changes on them and saves it as the plan's live part (provision.LivePlan). Nothing runs
// before the first apply: then there is nothing to survey.
func (c *cli) planLive(s site.Site, cl *model.Cluster, r *provision.Run, kept []string) (provision.LivePlan, int, bool) {
	if len(kept) == 0 {
		return provision.LivePlan{}, exitOK, true
	}
	fmt.Fprintln(c.stdout)
	if err := provision.CanReach(s); err != nil {
		return provision.LivePlan{}, c.fail("plan", fmt.Errorf("the cluster runs (Terraform's state has %s), and the plan includes what changes on its nodes, but: %w", strings.Join(kept, ", "), err)), false
	}
	l, _, _, err := provision.Fleet{Site: s, Cluster: cl}.LiveOf(c.ctx, kept)
	if err != nil {
		return provision.LivePlan{}, c.fail("plan", fmt.Errorf("surveying the running nodes: %s", rolloutMessage(err))), false
	}
	view.Live(c.stdout, fmt.Sprintf("Live changes (%s)", s.Target), l, c.stdoutColor())
	if len(l.Unsafe) > 0 {
		c.refuseUnsafe(s.File, cl, l.Unsafe)
		return provision.LivePlan{}, exitInvalid, false
	}
	if bad := l.Unreachable(); len(bad) > 0 {
		names := make([]string, len(bad))
		for i, n := range bad {
			names[i] = n.Node
		}
		fmt.Fprintf(c.stdout, "\n%s: `pghac apply` will not start until every node it keeps answers (it cannot tell what they run).\n",
			view.Ansi(c.stdoutColor(), "1;31", "Cannot reach "+strings.Join(names, ", ")))
	}
	lp := provision.LivePlan{Nodes: kept, Fingerprint: l.Fingerprint(), Changes: !l.Empty(), Unreachable: len(l.Unreachable()) > 0}
	if err := r.SaveLive(lp); err != nil {
		return lp, c.fail("plan", err), false
	}
	return lp, exitOK, true
}

// planSandbox shows what `pghac up` would do to the running sandbox, changing nothing: the
// generated files, Terraform's plan (machines added, replaced or removed) and the live
// changes to the running machines (the files and settings up would roll out).
func (c *cli) planSandbox(s site.Site, terraform, replace string) int {
	sb, code, ok := c.sandbox("plan", s, terraform)
	if !ok {
		return code
	}
	if replace != "" && !sb.Cluster.HasNode(replace) {
		return c.usageError(lookup("plan"), "--replace "+replace+": "+noNode(sb.Cluster, replace, s.File))
	}
	running, err := sb.RunningNodes()
	if err != nil {
		return c.fail("plan", err)
	}
	if len(running) == 0 || !s.HasSecrets() {
		fmt.Fprintf(c.stdout, "\nThe sandbox does not run: `pghac up` brings it up.\n")
		return exitOK
	}
	fmt.Fprintln(c.stdout)
	// The way in, as the file says: a jump host it names (or no longer names) is the host's.
	if err := sb.StandInJumpHost(c.ctx); err != nil {
		return c.fail("plan", err)
	}
	r, err := sb.Open(sb.VarFiles(sb.Cluster.Backend != nil))
	if err != nil {
		return c.fail("plan", err)
	}
	p, code, ok := c.planOrReplace(r, replace)
	if !ok {
		return code
	}
	if p.Info.HasChanges {
		view.PlanSummary(c.stdout, fmt.Sprintf("Sandbox (%s)", sb.Binary.Name), p, running, c.stdoutColor())
	} else {
		fmt.Fprintf(c.stdout, "Sandbox (%s): no machine to add, replace or remove.\n", sb.Binary.Name)
	}
	// The running machines: the machines of new nodes are Terraform's to add, above.
	kept := slices.DeleteFunc(provision.KeptNodes(p, sb.Cluster), func(n string) bool { return !slices.Contains(running, n) })
	lp, code, ok := c.planLive(s, sb.Cluster, r, kept)
	if !ok {
		r.ClearPlan()
		return code
	}
	switch {
	case replace != "":
		fmt.Fprintf(c.stdout, "\nNothing was changed. The plan is saved in %s: `pghac apply --target sandbox` replaces %s's\n"+
			"machine as in the cloud, while the other machines serve.\n", r.Dir(), replace)
	case p.Info.HasChanges:
		r.ClearPlan() // machines come and go with up's own plan
		fmt.Fprintf(c.stdout, "\nNothing was changed. `pghac up` carries this out.\n")
	case lp.Changes && !lp.Unreachable:
		fmt.Fprintf(c.stdout, "\nNothing was changed. The plan is saved in %s: `pghac apply --target sandbox` carries out\n"+
			"exactly it, as in the cloud; `pghac up` carries out whatever cluster.hcl says when it runs.\n", r.Dir())
	default:
		r.ClearPlan()
	}
	return exitOK
}

// buildForPlan is build with a diff: it compiles and emits the cluster, prints which
// generated files change and how, and writes the tree.
func (c *cli) buildForPlan(s site.Site, strict bool) (*model.Cluster, int, bool) {
	l, set, code, ok := c.compile("plan", s.File, s.Target, strict)
	if !ok {
		return nil, code, false
	}
	drift, err := artifact.Compare(s.Deploy, set)
	if err == nil {
		err = view.FileChanges(c.stdout, s.Deploy, set, drift, c.stdoutColor())
	}
	if err == nil && !drift.Clean() {
		if err = artifact.WriteDir(s.Deploy, set); err != nil {
			err = fmt.Errorf("write %s: %w", s.Deploy, err)
		}
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac plan: %v\n", err)
		return nil, exitRuntime, false
	}
	return l.cluster, exitOK, true
}

// runPlan plans r, printing what Terraform said went wrong (validate's diagnostics as they are).
func (c *cli) runPlan(cmd string, r *provision.Run, destroy bool) (*infra.Plan, int, bool) {
	p, diags, err := r.Plan(c.ctx, destroy)
	return c.planResult(cmd, p, diags, err)
}

// planOrReplace is runPlan, or with replace the plan of that node's VM alone (the other
// nodes, surveyed or not, left as they are).
func (c *cli) planOrReplace(r *provision.Run, replace string) (*infra.Plan, int, bool) {
	if replace == "" {
		return c.runPlan("plan", r, false)
	}
	p, diags, err := r.PlanReplace(c.ctx, r.Site.Target, replace)
	return c.planResult("plan", p, diags, err)
}

// planResult is runPlan's for a plan made otherwise.
func (c *cli) planResult(cmd string, p *infra.Plan, diags []infra.Diagnostic, err error) (*infra.Plan, int, bool) {
	for _, d := range diags {
		fmt.Fprintf(c.stderr, "%s\n", d)
	}
	if err != nil {
		return nil, c.terraformFailed(cmd, err), false
	}
	return p, exitOK, true
}

// refuseMoves prints why a running node cannot move (provision.Moves), at its node block.
func (c *cli) refuseMoves(file string, cl *model.Cluster, moves []provision.Disruption) {
	var diags hcl.Diagnostics
	for _, m := range moves {
		var rng hcl.Range
		for _, n := range cl.Nodes {
			if n.Name == m.Node {
				rng = n.DeclRange
			}
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot be rolled out to the running cluster",
			Detail: fmt.Sprintf("%s would move (%s): its VM at a new address while the other nodes know it by the old one. "+
				"Add a node where %s should be, apply, then take %s out and apply again. Nothing was changed.",
				m.Node, strings.Join(m.Why, ", "), m.Node, m.Node),
			Subject: rng.Ptr(),
		})
	}
	c.printClusterDiags(file, cl, diags)
}

// tooOldForState says, at the state block, that bin cannot run its backend.
func (c *cli) tooOldForState(file string, st *model.State, bin infra.Binary) {
	src, _ := os.ReadFile(file)
	rng := st.DeclRange
	c.printDiags(hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Terraform too old for the state block",
		Detail: fmt.Sprintf("The state block's s3 backend needs Terraform %s or later; %s is %s. Install a newer Terraform "+
			"(or OpenTofu), or name one with --terraform PATH.", infra.S3BackendMinVersion, bin.Path, bin.Version),
		Subject: &rng,
	}}, nil, file, src)
}
