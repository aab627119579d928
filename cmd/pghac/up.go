package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var upCommand = &command{
	name:     "up",
	synopsis: "[-f cluster.hcl] [-o deploy] [--state-dir DIR] [--timeout DURATION] [--replace NODE]... [--allow-replace] [--terraform PATH]",
	summary:  "run the cluster in the local sandbox: three machines on this host",
	detail: `Builds deploy/sandbox/ from cluster.hcl and runs it on this host: one machine per
node (systemd-nspawn, booted from a cached Debian 12 root, on bridge pghac0 with
addresses from the sandbox block's network), each configured by the real
cloud-init from the same user-data as in the cloud. It needs root.

Secrets are generated into .pghac/sandbox/secrets.tfvars on the first run. The
machines are started by Terraform (terraform_data resources, no provider to
download) without asking: the sandbox is local. Then up waits, showing each
node's progress (booting, cloud-init, etcd, Patroni, replication, HAProxy), until
every member runs, every replica streams with lag 0 and every node's HAProxy
routes the primary port to the leader and the replica port to the replicas. If a
node fails it says which and why, with the tail of its logs.

On a running sandbox, up is day 2: a machine is never rebuilt for a new
user-data (as in the cloud, cloud-init applied the first). up logs in to every
machine over SSH (operator key, pinned host keys), shows which generated files
differ from what the machines run and which of Patroni's dynamic settings differ,
then rolls that out one node at a time, replicas first: files written, PgBouncer,
HAProxy or Patroni reloaded, etcd restarted as needed, the cluster healthy again
before the next node; settings that need PostgreSQL restarted restart it node by
node with a switchover before the leader's turn. It stops at the first failure
with the cluster serving; running up again continues. A change that would
replace or remove a running machine (a new address, a node taken out) loses its
data: up says so and changes nothing unless --allow-replace is given.

A node block added is a new machine that joins etcd and copies the data, and
the other nodes' files follow. A node block taken out (with --allow-replace)
leaves one node at a time, a leader last and after a switchover to a node that
stays: its etcd member removed, its machine and disk destroyed, the rest healthy
without it before the next; then the other nodes' files follow. Fewer than three
etcd members are never left.

--replace NODE rebuilds that node's machine on purpose, as a dead node is
replaced: the others must serve; if it leads, a switchover hands the leadership
on first; Terraform replaces that machine and nothing else; the new machine
joins the etcd cluster in its old member's place and copies the data from the
leader; up waits until it streams and the cluster is healthy, then goes on to
the next NODE given.

Machines that stopped (a host reboot) start again with their disks. With nothing
changed, up changes nothing and reports the running cluster. 'pghac down'
stops the sandbox keeping the data; 'pghac down --destroy-data' removes
everything, also after an interrupted up.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, true)
		timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for a healthy cluster after `DURATION`")
		backend := fs.String("backend", "", "serve the backend binary at `PATH` to the machines (default pghac-backend beside pghac, else on PATH)")
		allowReplace := fs.Bool("allow-replace", false, "replace or remove running machines when the change needs it, losing their data")
		replace := fs.StringArray("replace", nil, "rebuild `NODE`'s machine, its data copied anew from the leader (repeat for more, one at a time)")
		return func(c *cli, _ []string) int {
			s, code, ok := c.sandboxSite("up", f)
			if !ok {
				return code
			}
			return c.up(s, *f.terraform, *backend, *timeout, *allowReplace, *replace)
		}
	},
}

func (c *cli) up(s site.Site, terraform, backendBin string, timeout time.Duration, allowReplace bool, replace []string) int {
	start := time.Now()
	fail := func(err error) int {
		if c.ctx.Err() != nil {
			fmt.Fprintf(c.stderr, "pghac up: interrupted; `pghac down --destroy-data` removes whatever was started\n")
			return exitRuntime
		}
		return c.fail("up", err)
	}
	sb, code, ok := c.sandbox("up", s, terraform)
	if !ok {
		return code
	}
	cl, cfg := sb.Cluster, sb.Config
	for i, n := range replace {
		if !cl.HasNode(n) {
			return c.usageError(lookup("up"), fmt.Sprintf("--replace %s: no such node; the nodes are %s", n, strings.Join(cl.NodeNames(), ", ")))
		}
		if slices.Contains(replace[:i], n) {
			return c.usageError(lookup("up"), fmt.Sprintf("--replace %s: given twice", n))
		}
	}
	if err := sandbox.Preflight(cfg); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(c.stderr, "pghac up: %s\n", line)
		}
		return exitRuntime
	}
	if code, ok := c.ensureSandboxSecrets(s, cl); !ok {
		return code
	}
	if err := sb.Prepare(); err != nil {
		return fail(err)
	}
	// started: some machine boots in this up (started again, new or replaced); until then every
	// machine ran before it.
	started, err := c.restartStale(sb, replace)
	if err != nil {
		return fail(err)
	}
	// Before anything reaches the machines; a new network gets it after Terraform made it.
	if err := sb.StandInJumpHost(c.ctx); err != nil {
		return fail(err)
	}
	fmt.Fprintf(c.stdout, "Machine image (Debian 12 with %s):\n", strings.Join(cl.OS.Packages, ", "))
	if _, err := sandbox.EnsureImage(c.ctx, cfg); err != nil {
		return fail(fmt.Errorf("machine image: %w", err))
	}
	if cl.Backup != nil {
		fmt.Fprintf(c.stdout, "Backup repository (bucket %s on the sandbox's S3 server, %s):\n", cl.Backup.Bucket, cl.Backup.Addr())
	}
	if err := sb.PrepareS3(c.ctx); err != nil {
		return fail(err)
	}
	// Before a machine boots when the network runs (a replacement, a new node); a new
	// network's machines wait for it, and get it right after Terraform made them.
	if code, ok := c.syncSandboxSecrets(sb); !ok {
		return code
	}

	if cl.Backend != nil && !c.backendServed {
		serveCtx, stopServing := context.WithCancel(c.ctx)
		defer stopServing()
		if err := sb.ServeBackend(serveCtx, backendBin, func(err error) { fmt.Fprintf(c.stderr, "pghac up: %v\n", err) }); err != nil {
			return fail(err)
		}
	}
	if len(replace) > 0 {
		if code := c.replaceMachines(sb, replace, timeout); code != exitOK {
			return code
		}
		started = true
	}
	// A change no rollout can carry (a renamed cluster) is refused before Terraform gives
	// the machines a user-data for it.
	if unsafe := sb.Unsafe(c.ctx); len(unsafe) > 0 {
		c.refuseUnsafe(s.File, cl, unsafe)
		return exitInvalid
	}
	r, err := sb.Open(sb.VarFiles(cl.Backend != nil))
	if err != nil {
		return fail(err)
	}
	p, code, ok := c.runPlan("up", r, false)
	if !ok {
		c.printProvisionerLogs(sb)
		return code
	}
	// joining: new nodes of a running cluster, which the others admit only once the rollout
	// below gives them their addresses (pg_hba): up waits for them after it.
	var joining []string
	if p.Info.HasChanges {
		// Only running machines hold data: one whose first boot failed is replaced freely.
		running, err := sb.RunningNodes()
		if err != nil {
			return fail(err)
		}
		if len(running) > 0 {
			for _, n := range cl.NodeNames() {
				if !slices.Contains(running, n) {
					joining = append(joining, n)
				}
			}
		}
		losses := view.PlanSummary(c.stdout, fmt.Sprintf("Sandbox (%s)", sb.Binary.Name), p, running, c.stdoutColor())
		lost := provision.DataLosses(p, running)
		var leaving []string // nodes taken out of cluster.hcl whose machines run
		for _, l := range lost {
			if !cl.HasNode(l.Node) {
				leaving = append(leaving, l.Node)
			}
		}
		if losses > 0 && !allowReplace {
			r.ClearPlan()
			fmt.Fprintln(c.stderr)
			if len(leaving) > 0 {
				fmt.Fprintf(c.stderr, "pghac up: this takes %s out of the cluster, destroying the machines and the copy of the data on each\n"+
					"(%s keep theirs; a leader among them hands over first, and their etcd members are removed).\n",
					strings.Join(leaving, ", "), strings.Join(cl.NodeNames(), ", "))
			}
			if n := losses - len(leaving); n > 0 {
				fmt.Fprintf(c.stderr, "pghac up: this would replace %s and the data on them.\n", view.Plural(n, "machine"))
			}
			fmt.Fprintf(c.stderr, "Nothing was changed. Run `pghac up --allow-replace` to do it, or `pghac down --destroy-data` to remove the sandbox.\n")
			return exitInvalid
		}
		if len(leaving) > 0 {
			// Before Terraform forgets them: it would only drop them from its state (a removed
			// resource's destroy-time provisioner does not run), leaving their etcd members
			// counted in every quorum.
			if code := c.removeNodes(sb, leaving, timeout); code != exitOK {
				r.ClearPlan()
				return code
			}
		}
		if losses > 0 {
			// The new machines come with new host keys: the old ones must not be held against them.
			for _, l := range lost {
				if err := sb.ForgetHostKey(l.Node); err != nil { // nothing for the nodes that left
					return fail(err)
				}
			}
		}
		if err := r.Apply(c.ctx); err != nil {
			code := c.terraformFailed("up", err)
			c.printProvisionerLogs(sb)
			if c.ctx.Err() != nil {
				fmt.Fprintf(c.stderr, "`pghac down --destroy-data` removes whatever was started.\n")
			}
			return code
		}
		if err := sb.StandInJumpHost(c.ctx); err != nil {
			return fail(err)
		}
		if code, ok := c.syncSandboxSecrets(sb); !ok {
			return code
		}
		// Machines boot when a node is new or a machine was replaced; an update in place
		// (a new user-data) boots none.
		started = started || len(lost) > 0 || slices.ContainsFunc(cl.NodeNames(), func(n string) bool { return !slices.Contains(running, n) })
	} else {
		r.ClearPlan()
		fmt.Fprintf(c.stdout, "The sandbox's machines run already: nothing to start.\n")
	}

	// Machines that ran before this up and have problems now (a rollout that stopped after
	// breaking one, a hand edit) get the change first if it touches them (upLive), rather than
	// a wait for a health that only the change can bring.
	var st health.Report
	var broken []string
	if !started {
		st = sb.Observe(c.ctx)
		if nodes, all := st.ProblemNodes(); !st.Healthy && all {
			broken = nodes
		}
	}
	if !st.Healthy && broken == nil {
		var code int
		if st, code = c.waitUp(sb, start, timeout, joining); code != exitOK {
			return code
		}
	}
	// What the machines run and the generated tree say must agree: whatever changed since a
	// machine booted goes to it live, one at a time (on new machines there is nothing).
	code, rolled := c.upLive(sb, start, timeout, broken, joining)
	if code != exitOK {
		return code
	}
	if len(joining) > 0 && !rolled {
		if st, code = c.waitUp(sb, start, timeout, nil); code != exitOK {
			return code
		}
	}
	// Every node runs the generated tree now: a rotation stopped midway is done.
	if err := sb.EndRotation(c.ctx, timeout); err != nil {
		return fail(err)
	}
	if rolled || !st.Healthy {
		st = sb.Observe(c.ctx)
	}
	view.Status(c.stdout, st)
	fmt.Fprintf(c.stdout, "\nUp in %s. Connect with: eval \"$(pghac env)\"; psql   (pghac status shows the cluster; pghac down stops it)\n",
		time.Since(start).Round(time.Second))
	return exitOK
}

// sandbox finds Terraform, builds the cluster for the sandbox and returns what runs it.
func (c *cli) sandbox(cmd string, s site.Site, terraform string) (*provision.Sandbox, int, bool) {
	bin, ok := c.findTerraform(cmd, terraform)
	if !ok {
		return nil, exitRuntime, false
	}
	cl, code, ok := c.buildSandbox(cmd, s)
	if !ok {
		return nil, code, false
	}
	sb, err := provision.NewSandbox(s, cl, bin, view.PrefixWriter{W: c.stdout, Prefix: "  "})
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		return nil, exitRuntime, false
	}
	return sb, exitOK, true
}

// buildSandbox compiles the cluster for the sandbox and writes deploy/sandbox/ when it changed.
func (c *cli) buildSandbox(cmd string, s site.Site) (*model.Cluster, int, bool) {
	l, set, code, ok := c.compile(cmd, s.File, model.TargetSandbox, false)
	if !ok {
		return nil, code, false
	}
	drift, err := provision.Sync(s.Deploy, set)
	if err == nil && !drift.Clean() {
		view.Written(c.stdout, s.Deploy, set, drift)
	}
	if err == nil {
		err = s.MakeStateDir()
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		return nil, exitRuntime, false
	}
	return l.cluster, exitOK, true
}

// syncSandboxSecrets writes the site's secrets into the sandbox's Lockbox when they differ from
// its newest version (provision.Sandbox.SyncSecrets), saying so.
func (c *cli) syncSandboxSecrets(sb *provision.Sandbox) (int, bool) {
	id, version, added, ok, err := sb.SyncSecrets(c.ctx)
	if err != nil {
		return c.fail("up", fmt.Errorf("the sandbox's Lockbox: %w", err)), false
	}
	if ok && added {
		fmt.Fprintf(c.stdout, "Secrets: wrote version %s of Lockbox secret %s (the sandbox's), which the machines read at their first boot.\n", version, id)
	}
	return exitOK, true
}

// ensureSandboxSecrets generates the sandbox's secrets on the first run, and those a newer
// pghac or a new role added since.
func (c *cli) ensureSandboxSecrets(s site.Site, cl *model.Cluster) (int, bool) {
	if !s.HasSecrets() {
		if code := c.secretsInit(s, cl, false); code != exitOK {
			return code, false
		}
		return exitOK, true
	}
	if made, err := s.EnsureOperatorKey(); err != nil {
		return c.fail("up", err), false
	} else if made {
		fmt.Fprintf(c.stdout, "%s: operator key made (pghac logs in to the machines with it)\n", s.OperatorKey())
	}
	tls, err := s.EnsureTLS(cl, time.Now())
	if err != nil {
		return c.fail("up", err), false
	}
	c.reportTLS(s, tls)
	added, err := s.AddMissingSecrets(cl.Passwords())
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac up: %v\n", err)
		return exitRuntime, false
	}
	if len(added) > 0 {
		fmt.Fprintf(c.stdout, "%s: added %s: %s\n", s.Secrets(), view.Plural(len(added), "secret"), strings.Join(added, ", "))
	}
	return exitOK, true
}

// restartStale boots again, with their disks, the machines Terraform's state says run but
// that do not (the host rebooted), except those about to be replaced. It never removes one:
// that would lose its data.
func (c *cli) restartStale(sb *provision.Sandbox, replace []string) (started bool, err error) {
	missing, err := sb.Stale()
	missing = slices.DeleteFunc(missing, func(n string) bool { return slices.Contains(replace, n) })
	if err != nil || len(missing) == 0 {
		return false, err
	}
	fmt.Fprintf(c.stdout, "Terraform's state has machines that do not run (%s): starting them again with their disks.\n", strings.Join(missing, ", "))
	if err := sb.StartAgain(c.ctx, missing); err != nil {
		return true, fmt.Errorf("%w\nThey could not be started again. `pghac down --destroy-data` removes the sandbox and its data; `pghac up` then makes a new one", err)
	}
	return true, nil
}

// replaceMachines rebuilds each node's machine, one at a time (rollout.Replace), the cluster
// healthy again before the next.
func (c *cli) replaceMachines(sb *provision.Sandbox, nodes []string, timeout time.Duration) int {
	if running, err := sb.RunningNodes(); err != nil {
		return c.fail("up", err)
	} else if len(running) == 0 {
		fmt.Fprintf(c.stderr, "pghac up: --replace: the sandbox does not run; pghac up without --replace makes its machines\n")
		return exitInvalid
	}
	pc, _, err := provision.SandboxPatroni(sb.Site, sb.Cluster)
	if err != nil {
		return c.fail("up", err)
	}
	for _, n := range nodes {
		fmt.Fprintf(c.stdout, "Replacing %s's machine (its data is copied anew from the leader):\n", n)
		machine := func(ctx context.Context) error {
			return sb.ReplaceMachine(ctx, n, func(p *infra.Plan) {
				view.PlanSummary(c.stdout, fmt.Sprintf("Sandbox (%s), %s only", sb.Binary.Name, n), p, sb.Cluster.NodeNames(), c.stdoutColor())
				fmt.Fprintf(c.stdout, "(The plan targets this machine alone, so Terraform warns that other changes may be pending: up plans those next.)\n")
			})
		}
		done, err := rollout.Replace(c.ctx, pc, sb.Cluster.NodeNames(), n, machine, sb.WaitHealthy, timeout, c.stepLog())
		if err != nil {
			code := c.fail("up", err)
			c.printProvisionerLogs(sb)
			return code
		}
		fmt.Fprintf(c.stdout, "%s replaced in %s: it streams from the leader.\n\n", n, done.Took.Round(time.Second))
	}
	return exitOK
}

// removeNodes takes nodes, which cluster.hcl no longer has, out of the running cluster one at a
// time (rollout.Remove): the leadership handed to a node that stays, the etcd member removed,
// the machine and its disk gone, the rest healthy before the next.
func (c *cli) removeNodes(sb *provision.Sandbox, nodes []string, timeout time.Duration) int {
	pc, _, err := provision.SandboxPatroni(sb.Site, sb.Cluster)
	if err != nil {
		return c.fail("up", err)
	}
	dial, err := sb.Dialer()
	if err != nil {
		return c.fail("up", err)
	}
	fmt.Fprintf(c.stdout, "\nTaking %s out of the cluster, one at a time:\n", strings.Join(nodes, ", "))
	done, err := rollout.Remove(c.ctx, pc, dial, sb.Cluster.NodeNames(), nodes, sb.RemoveMachine, sb.WaitHealthy, timeout, c.stepLog())
	for _, d := range done {
		fmt.Fprintf(c.stdout, "%s left the cluster in %s.\n", d.Node, d.Took.Round(time.Second))
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac up: %s\nThe removal stopped there; the cluster serves. Running pghac up --allow-replace again continues.\n", rolloutMessage(err))
		return exitRuntime
	}
	fmt.Fprintln(c.stdout)
	return exitOK
}

// stepLog prints an operation's steps, each with the seconds since it started.
func (c *cli) stepLog() func(string) {
	start := time.Now()
	return func(msg string) { fmt.Fprintf(c.stdout, "  [%4ds] %s\n", int(time.Since(start).Seconds()), msg) }
}

// teardown removes the sandbox, saying so when Terraform's destroy failed on the way.
func (c *cli) teardown(sb *provision.Sandbox) error {
	destroyErr, err := sb.Teardown(c.ctx)
	if destroyErr != nil {
		fmt.Fprintf(c.stderr, "pghac: Terraform destroy failed (the cleanup below removes what is left): %v\n", destroyErr)
	}
	return err
}

// printProvisionerLogs prints the logs of the provisioners that failed.
func (c *cli) printProvisionerLogs(sb *provision.Sandbox) {
	for _, l := range sb.FailedProvisioners() {
		fmt.Fprintf(c.stderr, "== %s\n%s\n", l.Title, provision.Tail(l.Text, 30))
	}
}

// refuseUnsafe prints the changes no rollout can carry (rollout.Live's Unsafe, each naming its
// node) as diagnostics at the cluster block of file, each once.
func (c *cli) refuseUnsafe(file string, cl *model.Cluster, unsafe []string) {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, u := range unsafe {
		_, what, _ := strings.Cut(u, ": ") // "node0: the cluster's name changes ..."
		if seen[what] {
			continue
		}
		seen[what] = true
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot be rolled out to the running cluster",
			Detail:   strings.ToUpper(what[:1]) + what[1:] + ". Nothing was changed.",
			Subject:  cl.DeclRange.Ptr(),
		})
	}
	c.printClusterDiags(file, cl, diags)
}

// printClusterDiags prints diags about cl, compiled from file, with file's lines as
// snippets (only the places when file cannot be read again).
func (c *cli) printClusterDiags(file string, cl *model.Cluster, diags hcl.Diagnostics) {
	name, src, err := c.readSource(file)
	if err != nil || cl.DeclRange.Filename != name {
		src = nil // no snippet, the place still
	}
	c.printDiags(diags, nil, cl.DeclRange.Filename, src)
}

// waitUp waits until the machines have booted and the cluster is healthy but for the nodes
// in except, printing the boot's phases; when it is not by timeout, it prints why and the
// unhealthy nodes' logs.
func (c *cli) waitUp(sb *provision.Sandbox, start time.Time, timeout time.Duration, except []string) (health.Report, int) {
	fmt.Fprintf(c.stdout, "\nWaiting for the cluster (at most %s):\n", timeout)
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	st, err := sb.WaitUp(ctx, func(node, phase string) {
		fmt.Fprintf(c.stdout, "  [%4ds] %-12s %s\n", int(time.Since(start).Seconds()), node, phase)
	}, except)
	fmt.Fprintln(c.stdout)
	if err == nil {
		return st, exitOK
	}
	var merr *sandbox.MachineError
	if errors.As(err, &merr) {
		fmt.Fprintf(c.stderr, "pghac up: node %s failed: %s\n%s\n", merr.Machine, merr.Problem, strings.TrimRight(merr.Logs, "\n"))
		return st, exitRuntime
	}
	if c.ctx.Err() != nil {
		fmt.Fprintf(c.stderr, "pghac up: interrupted; `pghac down --destroy-data` removes whatever was started\n")
		return st, exitRuntime
	}
	view.Status(c.stdout, st)
	fmt.Fprintf(c.stderr, "pghac up: %v\n", err)
	for _, l := range sb.UnhealthyLogs(st) {
		fmt.Fprintf(c.stderr, "\n==== %s\n%s\n", l.Title, strings.TrimRight(l.Text, "\n"))
	}
	return st, exitRuntime
}

// upLive surveys the running sandbox, prints what differs from the generated tree and rolls
// it out (rollout.Apply). broken are the nodes with problems, when up did not wait for a
// healthy cluster: the change goes to them first; when it leaves one of them as it is, upLive
// waits for the cluster to be healthy first (waitUp). joining are new nodes, whose health the
// rollout waits for only at its end (rollout.Live.Joining). It reports whether it changed
// anything.
func (c *cli) upLive(sb *provision.Sandbox, start time.Time, timeout time.Duration, broken, joining []string) (int, bool) {
	l, dial, pc, err := sb.Live(c.ctx)
	if err != nil {
		return c.fail("up", fmt.Errorf("surveying the running machines: %w", err)), false
	}
	view.Live(c.stdout, "Live changes (sandbox)", l, c.stdoutColor())
	fmt.Fprintln(c.stdout)
	if len(broken) > 0 && (l.Empty() || slices.ContainsFunc(broken, func(n string) bool { return !l.Changes(n) })) {
		// Not for the change to mend: perhaps a moment's lag, perhaps a node that needs
		// --replace; the wait says which.
		if _, code := c.waitUp(sb, start, timeout, nil); code != exitOK {
			return code, false
		}
		broken = nil
	}
	if l.Empty() {
		return exitOK, false
	}
	if len(l.Unsafe) > 0 {
		fmt.Fprintf(c.stderr, "pghac up: nothing was changed: %s\n", strings.Join(l.Unsafe, "\n"))
		return exitInvalid, false
	}
	if bad := l.Unreachable(); len(bad) > 0 {
		fmt.Fprintf(c.stderr, "pghac up: %s cannot be reached over SSH, so nothing was changed; machines made before pghac had\n"+
			"an operator key lack it: `pghac down --destroy-data` and `pghac up` rebuild them (the data is lost)\n", bad[0].Node)
		return exitRuntime, false
	}
	l.Joining = joining
	if len(broken) > 0 {
		l.Broken = broken
		fmt.Fprintf(c.stdout, "Problems on %s, which the change touches: it goes there first.\n", strings.Join(broken, ", "))
	}
	fmt.Fprintf(c.stdout, "Rolling out, one node at a time, replicas first:\n")
	done, err := rollout.Apply(c.ctx, l, dial, pc, sb.WaitHealthyExcept, timeout, c.stepLog())
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac up: %s\nThe rollout stopped there; the cluster serves. Running pghac up again continues.\n", rolloutMessage(err))
		return exitRuntime, false
	}
	c.rolledOut(done)
	return exitOK, true
}

// rolledOut says what a rollout did.
func (c *cli) rolledOut(done rollout.Applied) {
	fmt.Fprintf(c.stdout, "Rolled out in %s: %s changed", done.Took.Round(100*time.Millisecond), view.Plural(len(done.Nodes), "node"))
	if r := done.Configured.Restarted; len(r) > 0 {
		fmt.Fprintf(c.stdout, ", PostgreSQL restarted on %s", strings.Join(r, ", "))
	}
	if sw := done.Configured.Switchover; sw != nil {
		fmt.Fprintf(c.stdout, ", switched over from %s to %s", sw.From, sw.To)
	}
	fmt.Fprintf(c.stdout, ".\n\n")
}
