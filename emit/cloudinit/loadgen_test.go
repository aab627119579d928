package cloudinit

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/loadtest"
)

// TestLoadGenerator decodes the load generator's write_files as cloud-init would and compares
// them with the bundle: byte for byte, CRLF ammo included.
func TestLoadGenerator(t *testing.T) {
	c := modeltest.Cluster()
	c.Backend = &model.Backend{Port: 8080, Database: "notes", User: "notes"}
	c.LoadTests = []model.LoadTest{{Name: "mixed", Schedule: "const(1, 10s)", Duration: 10 * time.Second,
		Ammo: []string{model.AmmoGet, model.AmmoPost}, Node: c.Nodes[0].Name, Instances: 10, Timeout: time.Second}}
	c.LoadGenerator = &model.LoadGenerator{Name: "loadgen", ArtifactURL: "https://example.com/pghac", ArtifactSHA256: strings.Repeat("ab", 32)}
	files, err := LoadGeneratorFiles(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != LoadGeneratorUserDataPath || !bytes.HasPrefix(files[0].Bytes, []byte(Header)) {
		t.Fatalf("files = %v", files)
	}
	var ud struct {
		WriteFiles []struct{ Path, Encoding, Content string } `yaml:"write_files"`
		RunCmd     []string                                   `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal(files[0].Bytes, &ud); err != nil {
		t.Fatal(err)
	}
	bundle, err := loadtest.Files(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(ud.WriteFiles) != len(bundle) {
		t.Fatalf("%d files written, want the bundle's %d", len(ud.WriteFiles), len(bundle))
	}
	for i, f := range bundle {
		w := ud.WriteFiles[i]
		got := []byte(w.Content)
		if w.Encoding == "b64" {
			// Python's b64decode, which cloud-init uses, drops the line breaks too.
			if got, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(w.Content, "\n", "")); err != nil {
				t.Fatal(err)
			}
		}
		if want := BundleDir + strings.TrimPrefix(f.Path, loadtest.Dir); w.Path != want || !bytes.Equal(got, f.Bytes) {
			t.Errorf("write_files[%d]: %s (%d bytes), want %s as in the bundle (%d bytes)", i, w.Path, len(got), want, len(f.Bytes))
		}
	}
	if !strings.Contains(strings.Join(ud.RunCmd, "\n"), "install --mode 0755 "+PghacPath+".download "+PghacPath) {
		t.Errorf("runcmd does not install pghac:\n%s", strings.Join(ud.RunCmd, "\n"))
	}

	c.Target = model.TargetSandbox
	if files, err := LoadGeneratorFiles(c); err != nil || files != nil {
		t.Errorf("sandbox: %v %v, want no load generator", files, err)
	}
}
