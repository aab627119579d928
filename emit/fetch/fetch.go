// Package fetch writes the shell lines with which a machine downloads a binary, checks its
// SHA-256 and installs it: the one way pghac's user-data installs what no package ships (the
// backend on the nodes, pghac on the load generator).
package fetch

import (
	"fmt"
	"strings"
)

// Commands returns the runcmd lines that download url, check that its SHA-256 is sha256 and
// install it executable at dest. A download that does not match stops the script (set -e)
// before anything is installed; curl retries while the server is not up yet.
func Commands(url, sha256, dest string) []string {
	tmp := dest + ".download"
	return []string{
		fmt.Sprintf("curl --fail --silent --show-error --location --retry 10 --retry-connrefused --retry-delay 2 --output %s %s",
			tmp, ShellQuote(url)),
		fmt.Sprintf("echo %s | sha256sum --check --strict", ShellQuote(sha256+"  "+tmp)),
		fmt.Sprintf("install --mode 0755 %s %s", tmp, dest),
		"rm -f " + tmp,
	}
}

// ShellQuote quotes s as one word for sh.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
