package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var upCommand = &command{
	name:     "up",
	synopsis: "[-f cluster.hcl] [-o deploy] [--state-dir DIR] [--timeout DURATION] [--terraform PATH]",
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

Running up again changes nothing and reports the running cluster. 'pghac down'
removes everything, also after an interrupted up.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, true)
		timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for a healthy cluster after `DURATION`")
		backend := fs.String("backend", "", "serve the backend binary at `PATH` to the machines (default pghac-backend beside pghac, else on PATH)")
		return func(c *cli, _ []string) int {
			s, code, ok := c.sandboxSite("up", f)
			if !ok {
				return code
			}
			return c.up(s, *f.terraform, *backend, *timeout)
		}
	},
}

func (c *cli) up(s site.Site, terraform, backendBin string, timeout time.Duration) int {
	start := time.Now()
	fail := func(err error) int {
		if c.ctx.Err() != nil {
			fmt.Fprintf(c.stderr, "pghac up: interrupted; `pghac down` removes whatever was started\n")
			return exitRuntime
		}
		return c.fail("up", err)
	}
	sb, code, ok := c.sandbox("up", s, terraform)
	if !ok {
		return code
	}
	cl, cfg := sb.Cluster, sb.Config
	if err := sandbox.Preflight(cfg); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(c.stderr, "pghac up: %s\n", line)
		}
		return exitRuntime
	}
	if code, ok := c.ensureSandboxSecrets(s, cl.Secrets()); !ok {
		return code
	}
	if err := sb.Prepare(); err != nil {
		return fail(err)
	}
	if err := c.resetIfStale(sb); err != nil {
		return fail(err)
	}
	fmt.Fprintf(c.stdout, "Machine image (Debian 12 with %s):\n", strings.Join(cl.OS.Packages, ", "))
	if _, err := sandbox.EnsureImage(c.ctx, cfg); err != nil {
		return fail(fmt.Errorf("machine image: %w", err))
	}

	if cl.Backend != nil {
		serveCtx, stopServing := context.WithCancel(c.ctx)
		defer stopServing()
		if err := sb.ServeBackend(serveCtx, backendBin, func(err error) { fmt.Fprintf(c.stderr, "pghac up: %v\n", err) }); err != nil {
			return fail(err)
		}
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
	if p.Info.HasChanges {
		view.PlanSummary(c.stdout, fmt.Sprintf("Sandbox (%s)", sb.Binary.Name), p, nil, c.stdoutColor())
		if err := r.Apply(c.ctx); err != nil {
			code := c.terraformFailed("up", err)
			c.printProvisionerLogs(sb)
			if c.ctx.Err() != nil {
				fmt.Fprintf(c.stderr, "`pghac down` removes whatever was started.\n")
			}
			return code
		}
	} else {
		r.ClearPlan()
		fmt.Fprintf(c.stdout, "The sandbox's machines run already: nothing to start.\n")
	}

	fmt.Fprintf(c.stdout, "\nWaiting for the cluster (at most %s):\n", timeout)
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	st, err := sb.WaitUp(ctx, func(node, phase string) {
		fmt.Fprintf(c.stdout, "  [%4ds] %-12s %s\n", int(time.Since(start).Seconds()), node, phase)
	})
	fmt.Fprintln(c.stdout)
	if err != nil {
		var merr *sandbox.MachineError
		if errors.As(err, &merr) {
			fmt.Fprintf(c.stderr, "pghac up: node %s failed: %s\n%s\n", merr.Machine, merr.Problem, strings.TrimRight(merr.Logs, "\n"))
			return exitRuntime
		}
		if c.ctx.Err() != nil {
			return fail(err)
		}
		view.Status(c.stdout, st)
		fmt.Fprintf(c.stderr, "pghac up: %v\n", err)
		for _, l := range sb.UnhealthyLogs(st) {
			fmt.Fprintf(c.stderr, "\n==== %s\n%s\n", l.Title, strings.TrimRight(l.Text, "\n"))
		}
		return exitRuntime
	}
	view.Status(c.stdout, st)
	fmt.Fprintf(c.stdout, "\nUp in %s. Connect with: eval \"$(pghac env)\"; psql   (pghac status shows the cluster; pghac down removes it)\n",
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

// ensureSandboxSecrets generates the sandbox's secrets on the first run, and those a newer
// pghac or a new role added since.
func (c *cli) ensureSandboxSecrets(s site.Site, secrets []model.Secret) (int, bool) {
	if !s.HasSecrets() {
		if code := c.secretsInit(s, secrets, false); code != exitOK {
			return code, false
		}
		return exitOK, true
	}
	if made, err := s.EnsureOperatorKey(); err != nil {
		return c.fail("up", err), false
	} else if made {
		fmt.Fprintf(c.stdout, "%s: operator key made (pghac logs in to the machines with it)\n", s.OperatorKey())
	}
	added, err := s.AddMissingSecrets(secrets)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac up: %v\n", err)
		return exitRuntime, false
	}
	if len(added) > 0 {
		fmt.Fprintf(c.stdout, "%s: added %s: %s\n", s.Secrets(), view.Plural(len(added), "secret"), strings.Join(added, ", "))
	}
	return exitOK, true
}

// resetIfStale removes a sandbox whose Terraform state says machines run that do not.
func (c *cli) resetIfStale(sb *provision.Sandbox) error {
	missing, err := sb.Stale()
	if err != nil || len(missing) == 0 {
		return err
	}
	fmt.Fprintf(c.stdout, "Terraform's state has machines that do not run (%s): removing the sandbox first.\n", strings.Join(missing, ", "))
	return c.teardown(sb)
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
