package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/site"
)

var downCommand = &command{
	name:     "down",
	synopsis: "[-f cluster.hcl] [-o deploy] [--state-dir DIR] [--terraform PATH]",
	summary:  "remove the local sandbox: machines, bridge, apt proxy",
	detail: `Destroys what Terraform started for the sandbox (its destroy-time provisioners stop
the machines and the network), then removes whatever is left on the host, also
after an interrupted 'pghac up': machines and their disks, veths, the bridge, the
apt proxy, cgroups. Secrets and the cached machine image are kept. Nothing up is
success. No confirmation is asked: the sandbox is local and disposable.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, true)
		return func(c *cli, _ []string) int {
			s, code, ok := c.sandboxSite("down", f)
			if !ok {
				return code
			}
			return c.down(s, *f.terraform)
		}
	},
}

func (c *cli) down(s site.Site, terraform string) int {
	sb, code, ok := c.sandbox("down", s, terraform)
	if !ok {
		return code
	}
	if err := c.teardown(sb); err != nil {
		if c.ctx.Err() != nil {
			fmt.Fprintf(c.stderr, "pghac down: interrupted; run it again to finish\n")
			return exitRuntime
		}
		return c.fail("down", err)
	}
	fmt.Fprintf(c.stdout, "The sandbox is down: no machine, network or apt proxy of it is left.\n")
	return exitOK
}
