package main

import (
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/emit/artifact"
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
		target := addTargetFlag(fs)
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
	l, code, ok := c.load("build", file, target, strict)
	if !ok {
		return code
	}
	set, code, ok := c.emit("build", l.cluster)
	if !ok {
		return code
	}
	dir := filepath.Join(out, string(target))
	drift, err := artifact.Compare(dir, set)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac build: %v\n", err)
		return exitRuntime
	}
	if check {
		return c.reportDrift(dir, l.name, set, drift)
	}
	if err := artifact.WriteDir(dir, set); err != nil {
		fmt.Fprintf(c.stderr, "pghac build: write %s: %v\n", dir, err)
		return exitRuntime
	}
	writeSummary(c.stdout, dir, set, drift)
	return exitOK
}

// emit runs emit.Build for cmd, printing a failure as the pghac bug it is; it returns the
// exit code when there is no set.
func (c *cli) emit(cmd string, cl *model.Cluster) (*artifact.Set, int, bool) {
	set, err := emitSafely(cl)
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "(a pghac bug)") { // emit's own errors say so already
			msg = "internal error (a pghac bug): " + msg
		}
		fmt.Fprintf(c.stderr, "pghac %s: %s\n", cmd, msg)
		return nil, exitInternal, false
	}
	return set, exitOK, true
}

// emitBuild is emit.Build; tests replace it to see how build reports an emitter bug.
var emitBuild = emit.Build

// emitSafely runs emit.Build, turning a panic into an error: either is a pghac bug, and the
// user gets exit code 3 and the stack to report it.
func emitSafely(cl *model.Cluster) (set *artifact.Set, err error) {
	defer func() {
		if r := recover(); r != nil {
			set, err = nil, fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	set, err = emitBuild(cl)
	if err == nil && set == nil {
		err = fmt.Errorf("emit returned no files and no error")
	}
	return set, err
}

func (c *cli) reportDrift(dir, name string, set *artifact.Set, d artifact.Drift) int {
	if d.Clean() {
		fmt.Fprintf(c.stdout, "%s: up to date (%s)\n", dir, plural(set.Len(), "file"))
		return exitOK
	}
	n := len(d.Stale) + len(d.Missing) + len(d.Extra)
	fmt.Fprintf(c.stderr, "%s: not up to date with %s (%s differ)\n", dir, name, plural(n, "file"))
	for _, g := range []struct {
		label string
		paths []string
	}{{"stale", d.Stale}, {"missing", d.Missing}, {"extra", d.Extra}} {
		for _, p := range g.paths {
			fmt.Fprintf(c.stderr, "  %-8s %s\n", g.label, p)
		}
	}
	fmt.Fprintf(c.stderr, "run `pghac build` to regenerate it\n")
	return exitInvalid
}

// writeSummary prints what build wrote: totals, what changed against the tree before, and
// the files per node (nodes/<name>/) and per other top-level directory.
//
//	deploy/yandex: 41 files (3 added, 2 changed, 1 removed)
//	  .             9 files
//	  loadtest/     3 files
//	  nodes/node0/ 13 files
func writeSummary(w io.Writer, dir string, set *artifact.Set, d artifact.Drift) {
	changes := "unchanged"
	if !d.Clean() {
		changes = fmt.Sprintf("%d added, %d changed, %d removed", len(d.Missing), len(d.Stale), len(d.Extra))
	}
	fmt.Fprintf(w, "%s: %s (%s)\n", dir, plural(set.Len(), "file"), changes)
	var groups []string
	counts := map[string]int{}
	width := 0
	for _, p := range set.Paths() {
		g := group(p)
		if counts[g] == 0 {
			groups = append(groups, g)
			width = max(width, len(g))
		}
		counts[g]++
	}
	sort.Strings(groups) // "." first
	for _, g := range groups {
		fmt.Fprintf(w, "  %-*s %s\n", width, g, plural(counts[g], "file"))
	}
}

// group is the summary line a path is counted in: "nodes/<name>/", another top-level
// directory, or "." for top-level files.
func group(p string) string {
	parts := strings.SplitN(p, "/", 3)
	switch {
	case len(parts) == 1:
		return "."
	case parts[0] == "nodes" && len(parts) == 3:
		return "nodes/" + parts[1] + "/"
	}
	return parts[0] + "/"
}
