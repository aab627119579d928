package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/fakeyandex"
	"github.com/pghac/pghac/internal/site"
)

// providerCommand serves pghac's offline stand-in for the Yandex provider. Terraform starts
// it, through the mirror `plan --offline` writes; nobody else should.
var providerCommand = &command{
	name:     "__terraform-provider-yandex",
	synopsis: "",
	summary:  "serve the offline Yandex provider to Terraform (internal)",
	detail:   "Serves pghac's offline stand-in for the Yandex Cloud provider. Terraform starts it during `pghac plan --offline`.",
	setup: func(*pflag.FlagSet) func(*cli, []string) int {
		return func(c *cli, _ []string) int {
			if err := serveProvider(); err != nil {
				fmt.Fprintf(c.stderr, "pghac: offline Yandex provider: %v\n", err)
				return exitRuntime
			}
			return exitOK
		}
	},
}

// serveProvider is fakeyandex.Serve; tests replace it when they are not started by Terraform.
var serveProvider = fakeyandex.Serve

// offlineBanner goes above and below an offline plan, so nobody mistakes it for a real one.
const offlineBanner = `*** OFFLINE PLAN: made against the Yandex provider's schema by pghac's built-in stand-in
*** for the provider, with fake values for the variables and for everything the cloud would
*** compute. It shows what the configuration asks for; it was not checked against the cloud
*** and it cannot be applied.`

// fakeSecret is the value every sensitive variable gets offline: it passes the secrets'
// validation and is obviously not a real password.
const fakeSecret = "OfflinePlanFakeSecretNotARealValue0000"

// planOffline plans the generated tree against the offline provider in a fresh working
// directory of its own (.pghac/<target>/offline/): never one that has real state or real
// provider hashes in its lock file.
func (c *cli) planOffline(s site.Site, bin infra.Binary, cl *model.Cluster) int {
	fail := func(err error) int {
		fmt.Fprintf(c.stderr, "pghac plan --offline: %v\n", err)
		return exitRuntime
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	if err := s.MakeStateDir(); err != nil {
		return fail(err)
	}
	work := filepath.Join(s.Offline(), "terraform")
	if err := os.RemoveAll(work); err != nil {
		return fail(err)
	}
	provider := filepath.Join(s.Offline(), "provider")
	if err := os.MkdirAll(provider, 0o700); err != nil {
		return fail(err)
	}
	wrapper := filepath.Join(provider, "terraform-provider-yandex.sh")
	if err := os.WriteFile(wrapper, fakeyandex.ShellWrapper(exe, providerCommand.name), 0o700); err != nil {
		return fail(err)
	}
	cfg, err := fakeyandex.WriteMirror(provider, wrapper)
	if err != nil {
		return fail(err)
	}
	varFile := filepath.Join(s.Offline(), "fake.tfvars")
	if err := writeFakeVars(varFile, s.Deploy); err != nil {
		return fail(err)
	}
	env := c.environ()
	for k, v := range fakeyandex.TerraformEnv(cfg) {
		env = append(env, k+"="+v) // later entries win
	}
	w, err := infra.Open(infra.Options{Binary: bin, Dir: work, Env: env, LocalState: true})
	if err != nil {
		return fail(err)
	}
	color := c.stdoutColor()
	fmt.Fprintln(c.stdout, ansi(color, "1;33", offlineBanner))
	fmt.Fprintln(c.stdout)
	p, code, ok := c.runPlan("plan", w, s, true, infra.PlanOptions{VarFiles: []string{varFile}, Fingerprint: "offline"})
	if !ok {
		return code
	}
	// Nothing may ever apply it.
	if err := w.ClearPlan(); err != nil {
		return fail(err)
	}
	c.printPlan(p, fmt.Sprintf("OFFLINE plan (%s, %s, fake provider)", s.Target, bin.Name), nodeNames(cl), color)
	fmt.Fprintln(c.stdout)
	fmt.Fprintln(c.stdout, ansi(color, "1;33", offlineBanner))
	return exitOK
}

// writeFakeVars writes a var file giving every required variable of the module in dir a fake
// value.
func writeFakeVars(path, dir string) error {
	vars, err := infra.Variables(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Fake values for an offline plan (pghac plan --offline). Nothing here is real.\n")
	for _, v := range vars {
		if !v.Required {
			continue
		}
		val := "offline-fake-" + strings.ReplaceAll(v.Name, "_", "-")
		if v.Sensitive {
			val = fakeSecret
		}
		fmt.Fprintf(&b, "%s = %q\n", v.Name, val)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
