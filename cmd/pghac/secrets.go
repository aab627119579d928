package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var secretsCommand = &command{
	name:     "secrets",
	synopsis: "init [-f cluster.hcl] [--target TARGET] [--state-dir DIR] [--force]",
	summary:  "generate the cluster's passwords into a private Terraform var file",
	detail: `'pghac secrets init' generates a strong random value for every secret the cluster
needs (PostgreSQL, Patroni and HAProxy passwords) and writes them to
.pghac/<target>/secrets.tfvars beside the cluster file: mode 0600, git-ignored,
outside the generated tree. 'pghac plan' passes that file to Terraform. The values
are never printed.

An existing file is kept unless --force is given: new passwords for a running
cluster change its configuration on the next apply.`,
	maxArgs: 1,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		file := fs.StringP("file", "f", "cluster.hcl", "the secrets are for the cluster in `FILE` (its folder holds .pghac)")
		target := addTargetFlag(fs, model.Targets[0], "build for `TARGET`")
		stateDir := fs.String("state-dir", "", "write into `DIR`/<target>/ (default .pghac beside FILE)")
		force := fs.Bool("force", false, "replace an existing secrets file")
		return func(c *cli, args []string) int {
			if len(args) == 0 || args[0] != "init" {
				return c.usageError(lookup("secrets"), "want a subcommand: init")
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
