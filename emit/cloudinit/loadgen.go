package cloudinit

import (
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/fetch"
)

// LoadGeneratorUserDataPath is the load generator's user-data in the deploy tree.
const LoadGeneratorUserDataPath = "loadgen/user-data.yaml"

// Paths on the load generator.
const (
	// BundleDir holds the load-test bundle, one folder per scenario as in the deploy tree's
	// loadtest/.
	BundleDir = "/opt/pghac/loadtest"
	// PghacPath is where the load generator installs pghac.
	PghacPath = "/usr/local/bin/pghac"
)

// encodedWrite is a write_files entry whose content is either text or base64 (ammo carries
// CRLF, which a YAML block cannot).
type encodedWrite struct {
	Path        string `yaml:"path"`
	Owner       string `yaml:"owner"`
	Permissions string `yaml:"permissions"`
	Encoding    string `yaml:"encoding,omitempty"`
	Content     any    `yaml:"content"`
}

// LoadGeneratorFiles returns the load generator's user-data (yandex only): it installs pghac
// from the load generator's artifact and writes bundle, the load-test bundle with its paths
// relative to its folder (<scenario>/<file>), under BundleDir, so that
// `pghac loadtest --config BundleDir/<scenario>/<configFile>` runs there as it does on the
// host. Package emit passes the bundle in: cloudinit imports no other family.
func LoadGeneratorFiles(c *model.Cluster, bundle []artifact.File, configFile string) ([]artifact.File, error) {
	lg := c.LoadGenerator
	if lg == nil || c.Target != model.TargetYandex {
		return nil, nil
	}
	var wf []encodedWrite
	for _, f := range bundle {
		w := encodedWrite{Path: path.Join(BundleDir, path.Clean("/"+f.Path)), Owner: "root:root", Permissions: "0644"}
		if f.Wire {
			// Lines of 76, as MIME writes it: cloud-init's decoder skips the newlines, and a
			// change shows in a diff as a few lines, not one.
			w.Encoding, w.Content = "b64", literal(wrap(base64.StdEncoding.EncodeToString(f.Bytes), 76))
		} else {
			w.Content = literal(f.Bytes)
		}
		wf = append(wf, w)
	}
	// Its service account may read the cluster's builds: as on a node, only root reaches the
	// metadata service that hands out its token, from before the download on.
	for _, f := range metadataGuardFiles {
		wf = append(wf, encodedWrite{Path: f[0], Owner: "root:root", Permissions: "0644", Content: literal(f[1])})
	}
	// Fewer keys than a node's: curl for the download, nftables for the guard, nothing deferred.
	cfg := newConfig[encodedWrite](lg.Name)
	cfg.Packages = []string{"curl", "nftables"}
	cfg.WriteFiles = wf
	cfg.RunCmd = append([]string{"set -eux", "systemctl enable --now " + MetadataGuardUnit},
		fetch.Commands(lg.ArtifactURL, lg.ArtifactSHA256, PghacPath, lg.LocalBuild)...)
	cfg.FinalMessage = fmt.Sprintf("pghac: load generator of cluster %s ready at $TIMESTAMP: pghac loadtest --config %s/<scenario>/%s", c.Name, BundleDir, configFile)
	b, err := encode(cfg)
	if err != nil {
		return nil, err
	}
	return []artifact.File{{Path: LoadGeneratorUserDataPath, Mode: 0o644, Bytes: b}}, nil
}

// wrap breaks s into lines of n characters, each ending in a newline.
func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s + "\n")
	return b.String()
}
