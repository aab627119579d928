package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/site"
)

var downCommand = &command{
	name:     "down",
	synopsis: "[-f cluster.hcl] [-o deploy] [--state-dir DIR] [--destroy-data] [--terraform PATH]",
	summary:  "stop the local sandbox, keeping its data; --destroy-data removes it",
	detail: `Stops the sandbox's machines cleanly and keeps their disks, then takes the bridge
and the apt proxy down: nothing of it runs any more, and the next 'pghac up'
starts the same machines again with their data.

--destroy-data removes the sandbox and the data on it: Terraform's destroy (its
destroy-time provisioners stop the machines and the network), then whatever is
left on the host, also after an interrupted 'pghac up': machines and their
disks, veths, the bridge, the apt proxy, cgroups, the machines' pinned host keys.
Secrets and the cached machine image are kept. Nothing up is success.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, true)
		destroyData := fs.Bool("destroy-data", false, "remove the machines and the data on their disks, not only stop them")
		return func(c *cli, _ []string) int {
			s, code, ok := c.sandboxSite("down", f)
			if !ok {
				return code
			}
			return c.down(s, *f.terraform, *destroyData)
		}
	},
}

func (c *cli) down(s site.Site, terraform string, destroyData bool) int {
	sb, code, ok := c.sandbox("down", s, terraform)
	if !ok {
		return code
	}
	interrupted := func() int {
		fmt.Fprintf(c.stderr, "pghac down: interrupted; run it again to finish\n")
		return exitRuntime
	}
	if !destroyData {
		kept, err := sb.Stop(c.ctx)
		switch {
		case err != nil && c.ctx.Err() != nil:
			return interrupted()
		case err != nil:
			return c.fail("down", err)
		case len(kept) > 0:
			fmt.Fprintf(c.stdout, "The sandbox is stopped; the disks of %s (the data) are kept.\n"+
				"pghac up starts the machines again; pghac down --destroy-data removes them.\n", strings.Join(kept, ", "))
			return exitOK
		}
		// No machine has a disk: nothing to keep, and leftovers of an interrupted up go.
	}
	if err := c.teardown(sb); err != nil {
		if c.ctx.Err() != nil {
			return interrupted()
		}
		return c.fail("down", err)
	}
	fmt.Fprintf(c.stdout, "The sandbox is down: no machine, network or apt proxy of it is left.\n")
	return exitOK
}
