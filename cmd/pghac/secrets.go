package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var secretsCommand = &command{
	name:     "secrets",
	synopsis: "init [-f cluster.hcl] [--target TARGET] [--state-dir DIR] [--force] | push [-f cluster.hcl] [--target TARGET] | rotate NAME [-f cluster.hcl] [-o deploy] [--target TARGET] [--state-dir DIR] [--timeout DURATION]",
	summary:  "generate the cluster's passwords into a private file, write them to Lockbox, or rotate one",
	detail: `'pghac secrets init' generates a strong random value for every secret the cluster
needs (PostgreSQL, Patroni and HAProxy passwords) and writes them to
.pghac/<target>/secrets.tfvars beside the cluster file: mode 0600, git-ignored,
outside the generated tree. The values are never printed, and never given to
Terraform: the user-data holds placeholders, and each node fills them in at its
first boot from a Lockbox secret, read as its own service account through the
metadata service (only root on the node may reach it). 'pghac apply' (the cloud,
with $YC_TOKEN) and 'pghac up' (the sandbox's stand-in for Lockbox) write the file's
values as a new version of that secret whenever they differ from its newest;
'pghac secrets push' does only that.

An existing file is kept unless --force is given: new passwords for a running
cluster change its configuration on the next apply.

'pghac secrets rotate NAME' gives one secret a new value on the running sandbox
cluster, everywhere it is used, with no write outage: a role's new password is set
through the leader first (post-bootstrap.sh, fed on stdin), then every node gets
its files one at a time, replicas first, each reloaded (PgBouncer, Patroni, HAProxy)
or restarted (the backend) and the cluster healthy before the next, as 'pghac up'
rolls out any change. Sessions open with the old password go on. The running
cluster must match the generated tree before (run 'pghac up' first). If the rollout
stops midway, 'pghac up' finishes it. The password file of 'pghac env' follows.
With --target yandex it rotates the cloud's cluster the same way, reaching the
nodes as 'pghac status --target' does; 'pghac plan' and 'pghac apply' finish a
rotation that stopped. The new value goes to Lockbox first, for VMs made later.

'pghac secrets rotate tls' issues every node's certificate and the service
certificate again, with new keys, from the same authority, and rolls them out the
same way: each node reloads PostgreSQL, PgBouncer, HAProxy and the backend, whose
open sessions go on.

'pghac secrets rotate ca' rotates the authority itself in three steps, each rolled
out to every node before the next run takes the next: (1) a new authority, trusted
beside the old one on every node and in .pghac/<target>/tls/ca.crt, which your
clients then need; (2) every certificate issued again by the new authority; (3)
the old authority trusted nowhere. Run it three times; each run says what it did
and what the next does.`,
	maxArgs: 2,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		file := fs.StringP("file", "f", "cluster.hcl", "the secrets are for the cluster in `FILE` (its folder holds .pghac)")
		target := addTargetFlag(fs, model.Targets[0], "the secrets of `TARGET` (rotate: the sandbox unless given)")
		stateDir := fs.String("state-dir", "", "write into `DIR`/<target>/ (default .pghac beside FILE)")
		force := fs.Bool("force", false, "replace an existing secrets file (init)")
		out := fs.StringP("out", "o", "deploy", "the generated tree is `DIR`/<target>/ (rotate)")
		timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for the cluster to be healthy after a step after `DURATION` (rotate)")
		return func(c *cli, args []string) int {
			switch {
			case len(args) == 1 && args[0] == "init":
			case len(args) == 2 && args[0] == "rotate":
				t, err := target()
				if err != nil {
					return c.usageError(lookup("secrets"), err.Error())
				}
				if !fs.Changed("target") || t == model.TargetSandbox {
					s, err := site.Sandbox(*file, *out, *stateDir, sandbox.DefaultCacheDir(c.getenv))
					if err != nil {
						return c.fail("secrets", err)
					}
					return c.secretsRotate(s, args[1], *timeout)
				}
				return c.secretsRotateCloud(site.New(*file, *out, *stateDir, t), args[1], *timeout)
			case len(args) > 0 && args[0] == "rotate":
				return c.usageError(lookup("secrets"), "rotate takes one secret's name")
			case len(args) == 1 && args[0] == "push":
				t, err := target()
				if err != nil {
					return c.usageError(lookup("secrets"), err.Error())
				}
				if t == model.TargetSandbox {
					s, err := site.Sandbox(*file, *out, *stateDir, sandbox.DefaultCacheDir(c.getenv))
					if err != nil {
						return c.fail("secrets", err)
					}
					return c.secretsPushSandbox(s)
				}
				return c.secretsPushCloud(site.New(*file, *out, *stateDir, t))
			default:
				return c.usageError(lookup("secrets"), "want a subcommand: init, push, or rotate NAME")
			}
			t, err := target()
			if err != nil {
				return c.usageError(lookup("secrets"), err.Error())
			}
			s := site.New(*file, "", *stateDir, t)
			l, code, ok := c.load("secrets", *file, t, false)
			if !ok {
				return code
			}
			return c.secretsInit(s, l.cluster, *force)
		}
	},
}

