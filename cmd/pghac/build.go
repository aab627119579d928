package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/view"
)

var buildCommand = &command{
	name:     "build",
	synopsis: "[-f cluster.hcl] [-o deploy] [--target TARGET] [--check] [--strict]",
	summary:  "generate deploy/<target>/ from cluster.hcl",
	detail: `Compiles cluster.hcl and writes everything generated from it to DIR/<target>/ (-o).
The directory is replaced atomically: it ends up holding exactly the generated
files, and a failed build leaves it as it was.

With --check nothing is written: the command lists the files of DIR/<target>/
that differ from what cluster.hcl generates and exits 1 when any do.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		file := fs.StringP("file", "f", "cluster.hcl", "read the cluster from `FILE`, - for standard input")
		out := fs.StringP("out", "o", "deploy", "write into `DIR`/<target>/")
		target := addTargetFlag(fs, model.Targets[0], "build for `TARGET`")
		check := fs.Bool("check", false, "write nothing; exit 1 when DIR/<target>/ is not up to date")
		strict := fs.Bool("strict", false, "treat warnings as errors")
		return func(c *cli, _ []string) int {
			t, err := target()
			if err != nil {
				return c.usageError(lookup("build"), err.Error())
			}
			return c.build(*file, *out, t, *check, *strict)
		}
	},
}

func (c *cli) build(file, out string, target model.Target, check, strict bool) int {
	l, set, code, ok := c.compile("build", file, target, strict)
	if !ok {
		return code
	}
	dir := filepath.Join(out, string(target))
	if check {
		drift, err := artifact.Compare(dir, set)
		switch {
		case err != nil:
			return c.fail("build", err)
		case drift.Clean():
			fmt.Fprintf(c.stdout, "%s: up to date (%s)\n", dir, view.Plural(set.Len(), "file"))
			return exitOK
		}
		view.Drift(c.stderr, dir, l.name, drift)
		fmt.Fprintf(c.stderr, "run `pghac build` to regenerate it\n")
		return exitInvalid
	}
	drift, err := provision.Sync(dir, set)
	if err != nil {
		return c.fail("build", err)
	}
	view.Written(c.stdout, dir, set, drift)
	return exitOK
}

// compile loads the cluster file (load) and emits its tree, printing an emitter's failure
// as the pghac bug it is.
func (c *cli) compile(cmd, file string, target model.Target, strict bool) (loaded, *artifact.Set, int, bool) {
	l, code, ok := c.load(cmd, file, target, strict)
	if !ok {
		return l, nil, code, false
	}
	set, err := provision.Emit(l.cluster)
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "(a pghac bug)") { // emit's own errors say so already
			msg = "internal error (a pghac bug): " + msg
		}
		fmt.Fprintf(c.stderr, "pghac %s: %s\n", cmd, msg)
		return l, nil, exitInternal, false
	}
	return l, set, exitOK, true
}
