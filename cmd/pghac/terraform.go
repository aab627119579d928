package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
)

// What plan, apply, destroy and secrets share: their flags, which binary runs, how a plan is
// printed and how a human confirms it.

// tfFlags are the flags of every command that runs Terraform.
type tfFlags struct {
	file, out, stateDir, terraform *string
	target                         func() (model.Target, error)
}

func addTFFlags(fs *pflag.FlagSet) tfFlags {
	return tfFlags{
		file:      fs.StringP("file", "f", "cluster.hcl", "read the cluster from `FILE`"),
		out:       fs.StringP("out", "o", "deploy", "the generated tree is `DIR`/<target>/"),
		target:    addTargetFlag(fs, model.Targets[0], "build for `TARGET`"),
		stateDir:  fs.String("state-dir", "", "keep Terraform's working directory, state and secrets in `DIR` (default .pghac beside FILE)"),
		terraform: fs.String("terraform", "", "run the Terraform or OpenTofu binary at `PATH` (default $PGHAC_TERRAFORM, else terraform or tofu on PATH)"),
	}
}

// site checks the flags and resolves the paths. cmd names the command for usage errors.
func (c *cli) site(cmd string, f tfFlags) (site.Site, int, bool) {
	t, err := f.target()
	if err != nil {
		return site.Site{}, c.usageError(lookup(cmd), err.Error()), false
	}
	if *f.file == "-" {
		return site.Site{}, c.usageError(lookup(cmd), "-f - is not possible here: apply checks that the cluster file did not change since the plan"), false
	}
	if t == model.TargetSandbox {
		// The sandbox's Terraform needs the paths `up` passes it, and no confirmation.
		return site.Site{}, c.usageError(lookup(cmd), "the sandbox is brought up with `pghac up` and removed with `pghac down`"), false
	}
	return site.New(*f.file, *f.out, *f.stateDir, t), exitOK, true
}

// findTerraform picks the Terraform binary, printing why none would do.
func (c *cli) findTerraform(cmd, explicit string) (infra.Binary, bool) {
	b, err := infra.Find(c.ctx, explicit, c.getenv)
	if err != nil && c.ctx.Err() != nil {
		fmt.Fprintf(c.stderr, "pghac %s: interrupted\n", cmd)
		return b, false
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		if errors.Is(err, infra.ErrNoTerraform) {
			fmt.Fprintf(c.stderr, "Install Terraform %s or later (or OpenTofu), or name the binary with --terraform PATH or %s.\n",
				infra.MinVersion, infra.EnvTerraform)
		}
		return b, false
	}
	return b, true
}

// terraformFailed reports err from infra and returns the exit code.
func (c *cli) terraformFailed(cmd string, err error) int {
	var verr *infra.ValidationError
	var tferr *infra.TerraformError
	switch {
	case errors.As(err, &verr):
		// Validation runs on freshly generated files, so their errors are pghac's.
		for _, d := range verr.Diagnostics {
			fmt.Fprintf(c.stderr, "%s\n", d)
		}
		fmt.Fprintf(c.stderr, "pghac %s: internal error (a pghac bug): Terraform rejects the generated configuration\n", cmd)
		return exitInternal
	case errors.As(err, &tferr) && tferr.Interrupted():
		fmt.Fprintf(c.stderr, "pghac %s: interrupted; Terraform stopped\n", cmd)
		return exitRuntime
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(c.stderr, "pghac %s: interrupted\n", cmd)
		return exitRuntime
	}
	fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
	if tferr != nil && strings.Contains(tferr.Detail, "No value for required variable") {
		fmt.Fprintf(c.stderr, "Give Terraform the variables in a var file, with --var-file FILE (never -var: command\n"+
			"lines are visible to other users), or as TF_VAR_<name> environment variables.\n")
	}
	if tferr != nil && tferr.Op == "init" && strings.Contains(tferr.Detail, "could not connect to registry") {
		fmt.Fprintf(c.stderr, "Terraform could not download the Yandex provider. Without access to the registry (or a\n"+
			"provider mirror in your Terraform CLI configuration), `pghac plan --offline` still checks the\n"+
			"generated configuration against the provider's schema.\n")
	}
	return exitRuntime
}

// varFiles is the operator key's var file, then the --var-file files. Without a secrets file
// there is nothing for the nodes to read, so varFiles says how to make one.
func (c *cli) varFiles(cmd string, s site.Site, extra []string) ([]string, bool) {
	files, err := provision.VarFiles(s, extra)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		var noSecrets *provision.NoSecretsError
		if errors.As(err, &noSecrets) {
			fmt.Fprintf(c.stderr, "Run `pghac secrets init` to generate them: pghac apply writes them to the cluster's Lockbox secret.\n")
		}
		return nil, false
	}
	return files, true
}

// withBuilds is files with the var file of pghac's own builds that the module in s.Deploy
// uploads, their checksums computed now (provision.WriteBuildVars), when it uploads any.
func (c *cli) withBuilds(cmd string, s site.Site, files []string) ([]string, bool) {
	exe, err := provision.Executable()
	var builds string
	var ok bool
	if err == nil {
		builds, ok, err = provision.WriteBuildVars(s, exe)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		return nil, false
	}
	if ok {
		files = append(files, builds)
	}
	return files, true
}

// dbNodes returns the names of the cluster's database nodes, compiling the cluster file
// quietly; nil when it does not compile (every VM then counts as a database VM).
func dbNodes(s site.Site) []string {
	src, err := os.ReadFile(s.File)
	if err != nil {
		return nil
	}
	_, cl, diags := compiler.CompileSource(src, s.File, s.Target)
	if diags.HasErrors() || cl == nil {
		return nil
	}
	return cl.NodeNames()
}

// stdoutColor reports whether what goes to stdout gets colours: as for diagnostics, but
// asking whether stdout is a terminal.
func (c *cli) stdoutColor() bool {
	switch c.colorMode {
	case "always":
		return true
	case "never":
		return false
	}
	tty, _ := terminal(c.stdout)
	return tty && !c.noColor
}

// stdinIsTerminal reports whether r is an interactive terminal. Tests replace it.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks question on stdout and reports whether the answer read from stdin is exactly
// "yes". Ctrl-C while waiting counts as no.
func (c *cli) confirm(question string) bool {
	fmt.Fprintf(c.stdout, "\n%s\n  Only 'yes' will be accepted.\n\n  Enter a value: ", question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c.stdin).ReadString('\n')
		answer <- strings.TrimSpace(line)
	}()
	select {
	case a := <-answer:
		fmt.Fprintln(c.stdout)
		return a == "yes"
	case <-c.ctx.Done():
		fmt.Fprintln(c.stdout)
		return false
	}
}

// unattended checks, before anything runs, that a command which changes infrastructure can
// either ask on a terminal or was told not to ask.
func (c *cli) unattended(cmd string, autoApprove bool) (int, bool) {
	if autoApprove || stdinIsTerminal(c.stdin) {
		return exitOK, true
	}
	return c.usageError(lookup(cmd), "standard input is not a terminal, so there is nobody to confirm with: pass --auto-approve to "+cmd+" unattended"), false
}
