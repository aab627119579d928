package main

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/google/renameio/v2"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/pflag"
)

var fmtCommand = &command{
	name:     "fmt",
	synopsis: "[-f cluster.hcl] [--check]",
	summary:  "rewrite cluster.hcl in canonical format",
	detail: `Rewrites cluster.hcl in the canonical HCL layout (the one terraform fmt uses) and
prints its name when it changed. A file with syntax errors is left untouched.
With --check nothing is written: exits 1 when the file is not formatted.
Use -f - to format standard input to standard output.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		file := fs.StringP("file", "f", "cluster.hcl", "format `FILE`, - for standard input to standard output")
		check := fs.Bool("check", false, "write nothing; exit 1 when the file is not formatted")
		return func(c *cli, _ []string) int { return c.fmt(*file, *check) }
	},
}

func (c *cli) fmt(path string, check bool) int {
	name, src, err := c.readSource(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac fmt: %v\n", err)
		return exitInvalid
	}
	// hclwrite.Format works on tokens and would happily reformat a broken file; parse first
	// so that syntax errors are reported, with their source, instead of rearranged.
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		c.printDiags(diags, map[string]*hcl.File{name: f}, name, src)
		return exitInvalid
	}
	out := hclwrite.Format(src)
	switch {
	case path == "-" && !check:
		c.stdout.Write(out)
		return exitOK
	case bytes.Equal(out, src):
		return exitOK
	case check:
		fmt.Fprintf(c.stderr, "%s: not formatted; run `pghac fmt`\n", name)
		return exitInvalid
	}
	if err := writeFileAtomic(path, out); err != nil {
		return c.fail("fmt", err)
	}
	fmt.Fprintln(c.stdout, name)
	return exitOK
}

// writeFileAtomic replaces the file at path with data, keeping its mode, by renaming a
// temporary file over it: a crash leaves the old or the new file, never half of one. A
// symlink is followed, so that its target is replaced and the link stays.
func writeFileAtomic(path string, data []byte) error {
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, data, 0o644, renameio.WithExistingPermissions())
}
