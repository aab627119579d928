package cloudinit

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/fetch"
	"github.com/pghac/pghac/emit/loadtest"
)

// LoadGeneratorUserDataPath is the load generator's user-data in the deploy tree.
const LoadGeneratorUserDataPath = "loadgen/user-data.yaml"

// Paths on the load generator.
const (
	// BundleDir holds the load-test bundle, one folder per scenario as in the deploy tree.
	BundleDir = "/opt/pghac/" + loadtest.Dir
	// PghacPath is where the load generator installs pghac.
	PghacPath = "/usr/local/bin/pghac"
)

// loadGenConfig is the load generator's #cloud-config: fewer keys than a node's.
type loadGenConfig struct {
	Hostname       string         `yaml:"hostname"`
	ManageEtcHosts bool           `yaml:"manage_etc_hosts"`
	Locale         string         `yaml:"locale"`
	Timezone       string         `yaml:"timezone"`
	PackageUpdate  bool           `yaml:"package_update"`
	Packages       []string       `yaml:"packages"`
	WriteFiles     []encodedWrite `yaml:"write_files"`
	RunCmd         []string       `yaml:"runcmd"`
	FinalMessage   string         `yaml:"final_message"`
}

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
// from the load generator's artifact and writes the load-test bundle under BundleDir, so that
// `pghac loadtest --config BundleDir/<name>/load.yaml` runs there as it does on the host.
func LoadGeneratorFiles(c *model.Cluster) ([]artifact.File, error) {
	lg := c.LoadGenerator
	if lg == nil || c.Target != model.TargetYandex {
		return nil, nil
	}
	bundle, err := loadtest.Files(c)
	if err != nil {
		return nil, err
	}
	var wf []encodedWrite
	for _, f := range bundle {
		w := encodedWrite{Path: path.Join(BundleDir, path.Clean("/" + f.Path)[len("/"+loadtest.Dir):]), Owner: "root:root", Permissions: "0644"}
		if f.Wire {
			// Lines of 76, as MIME writes it: cloud-init's decoder skips the newlines, and a
			// change shows in a diff as a few lines, not one.
			w.Encoding, w.Content = "b64", literal(wrap(base64.StdEncoding.EncodeToString(f.Bytes), 76))
		} else {
			w.Content = literal(f.Bytes)
		}
		wf = append(wf, w)
	}
	cfg := loadGenConfig{
		Hostname:       lg.Name,
		ManageEtcHosts: true,
		Locale:         "C.UTF-8",
		Timezone:       "UTC",
		PackageUpdate:  true,
		Packages:       []string{"curl"},
		WriteFiles:     wf,
		RunCmd:         append([]string{"set -eux"}, fetch.Commands(lg.ArtifactURL, lg.ArtifactSHA256, PghacPath)...),
		FinalMessage:   fmt.Sprintf("pghac: load generator of cluster %s ready at $TIMESTAMP: pghac loadtest --config %s/<scenario>/%s", c.Name, BundleDir, loadtest.ConfigFile),
	}
	var buf bytes.Buffer
	buf.WriteString(Header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []artifact.File{{Path: LoadGeneratorUserDataPath, Mode: 0o644, Bytes: buf.Bytes()}}, nil
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
