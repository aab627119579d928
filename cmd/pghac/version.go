package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// version is pghac's version, set at link time:
//
//	go build -ldflags "-X main.version=$(git describe --tags --always --dirty)" ./cmd/pghac
//
// When empty, versionString falls back to the module version of `go install`ed builds.
var version string

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

var versionCommand = &command{
	name:     "version",
	synopsis: "",
	summary:  "print pghac's version",
	detail:   "Prints pghac's version.",
	setup: func(*pflag.FlagSet) func(*cli, []string) int {
		return func(c *cli, _ []string) int {
			fmt.Fprintf(c.stdout, "pghac %s\n", versionString())
			return exitOK
		}
	},
}

var helpCommand = &command{
	name:     "help",
	synopsis: "[command]",
	summary:  "show help for pghac or one of its commands",
	detail:   "Shows the commands of pghac, or the flags of one command.",
	maxArgs:  1,
	setup: func(*pflag.FlagSet) func(*cli, []string) int {
		return func(c *cli, args []string) int {
			if len(args) == 0 {
				c.topUsage(c.stdout)
				return exitOK
			}
			cmd := lookup(args[0])
			if cmd == nil {
				return c.usageError(nil, fmt.Sprintf("unknown command %q", args[0]))
			}
			cmd.usage(c.stdout, cmd.flags().fs)
			return exitOK
		}
	},
}
