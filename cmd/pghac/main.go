package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
)

// Exit codes. They are part of the CLI's contract and listed in `pghac help`.
const (
	exitOK       = 0 // success
	exitInvalid  = 1 // invalid configuration, or a --check found a difference
	exitUsage    = 2 // bad command line
	exitInternal = 3 // a pghac bug: the configuration was valid but emitting it failed
	exitRuntime  = 4 // the machine failed us: I/O, Terraform
)

func main() {
	// Ctrl-C (or SIGTERM) cancels the context; Terraform, run through terraform-exec, gets an
	// interrupt and stops gracefully. A second Ctrl-C kills pghac, and with it Terraform.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(runContext(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args (without the program name) and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

// runContext is run with a context that cancels the command (Terraform runs stop when it is
// done). It is the only place that reads the environment; everything below it gets explicit
// values.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{
		ctx:     ctx,
		getenv:  os.Getenv,
		environ: os.Environ,
		stdin:   stdin,
		stdout:  stdout,
		stderr:  stderr,
		noColor: os.Getenv("NO_COLOR") != "",
	}
	c.tty, c.ttyWidth = terminal(stderr)

	global := pflag.NewFlagSet("pghac", pflag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.SetInterspersed(false) // flags after the command name belong to the command
	global.Usage = func() {}
	help := global.BoolP("help", "h", false, "show this help")
	global.StringVar(&c.colorMode, "color", "auto", "colour diagnostics `WHEN`: auto, always or never")
	if err := global.Parse(args); err != nil {
		return c.usageError(nil, err.Error())
	}
	if *help {
		c.topUsage(c.stdout)
		return exitOK
	}
	if err := checkColorMode(c.colorMode); err != nil {
		return c.usageError(nil, err.Error())
	}
	rest := global.Args()
	if len(rest) == 0 {
		return c.usageError(nil, "no command given")
	}
	cmd := lookup(rest[0])
	if cmd == nil {
		return c.usageError(nil, fmt.Sprintf("unknown command %q", rest[0]))
	}
	f := cmd.flags()
	if err := f.fs.Parse(rest[1:]); err != nil {
		return c.usageError(cmd, err.Error())
	}
	if *f.help {
		cmd.usage(c.stdout, f.fs)
		return exitOK
	}
	if f.fs.Changed("color") {
		if err := checkColorMode(*f.color); err != nil {
			return c.usageError(cmd, err.Error())
		}
		c.colorMode = *f.color
	}
	if args := f.fs.Args(); len(args) > cmd.maxArgs {
		return c.usageError(cmd, fmt.Sprintf("unexpected argument %q", args[cmd.maxArgs]))
	}
	return f.exec(c, f.fs.Args())
}

// command is one subcommand. setup defines the command's flags on fs and returns the function
// that runs the command once they are parsed, so that help can show the flags without running.
type command struct {
	name     string
	synopsis string // after "pghac <name> "
	summary  string // one line for the command list
	detail   string // paragraphs for `pghac help <name>`
	maxArgs  int    // positional arguments allowed after the flags
	setup    func(fs *pflag.FlagSet) func(c *cli, args []string) int
}

// commands in the order `pghac help` lists them. Filled in init to break the reference cycle
// through the help command.
var commands []*command

func init() {
	commands = []*command{validateCommand, buildCommand, fmtCommand, planCommand, applyCommand, destroyCommand,
		secretsCommand, upCommand, downCommand, statusCommand, loadtestCommand, drillCommand, switchoverCommand, backupCommand, restoreCommand, nodeCommand, envCommand, versionCommand, helpCommand}
	hiddenCommands = []*command{providerCommand, sandboxCommand}
}

// hiddenCommands are internal plumbing that help does not list. Filled in init, like commands.
var hiddenCommands []*command

func lookup(name string) *command {
	for _, list := range [][]*command{commands, hiddenCommands} {
		for _, c := range list {
			if c.name == name {
				return c
			}
		}
	}
	return nil
}

// flags is a command's parsed-to-be flag set with the flags every command has.
type flags struct {
	fs    *pflag.FlagSet
	exec  func(c *cli, args []string) int
	color *string
	help  *bool
}

func (cmd *command) flags() flags {
	fs := pflag.NewFlagSet("pghac "+cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed by run, to the right stream
	fs.Usage = func() {}
	fs.SortFlags = false
	f := flags{fs: fs, exec: cmd.setup(fs)}
	f.color = fs.String("color", "auto", "colour diagnostics `WHEN`: auto, always or never")
	f.help = fs.BoolP("help", "h", false, "show this help")
	return f
}

func (cmd *command) usage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: pghac %s %s\n\n%s\n", cmd.name, cmd.synopsis, cmd.detail)
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", flagUsages(fs))
	}
}

// flagUsages lists the flags of fs, one a line, in definition order. It replaces
// FlagSet.FlagUsages, which shows every bool flag as "--name[=true|false]".
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if varname != "" {
			left += " " + varname
		}
		if f.Value.Type() == "string" && f.DefValue != "" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s   %s\n", width, r.left, r.usage)
	}
	return b.String()
}

func (c *cli) topUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("pghac compiles cluster.hcl into everything needed to run a highly available\n")
	b.WriteString("PostgreSQL cluster (etcd, Patroni, PgBouncer, HAProxy, set up by cloud-init).\n\n")
	b.WriteString("Usage: pghac [--color auto|always|never] <command> [flags]\n\nCommands:\n")
	for _, cmd := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString("\nExit codes: 0 ok, 1 invalid configuration or failed check, 2 usage error,\n")
	b.WriteString("3 internal error (a pghac bug), 4 runtime failure (I/O, Terraform).\n\n")
	b.WriteString("Run 'pghac help <command>' for a command's flags.\n")
	io.WriteString(w, b.String())
}

// usageError reports a bad command line with the usage of cmd (or the top-level usage).
func (c *cli) usageError(cmd *command, msg string) int {
	if cmd == nil {
		fmt.Fprintf(c.stderr, "pghac: %s\n\n", msg)
		c.topUsage(c.stderr)
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "pghac %s: %s\n\n", cmd.name, msg)
	cmd.usage(c.stderr, cmd.flags().fs)
	return exitUsage
}
