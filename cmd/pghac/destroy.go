package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
)

var destroyCommand = &command{
	name:     "destroy",
	synopsis: "[-f cluster.hcl] [-o deploy] [--target TARGET] [--var-file FILE]... [--auto-approve] [--terraform PATH]",
	summary:  "destroy everything Terraform created for the cluster",
	detail: `Plans the destruction of everything in the target's Terraform state, prints what goes,
asks for confirmation and applies that plan. Without a terminal to ask on, it
refuses unless --auto-approve is given. The generated tree is used as it is (no
build); Terraform gets the same var files as for 'pghac plan'.

The plan is not kept: a destroy plan that was not applied at once is discarded.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		tf := addTFFlags(fs)
		varFiles := fs.StringArray("var-file", nil, "pass Terraform the variables in `FILE` (repeatable)")
		autoApprove := fs.Bool("auto-approve", false, "destroy without asking")
		return func(c *cli, _ []string) int {
			s, code, ok := c.site("destroy", tf)
			if !ok {
				return code
			}
			return c.destroy(s, *tf.terraform, *varFiles, *autoApprove)
		}
	},
}

func (c *cli) destroy(s site.Site, terraform string, extraVarFiles []string, autoApprove bool) int {
	if code, ok := c.unattended("destroy", autoApprove); !ok {
		return code
	}
	bin, ok := c.findTerraform("destroy", terraform)
	if !ok {
		return exitRuntime
	}
	if _, err := os.Stat(s.Deploy); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(c.stderr, "pghac destroy: %s does not exist: run `pghac build` first\n", s.Deploy)
		return exitInvalid
	}
	varFiles, ok := c.varFiles("destroy", s, extraVarFiles)
	if ok {
		varFiles, ok = c.withBuilds("destroy", s, varFiles)
	}
	if !ok {
		return exitInvalid
	}
	r, err := provision.Open(s, bin, varFiles, c.stdout)
	if err != nil {
		return c.fail("destroy", err)
	}
	p, code, ok := c.runPlan("destroy", r, true)
	if !ok {
		return code
	}
	if p.Summary.Empty() {
		r.ClearPlan()
		fmt.Fprintf(c.stdout, "Nothing to destroy: the %s state is empty.\n", s.Target)
		return exitOK
	}
	code, ok = c.confirmPlan("destroy", r, p, fmt.Sprintf("DESTROY plan (%s, %s)", s.Target, bin.Name), nil, autoApprove)
	if ok {
		code = c.applySaved("destroy", r, p)
	}
	r.ClearPlan() // already gone unless something failed early
	return code
}
