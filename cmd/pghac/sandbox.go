package main

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/sandboxtf"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
)

// What up, down, status and env share: the sandbox's files and its internal/sandbox Config.

// sandboxFlags are the flags of the sandbox commands.
type sandboxFlags struct {
	file, out, stateDir, terraform *string
}

func addSandboxFlags(fs *pflag.FlagSet, withTerraform bool) sandboxFlags {
	f := sandboxFlags{
		file:     fs.StringP("file", "f", "cluster.hcl", "read the cluster from `FILE`"),
		out:      fs.StringP("out", "o", "deploy", "the generated tree is `DIR`/sandbox/"),
		stateDir: fs.String("state-dir", "", "keep the sandbox's state, secrets and Terraform files in `DIR`/sandbox/ (default .pghac beside FILE)"),
	}
	if withTerraform {
		f.terraform = fs.String("terraform", "", "run the Terraform or OpenTofu binary at `PATH` (default $PGHAC_TERRAFORM, else terraform or tofu on PATH)")
	}
	return f
}

// clusterFlags pick a running cluster to reach over SSH: the sandbox's by default, or a
// cloud's (--target), whose nodes pghac reaches at their addresses in the cluster file,
// through network.jump_host when it has one.
type clusterFlags struct {
	sandboxFlags
	target func() (model.Target, error)
}

func addClusterFlags(fs *pflag.FlagSet) clusterFlags {
	f := clusterFlags{sandboxFlags: addSandboxFlags(fs, false)}
	f.target = addTargetFlag(fs, model.TargetSandbox, "the cluster of `TARGET`")
	return f
}

// clusterSite resolves the paths of the cluster the flags pick.
func (c *cli) clusterSite(cmd string, f clusterFlags) (site.Site, int, bool) {
	t, err := f.target()
	if err != nil {
		return site.Site{}, c.usageError(lookup(cmd), err.Error()), false
	}
	if t == model.TargetSandbox {
		return c.sandboxSite(cmd, f.sandboxFlags)
	}
	return site.New(*f.file, *f.out, *f.stateDir, t), exitOK, true
}

// sandboxSite resolves the sandbox's paths from the flags.
func (c *cli) sandboxSite(cmd string, f sandboxFlags) (site.Site, int, bool) {
	s, err := site.Sandbox(*f.file, *f.out, *f.stateDir, sandbox.DefaultCacheDir(c.getenv))
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		return site.Site{}, exitRuntime, false
	}
	return s, exitOK, true
}

// sandboxCommand is what the sandbox's Terraform runs (emit/sandboxtf): it starts and stops
// the network and the machines through internal/sandbox. Nobody else should.
var sandboxCommand = &command{
	name:     sandboxtf.Command,
	synopsis: "[flags] net-up|net-down BRIDGE | machine-up|machine-down MACHINE",
	summary:  "start or stop the sandbox's network or one machine (internal)",
	detail: `Starts or stops the sandbox's network (bridge and apt proxy) or one of its machines.
The sandbox's Terraform runs it from its provisioners during 'pghac up' and
'pghac down'. machine-up reads the machine's user-data from $` + sandboxtf.EnvUserData + `.
Everything it prints also goes to the state folder's provisioners/ logs, because
Terraform hides the output of a provisioner that handles secrets.`,
	maxArgs: 2,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		stateDir := fs.String(strings.TrimPrefix(sandboxtf.FlagStateDir, "--"), "", "the sandbox's state folder `DIR` (absolute)")
		cacheDir := fs.String(strings.TrimPrefix(sandboxtf.FlagCacheDir, "--"), "", "the image cache `DIR` (absolute)")
		bridge := fs.String(strings.TrimPrefix(sandboxtf.FlagBridge, "--"), "", "the host bridge `NAME`")
		cidr := fs.String(strings.TrimPrefix(sandboxtf.FlagCIDR, "--"), "", "the sandbox network `CIDR`")
		packages := fs.String(strings.TrimPrefix(sandboxtf.FlagPackages, "--"), "", "comma-separated `PACKAGES` baked into the image")
		address := fs.String(strings.TrimPrefix(sandboxtf.FlagAddress, "--"), "", "machine-up: the machine's `ADDRESS`")
		return func(c *cli, args []string) int {
			if len(args) != 2 {
				return c.usageError(lookup(sandboxtf.Command), "want an action and its object")
			}
			action, object := args[0], args[1]
			p, err := netip.ParsePrefix(*cidr)
			if err != nil || *stateDir == "" || !filepath.IsAbs(*stateDir) || *cacheDir == "" || !filepath.IsAbs(*cacheDir) || *bridge == "" {
				return c.usageError(lookup(sandboxtf.Command), "--state-dir, --cache-dir (absolute), --bridge and --cidr are required")
			}
			cfg := sandbox.Config{StateDir: *stateDir, CacheDir: *cacheDir, Bridge: *bridge, CIDR: p}
			if *packages != "" {
				cfg.Packages = strings.Split(*packages, ",")
			}
			return c.sandboxAction(cfg, action, object, *address)
		}
	},
}

func (c *cli) sandboxAction(cfg sandbox.Config, action, object, address string) int {
	a := provision.Action{Name: action, Object: object, Address: address,
		UserData: c.getenv(sandboxtf.EnvUserData), SSHKeys: c.getenv(sandboxtf.EnvSSHKeys), Metadata: c.getenv(sandboxtf.EnvMetadata)}
	err := provision.Do(c.ctx, cfg, a, c.stderr)
	if ue, ok := errors.AsType[*provision.UsageError](err); ok {
		return c.usageError(lookup(sandboxtf.Command), ue.Msg)
	}
	if err != nil {
		return exitRuntime // Do said why, also in the log
	}
	return exitOK
}
