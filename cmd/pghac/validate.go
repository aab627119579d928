package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/explain"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/view"
)

var validateCommand = &command{
	name:     "validate",
	synopsis: "[-f cluster.hcl] [--target TARGET] [--strict] [--explain]",
	summary:  "check cluster.hcl and print its errors and warnings",
	detail: `Decodes and compiles cluster.hcl for the target, printing every error and warning
with its source. Exits 1 when the file has errors (or warnings, with --strict).
With --explain it also prints every setting the build will use, defaults included
(docs/cluster-hcl.md says where each default comes from). Use -f - to read standard input.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		file := fs.StringP("file", "f", "cluster.hcl", "read the cluster from `FILE`, - for standard input")
		target := addTargetFlag(fs, model.Targets[0], "build for `TARGET`")
		strict := fs.Bool("strict", false, "treat warnings as errors")
		explainFlag := fs.Bool("explain", false, "print the resolved settings, defaults included")
		return func(c *cli, _ []string) int {
			t, err := target()
			if err != nil {
				return c.usageError(lookup("validate"), err.Error())
			}
			l, code, ok := c.load("validate", *file, t, *strict)
			if !ok {
				return code
			}
			if *explainFlag {
				out, err := explain.Explain(l.cluster)
				if err != nil {
					fmt.Fprintf(c.stderr, "pghac validate: internal error (a pghac bug): %v\n", err)
					return exitInternal
				}
				c.stdout.Write(out)
			}
			fmt.Fprintf(c.stdout, "%s: valid (%s, %s)\n", l.name, view.Plural(len(l.cluster.Nodes), "node"), view.Plural(l.warnings, "warning"))
			return exitOK
		}
	},
}
