package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/site"
)

// TestWriteBuildVars: the builds the module declares variables for are found (the backend
// beside pghac, pghac itself), hashed now and written with absolute paths, mode 0600; a
// module that uploads nothing gets no file; a missing backend build says how to make one.
func TestWriteBuildVars(t *testing.T) {
	dir := t.TempDir()
	s := site.New(filepath.Join(dir, "cluster.hcl"), filepath.Join(dir, "deploy"), filepath.Join(dir, ".pghac"), model.TargetYandex)
	for _, d := range []string{s.Deploy, s.Dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin")
	exe := filepath.Join(bin, "pghac")
	write(t, exe, "pghac's build")
	write(t, filepath.Join(s.Deploy, "nodes.tf"), `variable "folder_id" { type = string }`+"\n")
	if _, ok, err := WriteBuildVars(s, exe); err != nil || ok {
		t.Fatalf("a module that uploads nothing: %v, %v", ok, err)
	}
	write(t, filepath.Join(s.Deploy, "artifacts.tf"), `
variable "backend_artifact_path" { type = string }
variable "backend_artifact_sha256" { type = string }
variable "pghac_artifact_path" { type = string }
variable "pghac_artifact_sha256" { type = string }
`)
	t.Setenv("PATH", t.TempDir())
	if _, _, err := WriteBuildVars(s, exe); err == nil {
		t.Fatalf("no backend build: no error")
	}
	write(t, filepath.Join(bin, "pghac-backend"), "the backend's build")
	path, ok, err := WriteBuildVars(s, exe)
	if err != nil || !ok || path != s.BuildVars() {
		t.Fatalf("WriteBuildVars: %q, %v, %v", path, ok, err)
	}
	var got map[string]string
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	sum := func(content string) string { h := sha256.Sum256([]byte(content)); return hex.EncodeToString(h[:]) }
	want := map[string]string{
		"backend_artifact_path":   filepath.Join(bin, "pghac-backend"),
		"backend_artifact_sha256": sum("the backend's build"),
		"pghac_artifact_path":     exe,
		"pghac_artifact_sha256":   sum("pghac's build"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("build vars (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", path, fi, err)
	}

	// Apply checks that the builds are still the ones the plan hashed.
	if err := CheckBuilds(s); err != nil {
		t.Errorf("CheckBuilds right after the plan: %v", err)
	}
	write(t, filepath.Join(bin, "pghac-backend"), "a newer build")
	var changed *BuildChangedError
	if err := CheckBuilds(s); !errors.As(err, &changed) || changed.Path != want["backend_artifact_path"] {
		t.Errorf("CheckBuilds after a rebuild: %v, want the backend's path", err)
	}
	os.Remove(exe)
	write(t, filepath.Join(bin, "pghac-backend"), "the backend's build")
	if err := CheckBuilds(s); !errors.As(err, &changed) || changed.Path != exe {
		t.Errorf("CheckBuilds without pghac's build: %v, want its path", err)
	}
	// A module that uploads nothing any more leaves no file for apply to check.
	os.Remove(filepath.Join(s.Deploy, "artifacts.tf"))
	if _, ok, err := WriteBuildVars(s, exe); ok || err != nil {
		t.Fatalf("WriteBuildVars without uploads: %v, %v", ok, err)
	}
	if err := CheckBuilds(s); err != nil {
		t.Errorf("CheckBuilds without uploads: %v", err)
	}
}
