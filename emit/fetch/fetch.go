// Package fetch writes the shell lines with which a machine downloads a binary, checks its
// SHA-256 and installs it: the one way pghac's user-data installs what no package ships (the
// backend on the nodes, pghac on the load generator).
package fetch

import (
	"fmt"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/lockbox"
)

// tokenFile holds the header line with the VM's token while a download needs it: root's only,
// in /run (never on disk).
const tokenFile = "/run/pghac-storage-token"

// Commands returns the runcmd lines that download url, check that its SHA-256 is sha256 and
// install it executable at dest. A download that does not match stops the script (set -e)
// before anything is installed; curl retries while the server is not up yet.
//
// With withToken the download is a private object: the request carries the token of the VM's
// service account, which only root can get from the metadata service. The token goes through
// a file, so that no command line (and no `set -x` trace in cloud-init's log) shows it, and
// the file goes when the download ends, however it ends.
func Commands(url, sha256, dest string, withToken bool) []string {
	tmp := dest + ".download"
	curl := "curl --fail --silent --show-error --location --retry 10 --retry-connrefused --retry-delay 2"
	get := fmt.Sprintf("%s --output %s %s", curl, tmp, ShellQuote(url))
	if withToken {
		tokenURL := "http://" + model.MetadataAddr + lockbox.MetadataTokenPath
		getToken := fmt.Sprintf("%s --header %s %s | python3 -I -c %s > %s", curl,
			ShellQuote(lockbox.MetadataFlavorHeader+": "+lockbox.MetadataFlavor), tokenURL,
			ShellQuote(`import json, sys; print("`+lockbox.StorageTokenHeader+`: " + json.load(sys.stdin)["access_token"])`), tokenFile)
		get = fmt.Sprintf("(umask 077; trap %s EXIT; %s; %s --header @%s --output %s %s)",
			ShellQuote("rm -f "+tokenFile), getToken, curl, tokenFile, tmp, ShellQuote(url))
	}
	lines := []string{get}
	return append(lines,
		fmt.Sprintf("echo %s | sha256sum --check --strict", ShellQuote(sha256+"  "+tmp)),
		fmt.Sprintf("install --mode 0755 %s %s", tmp, dest),
		"rm -f "+tmp,
	)
}

// ShellQuote quotes s as one word for sh.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
