package main

import (
	"errors"
	"fmt"
	"io/fs"
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
	synopsis: "init [-f cluster.hcl] [--target TARGET] [--state-dir DIR] [--force] | rotate NAME [-f cluster.hcl] [-o deploy] [--state-dir DIR] [--timeout DURATION]",
	summary:  "generate the cluster's passwords into a private Terraform var file, or rotate one",
	detail: `'pghac secrets init' generates a strong random value for every secret the cluster
needs (PostgreSQL, Patroni and HAProxy passwords) and writes them to
.pghac/<target>/secrets.tfvars beside the cluster file: mode 0600, git-ignored,
outside the generated tree. 'pghac plan' passes that file to Terraform. The values
are never printed.

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
The cloud target has no live rollout yet, so rotate works on the sandbox only.`,
	maxArgs: 2,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		file := fs.StringP("file", "f", "cluster.hcl", "the secrets are for the cluster in `FILE` (its folder holds .pghac)")
		target := addTargetFlag(fs, model.Targets[0], "build for `TARGET` (init)")
		stateDir := fs.String("state-dir", "", "write into `DIR`/<target>/ (default .pghac beside FILE)")
		force := fs.Bool("force", false, "replace an existing secrets file (init)")
		out := fs.StringP("out", "o", "deploy", "the generated tree is `DIR`/sandbox/ (rotate)")
		timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for the cluster to be healthy after a step after `DURATION` (rotate)")
		return func(c *cli, args []string) int {
			switch {
			case len(args) == 1 && args[0] == "init":
			case len(args) == 2 && args[0] == "rotate":
				if t, err := target(); fs.Changed("target") && (err != nil || t != model.TargetSandbox) {
					return c.usageError(lookup("secrets"), "rotate works on --target sandbox only: the cloud's nodes have no live rollout yet")
				}
				s, err := site.Sandbox(*file, *out, *stateDir, sandbox.DefaultCacheDir(c.getenv))
				if err != nil {
					return c.fail("secrets", err)
				}
				return c.secretsRotate(s, args[1], *timeout)
			case len(args) > 0 && args[0] == "rotate":
				return c.usageError(lookup("secrets"), "rotate takes one secret's name")
			default:
				return c.usageError(lookup("secrets"), "want a subcommand: init, or rotate NAME")
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
			return c.secretsInit(s, l.cluster.Secrets(), *force)
		}
	},
}

// secretsRotate gives the secret name a new value on the running sandbox
// (provision.Sandbox.RotateSecret), showing the change and each step.
func (c *cli) secretsRotate(s site.Site, name string, timeout time.Duration) int {
	cl, code, ok := c.buildSandbox("secrets", s)
	if !ok {
		return code
	}
	if !cl.IsSecret(name) {
		names := make([]string, 0)
		for _, sec := range cl.Secrets() {
			names = append(names, string(sec))
		}
		return c.usageError(lookup("secrets"), fmt.Sprintf("rotate %s: not a secret of %s; its secrets are %s", name, s.File, strings.Join(names, ", ")))
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
	done, err := sb.RotateSecret(c.ctx, model.Secret(name), timeout, func(l rollout.Live) {
		fmt.Fprintf(c.stdout, "%s: new %s (value not shown).\n", s.Secrets(), name)
		view.Live(c.stdout, "Live changes (sandbox)", l, c.stdoutColor())
		fmt.Fprintf(c.stdout, "\nRolling out, one node at a time, replicas first:\n")
	}, c.stepLog())
	if errors.Is(err, provision.ErrNotCurrent) {
		fmt.Fprintf(c.stderr, "pghac secrets: %v\n", err)
		return exitInvalid
	}
	if err != nil {
		if out, _ := s.RotatedOut(); len(out) > 0 { // the new value is in the secrets file
			fmt.Fprintf(c.stderr, "pghac secrets: %s\nThe rollout stopped there; the cluster serves. Running pghac up continues it.\n", rolloutMessage(err))
			return exitRuntime
		}
		return c.fail("secrets", err)
	}
	c.rolledOut(done)
	fmt.Fprintf(c.stdout, "Rotated %s: every node uses the new value.\n", name)
	return exitOK
}

func (c *cli) secretsInit(s site.Site, secrets []model.Secret, force bool) int {
	// The operator key is never replaced here: the running nodes authorize only it.
	madeKey, err := s.EnsureOperatorKey()
	if err != nil {
		return c.fail("secrets", err)
	}
	if madeKey {
		fmt.Fprintf(c.stdout, "%s: operator key made (pghac logs in to the nodes with it; its public half is in %s)\n",
			s.OperatorKey(), s.OperatorVars())
	}
	exists := func() int {
		if madeKey {
			return exitOK
		}
		fmt.Fprintf(c.stderr, "pghac secrets: %s exists; keeping it (pass --force to replace its values)\n", s.Secrets())
		return exitInvalid
	}
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
	fmt.Fprintf(c.stdout, "`pghac plan` passes it to Terraform. Keep it out of git, and back it up: the running cluster uses these passwords.\n")
	return exitOK
}