// secretsRotateCloud is secretsRotate for a cloud's running cluster, reached as status
// reaches it; plan and apply finish a rotation that stopped.
func (c *cli) secretsRotateCloud(s site.Site, name string, timeout time.Duration) int {
	cl, code, ok := c.buildForPlan(s, false)
	if !ok {
		return code
	}
	if code, ok := c.rotatable(s, cl, name); !ok {
		return code
	}
	err := provision.CanReach(s)
	if err == nil {
		err = provision.ReachJumpHost(c.ctx, s, cl)
	}
	if err != nil {
		return c.fail("secrets", err)
	}
	lb, ok := c.cloudLockbox("secrets")
	if !ok {
		return exitInvalid
	}
	f := provision.Fleet{Site: s, Cluster: cl}
	f.SyncSecrets = func(ctx context.Context) error {
		_, _, _, ok, err := f.SyncCloudSecrets(ctx, *lb)
		if err == nil && !ok {
			err = errors.New("no Lockbox secret recorded: run `pghac apply` first")
		}
		return err
	}
	done, ended, err := c.rotation(s, f, name, timeout)
	return c.rotated(s, ended, done, err, "`pghac plan` and `pghac apply` continue it")
}

// secretsPushSandbox writes the sandbox's secrets into its Lockbox (provision.Sandbox.SyncSecrets).
func (c *cli) secretsPushSandbox(s site.Site) int {
	cl, code, ok := c.buildSandbox("secrets", s)
	if !ok {
		return code
	}
	sb, err := provision.NewSandbox(s, cl, infra.Binary{}, view.PrefixWriter{W: c.stdout, Prefix: "  "})
	if err != nil {
		return c.fail("secrets", err)
	}
	id, version, added, ok, err := sb.SyncSecrets(c.ctx)
	switch {
	case err != nil:
		return c.fail("secrets", err)
	case !ok:
		fmt.Fprintf(c.stderr, "pghac secrets: the sandbox's network does not run (pghac up starts it and writes the secrets)\n")
		return exitInvalid
	}
	c.pushed(id, version, added)
	return exitOK
}

// secretsPushCloud writes a cloud's secrets into the Lockbox secret pghac apply recorded.
func (c *cli) secretsPushCloud(s site.Site) int {
	cl, code, ok := c.loadQuiet("secrets", s)
	if !ok {
		return code
	}
	lb, ok := c.cloudLockbox("secrets")
	if !ok {
		return exitInvalid
	}
	id, version, added, ok, err := provision.Fleet{Site: s, Cluster: cl}.SyncCloudSecrets(c.ctx, *lb)
	switch {
	case err != nil:
		return c.fail("secrets", err)
	case !ok:
		fmt.Fprintf(c.stderr, "pghac secrets: no Lockbox secret recorded in %s: `pghac apply` makes it and writes the secrets\n", s.Dir)
		return exitInvalid
	}
	c.pushed(id, version, added)
	return exitOK
}

