package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var applyCommand = &command{
	name:     "apply",
	synopsis: "[-f cluster.hcl] [-o deploy] [--target TARGET] [--auto-approve] [--terraform PATH]",
	summary:  "apply exactly the plan `pghac plan` saved and showed",
	detail: `Applies the plan 'pghac plan' saved: exactly that plan, never a fresh one. It prints
the plan's summary again and asks for confirmation; without a terminal to ask on,
it refuses unless --auto-approve is given.

It refuses when cluster.hcl or the generated tree changed since the plan was made
(run 'pghac plan' again), and when there is no saved plan. Plans made with
'pghac plan --offline' are never saved and cannot be applied.

Ctrl-C stops Terraform gracefully: the cloud calls in flight finish and the state
is kept. A second Ctrl-C kills it.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		tf := addTFFlags(fs)
		autoApprove := fs.Bool("auto-approve", false, "apply without asking")
		return func(c *cli, _ []string) int {
			s, code, ok := c.site("apply", tf)
			if !ok {
				return code
			}
			return c.apply(s, *tf.terraform, *autoApprove)
		}
	},
}

func (c *cli) apply(s site.Site, terraform string, autoApprove bool) int {
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
	case !info.HasChanges:
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
	return c.confirmAndApply("apply", r, p, title, autoApprove)
}

// confirmAndApply prints the plan's summary, asks unless autoApprove, and applies. A plan
// that is not applied stays saved, except a destroy plan: applying one later by mistake must
// not be possible.
func (c *cli) confirmAndApply(cmd string, r *provision.Run, p *infra.Plan, title string, autoApprove bool) int {
	dbLosses := view.PlanSummary(c.stdout, title, p, dbNodes(r.Site), c.stdoutColor())
	if !autoApprove {
		question := "Apply this plan?"
		switch {
		case p.Info.Destroy:
			question = "Destroy all of the cluster's infrastructure, its databases included? There is no undo."
		case dbLosses > 0:
			question = fmt.Sprintf("Apply this plan, losing %s as warned above?", view.Plural(dbLosses, "database VM"))
		}
		if !c.confirm(question) {
			fmt.Fprintf(c.stderr, "pghac %s: not confirmed; nothing was changed\n", cmd)
			if p.Info.Destroy {
				r.ClearPlan()
			}
			return exitInvalid
		}
	}
	fmt.Fprintln(c.stdout)
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
	fmt.Fprintf(c.stderr, "pghac apply: no saved plan in %s: run `pghac plan` first\n", s.Work())
	if _, err := os.Stat(filepath.Join(s.Offline(), "terraform")); err == nil {
		fmt.Fprintf(c.stderr, "(`pghac plan --offline` plans are never saved: they cannot be applied)\n")
	}
	return exitInvalid
}

func (c *cli) changedSincePlan(cmd string, s site.Site) int {
	fmt.Fprintf(c.stderr, "pghac %s: %s or %s changed since the plan was made; refusing to apply a plan you have not seen\n", cmd, s.File, s.Deploy)
	fmt.Fprintf(c.stderr, "Run `pghac plan` again.\n")
	return exitInvalid
}
