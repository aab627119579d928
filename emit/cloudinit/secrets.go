package cloudinit

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

// A node's user-data holds its secrets' placeholders ("${name}"), never their values: the first
// thing its runcmd does is fill them in from the cluster's Lockbox secret (secrets.py), read
// with the VM's service-account token from the metadata service. The metadata service hands
// that token to any process that asks, so before anything else runs the node lets only root
// reach it (the guard below): the backend, PgBouncer or a compromised extension cannot read
// the cluster's secrets through it.

// SecretsScriptPath is where the user-data writes secrets.py.
const SecretsScriptPath = "/usr/local/lib/pghac/secrets.py"

//go:embed secrets.py
var secretsScript []byte

// The metadata guard: an nft table of the node's own, loaded at every boot by a unit of its
// own (the nftables package's service would flush every other table too).
const (
	MetadataGuardPath     = "/etc/pghac/metadata-guard.nft"
	MetadataGuardUnit     = "pghac-metadata-guard.service"
	metadataGuardUnitPath = "/etc/systemd/system/" + MetadataGuardUnit
)

// metadataGuard rejects what any user but root sends to the metadata service. "table; delete
// table; table {...}" makes loading it again replace it, in one transaction.
var metadataGuard = fmt.Sprintf(`#!/usr/sbin/nft -f
# Written by pghac's user-data: only root may reach the metadata service, which hands out the
# VM's service-account token and with it the cluster's secrets in Lockbox.
table inet pghac_metadata
delete table inet pghac_metadata
table inet pghac_metadata {
	chain output {
		type filter hook output priority filter; policy accept;
		ip daddr %[1]s meta l4proto tcp meta skuid != 0 reject with tcp reset
		ip daddr %[1]s meta skuid != 0 reject
	}
}
`, model.MetadataAddr)

const metadataGuardUnit = `# Written by pghac's user-data: see ` + MetadataGuardPath + `.
[Unit]
Description=pghac: only root may reach the metadata service
DefaultDependencies=no
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f ` + MetadataGuardPath + `

[Install]
WantedBy=multi-user.target
`

// metadataGuardFiles are the guard's files, path and content, root's and readable by all: a
// node's and the load generator's.
var metadataGuardFiles = [][2]string{{MetadataGuardPath, metadataGuard}, {metadataGuardUnitPath, metadataGuardUnit}}

// secretsFiles are the files cloud-init writes before the packages: the script and the guard.
// They steer the first boot; rollouts do not keep them in step.
func secretsFiles() []writeFile {
	out := []writeFile{{Path: SecretsScriptPath, Owner: "root:root", Permissions: "0755", Content: literal(secretsScript)}}
	for _, f := range metadataGuardFiles {
		out = append(out, writeFile{Path: f[0], Owner: "root:root", Permissions: "0644", Content: literal(f[1])})
	}
	return out
}

var placeholderRE = regexp.MustCompile(`\$\{([a-z][a-z0-9_]*)\}`)

// holdsSecret reports whether b has a secret's placeholder: a template variable that is not a
// build's (model.BuildVars, which Terraform fills in).
func holdsSecret(b []byte) bool {
	for _, m := range placeholderRE.FindAllSubmatch(b, -1) {
		if !slices.Contains(model.BuildVars, string(m[1])) {
			return true
		}
	}
	return false
}

// shellSafePathRE is what the fill line passes unquoted.
var shellSafePathRE = regexp.MustCompile(`^/[A-Za-z0-9_./@+-]+$`)

// secretsRunCmd are the runcmd lines that guard the metadata service and fill the
// placeholders of files in, before any part's Boot line starts a service. Without a
// placeholder there is nothing to fill in, and no line for it.
func secretsRunCmd(files []artifact.NodeFile) ([]string, error) {
	cmds := []string{"systemctl enable --now " + MetadataGuardUnit}
	var paths []string
	for _, f := range files {
		if !holdsSecret(f.Bytes) {
			continue
		}
		if !shellSafePathRE.MatchString(f.Path) {
			return nil, fmt.Errorf("runcmd: %s holds secrets and is not a plain path", f.Path)
		}
		paths = append(paths, f.Path)
	}
	if len(paths) > 0 {
		cmds = append(cmds, "/usr/bin/python3 -I "+SecretsScriptPath+" "+strings.Join(paths, " "))
	}
	return cmds, nil
}