func (c *cli) pushed(id, version string, added bool) {
	if added {
		fmt.Fprintf(c.stdout, "Wrote version %s of Lockbox secret %s.\n", version, id)
	} else {
		fmt.Fprintf(c.stdout, "Lockbox secret %s holds these secrets already (version %s).\n", id, version)
	}
}

// The names `secrets rotate` takes for the cluster's certificates, and for its authority.
const (
	rotateTLS = "tls"
	rotateCA  = "ca"
)

// rotatable refuses a name that is none of cl's secrets, naming them.
func (c *cli) rotatable(s site.Site, cl *model.Cluster, name string) (int, bool) {
	if name == rotateTLS || name == rotateCA || slices.Contains(cl.Passwords(), model.Secret(name)) {
		return exitOK, true
	}
	names := make([]string, 0)
	for _, sec := range cl.Passwords() {
		names = append(names, string(sec))
	}
	return c.usageError(lookup("secrets"), fmt.Sprintf("rotate %s: not a secret of %s; its secrets are %s, %s (the certificates) and %s (their authority)", name, s.File, strings.Join(names, ", "), rotateTLS, rotateCA)), false
}

// rotation rotates name on f's cluster: the certificates for rotateTLS, the next step of
// their authority's rotation for rotateCA, else that secret. ended says what was done once
// it is rolled out.
func (c *cli) rotation(s site.Site, f provision.Fleet, name string, timeout time.Duration) (done rollout.Applied, ended string, err error) {
	issued := func(ch site.TLSChange) { c.reportTLS(s, ch) }
	switch name {
	case rotateTLS:
		done, err = f.RotateTLS(c.ctx, timeout, issued, c.showRotation(s, name), c.stepLog())
		return done, "Rotated the certificates: every node has its new one.", err
	case rotateCA:
		began := func(step site.CAStep) { fmt.Fprintf(c.stdout, "Rotating the certificate authority, %s.\n", step) }
		step, done, err := f.RotateCA(c.ctx, timeout, began, issued, c.showRotation(s, name), c.stepLog())
		return done, caStepEnded(s, step), err
	}
	done, err = f.RotateSecret(c.ctx, model.Secret(name), timeout, c.showRotation(s, name), c.stepLog())
	return done, fmt.Sprintf("Rotated %s: every node uses the new value.", name), err
}

// caStepEnded says what an authority rotation's step did, and what comes next.
func caStepEnded(s site.Site, step site.CAStep) string {
	switch step {
	case site.CATrust:
		return fmt.Sprintf("Every node trusts the new authority beside the old one, and so does %s.\n"+
			"Give your clients that file (it holds both), then run `pghac secrets rotate ca` again:\n"+
			"step 2 issues every certificate with the new authority.", s.CACert())
	case site.CASign:
		return "Every node serves a certificate of the new authority; both are still trusted.\n" +
			"Once no client needs the old authority, run `pghac secrets rotate ca` again: step 3 stops trusting it."
	}
	return fmt.Sprintf("The old authority is trusted nowhere: %s holds the new one alone. The rotation is done.", s.CACert())
}

// showRotation prints a rotation's change before it is rolled out.
func (c *cli) showRotation(s site.Site, name string) func(rollout.Live) {
	return func(l rollout.Live) {
		if name != rotateTLS && name != rotateCA { // reportTLS and the step said what changes
			fmt.Fprintf(c.stdout, "%s: new %s (value not shown).\n", s.Secrets(), name)
		}
		view.Live(c.stdout, fmt.Sprintf("Live changes (%s)", s.Target), l, c.stdoutColor())
		fmt.Fprintf(c.stdout, "\nRolling out, one node at a time, replicas first:\n")
	}
}

// rotated reports how a rotation went, ended when it did; resume says what finishes one that
// stopped.
func (c *cli) rotated(s site.Site, ended string, done rollout.Applied, err error, resume string) int {
	if errors.Is(err, provision.ErrNotCurrent) {
		fmt.Fprintf(c.stderr, "pghac secrets: %v\n", err)
		return exitInvalid
	}
	if err != nil {
		// The new values are on this machine (a password's old one recorded until it ends).
		out, _ := s.RotatedOut()
		if _, stopped := errors.AsType[*provision.StoppedError](err); stopped || len(out) > 0 {
			fmt.Fprintf(c.stderr, "pghac secrets: %s\nThe rollout stopped there; the cluster serves. %s.\n", rolloutMessage(err), resume)
			return exitRuntime
		}
		return c.fail("secrets", err)
	}
	c.rolledOut(done)
	fmt.Fprintln(c.stdout, ended)
	return exitOK
}

