package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/fakeyandex"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
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
	r, err := provision.OpenOffline(s, bin, c.environ(), exe, providerCommand.name)
	if err != nil {
		return fail(err)
	}
	color := c.stdoutColor()
	fmt.Fprintln(c.stdout, view.Ansi(color, "1;33", offlineBanner))
	fmt.Fprintln(c.stdout)
	p, code, ok := c.runPlan("plan", r, false)
	if !ok {
		return code
	}
	// Nothing may ever apply it.
	if err := r.ClearPlan(); err != nil {
		return fail(err)
	}
	view.Plan(c.stdout, fmt.Sprintf("OFFLINE plan (%s, %s, fake provider)", s.Target, bin.Name), p, cl.NodeNames(), color)
	fmt.Fprintln(c.stdout)
	fmt.Fprintln(c.stdout, view.Ansi(color, "1;33", offlineBanner))
	return exitOK
}
