package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/view"
	"github.com/pghac/pghac/schema"
)

// diagWidth is the width diagnostics are wrapped to when stderr is not a terminal. The golden
// tests render want/diagnostics.txt with the same width, so they show what users see.
const diagWidth = 80

// cli is what a command runs with: its streams and the terminal facts run found out.
type cli struct {
	ctx     context.Context         // cancelled by Ctrl-C; commands pass it to Terraform
	getenv  func(key string) string // the environment, as run read it
	environ func() []string         // all of it, as KEY=VALUE

	stdin          io.Reader
	stdout, stderr io.Writer

	colorMode string // auto, always or never
	noColor   bool   // NO_COLOR is set: auto means never
	tty       bool   // stderr is a terminal
	ttyWidth  int    // its width in columns, 0 when unknown

	// backendServed: the caller serves the backend binary to the machines already (pghac
	// drill running up), so up does not.
	backendServed bool
}

func checkColorMode(m string) error {
	switch m {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf("invalid --color %q: want auto, always or never", m)
}

// color reports whether diagnostics get ANSI colours. An explicit --color always wins over
// NO_COLOR, as https://no-color.org asks of command-line arguments.
func (c *cli) color() bool {
	switch c.colorMode {
	case "always":
		return true
	case "never":
		return false
	}
	return c.tty && !c.noColor
}

// terminal reports whether w is a terminal, and its width.
func terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok {
		return false, 0
	}
	fd := int(f.Fd())
	if !term.IsTerminal(fd) {
		return false, 0
	}
	width, _, err := term.GetSize(fd)
	if err != nil {
		return true, 0
	}
	return true, width
}

func (c *cli) width() uint {
	if c.tty && c.ttyWidth > 0 {
		return uint(c.ttyWidth)
	}
	return diagWidth
}

// printDiags writes diags to stderr with source snippets. files must hold every file the
// diagnostics point into; name/src is added when missing so that snippets show even when
// decoding gave up before returning the parsed file.
func (c *cli) printDiags(diags hcl.Diagnostics, files map[string]*hcl.File, name string, src []byte) {
	if len(diags) == 0 {
		return
	}
	all := make(map[string]*hcl.File, len(files)+1)
	for k, v := range files {
		all[k] = v
	}
	if all[name] == nil {
		all[name] = &hcl.File{Bytes: src}
	}
	if err := schema.WriteDiagnostics(c.stderr, diags, all, c.width(), c.color()); err != nil {
		fmt.Fprintf(c.stderr, "pghac: writing diagnostics: %v\n", err)
	}
}

// readSource reads the cluster file; "-" is standard input, named "<stdin>" in diagnostics.
func (c *cli) readSource(path string) (name string, src []byte, err error) {
	if path == "-" {
		src, err = io.ReadAll(c.stdin)
		return "<stdin>", src, err
	}
	src, err = os.ReadFile(path)
	return path, src, err
}

// loaded is a cluster file that compiled.
type loaded struct {
	cluster  *model.Cluster
	name     string // the file's name in diagnostics
	warnings int    // warnings printed
}

// load reads, decodes and compiles the cluster file for target, printing every diagnostic.
// It returns ok false and the exit code when the file can't be used: it is unreadable, has
// errors, or has warnings and strict is set.
func (c *cli) load(cmd, path string, target model.Target, strict bool) (l loaded, code int, ok bool) {
	name, src, err := c.readSource(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
		return l, exitInvalid, false
	}
	f, cl, diags := compiler.CompileSource(src, name, target)
	var files map[string]*hcl.File
	if f != nil {
		files = f.Files()
	}
	c.printDiags(diags, files, name, src)
	nerr, nwarn := count(diags)
	switch {
	case nerr > 0:
		fmt.Fprintf(c.stderr, "%s: invalid (%s, %s)\n", name, view.Plural(nerr, "error"), view.Plural(nwarn, "warning"))
		return l, exitInvalid, false
	case nwarn > 0 && strict:
		fmt.Fprintf(c.stderr, "%s: %s, fatal with --strict\n", name, view.Plural(nwarn, "warning"))
		return l, exitInvalid, false
	case cl == nil:
		// The compiler's contract is a cluster whenever there is no error.
		fmt.Fprintf(c.stderr, "pghac %s: internal error (a pghac bug): compiler returned no cluster and no error\n", cmd)
		return l, exitInternal, false
	}
	return loaded{cluster: cl, name: name, warnings: nwarn}, exitOK, true
}

func count(diags hcl.Diagnostics) (errors, warnings int) {
	for _, d := range diags {
		switch d.Severity {
		case hcl.DiagError:
			errors++
		case hcl.DiagWarning:
			warnings++
		}
	}
	return errors, warnings
}

// addTargetFlag defines --target, def by default and described by usage ("build for
// `TARGET`"); the returned function checks its value.
func addTargetFlag(fs *pflag.FlagSet, def model.Target, usage string) func() (model.Target, error) {
	v := fs.String("target", string(def), usage+": "+model.TargetNames())
	return func() (model.Target, error) { return model.ParseTarget(*v) }
}

// fail reports err as cmd's failure and returns exitRuntime: the machine failed us.
func (c *cli) fail(cmd string, err error) int {
	fmt.Fprintf(c.stderr, "pghac %s: %v\n", cmd, err)
	return exitRuntime
}