// secretsRotate gives the secret name a new value on the running sandbox
// (provision.Sandbox.RotateSecret), showing the change and each step.
func (c *cli) secretsRotate(s site.Site, name string, timeout time.Duration) int {
	cl, code, ok := c.buildSandbox("secrets", s)
	if !ok {
		return code
	}
	if code, ok := c.rotatable(s, cl, name); !ok {
		return code
	}
	sb, err := provision.NewSandbox(s, cl, infra.Binary{}, view.PrefixWriter{W: c.stdout, Prefix: "  "})
	if err != nil {
		return c.fail("secrets", err)
	}
	if running, err := sb.RunningNodes(); err != nil {
		return c.fail("secrets", err)
	} else if len(running) == 0 {
		fmt.Fprintf(c.stderr, "pghac secrets: the sandbox does not run (pghac up starts it); rotate changes a running cluster\n")
		return exitInvalid
	}
	done, ended, err := c.rotation(s, sb.Fleet, name, timeout)
	return c.rotated(s, ended, done, err, "Running pghac up continues it")
}

func (c *cli) secretsInit(s site.Site, cl *model.Cluster, force bool) int {
	// The operator key is never replaced here: the running nodes authorize only it.
	madeKey, err := s.EnsureOperatorKey()
	if err != nil {
		return c.fail("secrets", err)
	}
	if madeKey {
		fmt.Fprintf(c.stdout, "%s: operator key made (pghac logs in to the nodes with it; its public half is in %s)\n",
			s.OperatorKey(), s.OperatorVars())
	}
	// Nor is the certificate authority: the running nodes trust only it.
	tls, err := s.EnsureTLS(cl, time.Now())
	if err != nil {
		return c.fail("secrets", err)
	}
	c.reportTLS(s, tls)
	made := madeKey || tls.MadeCA || len(tls.Issued) > 0
	exists := func() int {
		if made {
			return exitOK
		}
		fmt.Fprintf(c.stderr, "pghac secrets: %s exists; keeping it (pass --force to replace its values)\n", s.Secrets())
		return exitInvalid
	}
	secrets := cl.Passwords()
	if !force && s.HasSecrets() {
		added, err := s.AddMissingSecrets(secrets)
		if err != nil {
			return c.fail("secrets", err)
		}
		if len(added) == 0 {
			return exists()
		}
		fmt.Fprintf(c.stdout, "%s: kept its values and added %s: %s (values not shown)\n",
			s.Secrets(), view.Plural(len(added), "secret"), strings.Join(added, ", "))
		return exitOK
	}
	if err := s.WriteSecrets(secrets, force); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return exists()
		}
		return c.fail("secrets", err)
	}
	fmt.Fprintf(c.stdout, "%s: %s generated (mode 0600; values not shown)\n", s.Secrets(), view.Plural(len(secrets), "secret"))
	fmt.Fprintf(c.stdout, "`pghac apply` (`pghac up` on the sandbox) writes them to the cluster's Lockbox secret, where the nodes read them. Keep the file out of git, and back it up: the running cluster uses these passwords.\n")
	return exitOK
}

// reportTLS prints what EnsureTLS made.
func (c *cli) reportTLS(s site.Site, ch site.TLSChange) {
	if ch.MadeCA {
		fmt.Fprintf(c.stdout, "%s: the cluster's certificate authority made (its key, ca.key beside it, never leaves this machine: back it up)\n", s.CACert())
	}
	if len(ch.Issued) > 0 {
		fmt.Fprintf(c.stdout, "%s: certificate issued for %s\n", s.TLSDir(), strings.Join(ch.Issued, ", "))
	}
}
