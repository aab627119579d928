package cloudinit

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/artifact"
)

// testBundle is shaped like the loadtest family's: per scenario, ammo in a wire format (CRLF)
// and a Tank config.
var testBundle = []artifact.File{
	{Path: "mixed/ammo.txt", Mode: 0o644, Wire: true, Bytes: []byte(strings.Repeat("60 get\nGET /notes/ HTTP/1.1\r\nHost: 10.128.0.16:8080\r\n\r\n", 40))},
	{Path: "mixed/load.yaml", Mode: 0o644, Bytes: []byte("phantom:\n  address: 10.128.0.16:8080\n  ammofile: ammo.txt\n")},
}

// TestLoadGenerator decodes the load generator's write_files as cloud-init would and compares
// them with the bundle: byte for byte, CRLF ammo included. emit's TestBuildLoadGenerator does
// the same with the loadtest family's bundle.
func TestLoadGenerator(t *testing.T) {
	c := modeltest.Cluster()
	c.LoadGenerator = &model.LoadGenerator{Name: "loadgen", ArtifactURL: "https://example.com/pghac", ArtifactSHA256: strings.Repeat("ab", 32)}
	files, err := LoadGeneratorFiles(c, testBundle, "load.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != LoadGeneratorUserDataPath || !bytes.HasPrefix(files[0].Bytes, []byte(Header)) {
		t.Fatalf("files = %v", files)
	}
	var ud struct {
		Hostname     string
		Packages     []string
		WriteFiles   []struct{ Path, Encoding, Content string } `yaml:"write_files"`
		RunCmd       []string                                   `yaml:"runcmd"`
		FinalMessage string                                     `yaml:"final_message"`
	}
	if err := yaml.Unmarshal(files[0].Bytes, &ud); err != nil {
		t.Fatal(err)
	}
	if ud.Hostname != "loadgen" || !slices.Equal(ud.Packages, []string{"curl", "nftables"}) {
		t.Errorf("hostname %q, packages %q; want loadgen, curl and nftables", ud.Hostname, ud.Packages)
	}
	if len(ud.WriteFiles) != len(testBundle)+2 {
		t.Fatalf("%d files written, want the bundle's %d and the metadata guard's 2", len(ud.WriteFiles), len(testBundle))
	}
	// Only root reaches the metadata service, which hands out the service account's token,
	// from before the download on: the guard as a node has it.
	guard := ud.WriteFiles[len(testBundle):]
	if guard[0].Path != MetadataGuardPath || guard[0].Content != metadataGuard || guard[1].Path != metadataGuardUnitPath {
		t.Errorf("the load generator's guard files: %s, %s", guard[0].Path, guard[1].Path)
	}
	if len(ud.RunCmd) < 2 || ud.RunCmd[1] != "systemctl enable --now "+MetadataGuardUnit {
		t.Errorf("runcmd does not start the metadata guard before anything else:\n%s", strings.Join(ud.RunCmd, "\n"))
	}
	for i, f := range testBundle {
		w := ud.WriteFiles[i]
		got := []byte(w.Content)
		if w.Encoding == "b64" {
			// Python's b64decode, which cloud-init uses, drops the line breaks too.
			if got, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(w.Content, "\n", "")); err != nil {
				t.Fatal(err)
			}
		}
		if want := BundleDir + "/" + f.Path; w.Path != want || !bytes.Equal(got, f.Bytes) {
			t.Errorf("write_files[%d]: %s (%d bytes), want %s as in the bundle (%d bytes)", i, w.Path, len(got), want, len(f.Bytes))
		}
		if (w.Encoding == "b64") != f.Wire {
			t.Errorf("write_files[%d]: encoding %q for a file with Wire %v", i, w.Encoding, f.Wire)
		}
	}
	if !strings.Contains(strings.Join(ud.RunCmd, "\n"), "install --mode 0755 "+PghacPath+".download "+PghacPath) {
		t.Errorf("runcmd does not install pghac:\n%s", strings.Join(ud.RunCmd, "\n"))
	}
	if !strings.HasSuffix(ud.FinalMessage, "pghac loadtest --config "+BundleDir+"/<scenario>/load.yaml") {
		t.Errorf("final_message = %q, want how to run a scenario", ud.FinalMessage)
	}

	c.Target = model.TargetSandbox
	if files, err := LoadGeneratorFiles(c, testBundle, "load.yaml"); err != nil || files != nil {
		t.Errorf("sandbox: %v %v, want no load generator", files, err)
	}
}
