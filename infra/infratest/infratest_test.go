package infratest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestEnviron(t *testing.T) {
	t.Setenv("TF_CLI_ARGS_plan", "-refresh=false")
	t.Setenv("TF_VAR_secret", "x")
	t.Setenv("TF_DATA_DIR", "/elsewhere")
	t.Setenv("TF_CLI_CONFIG_FILE", "/missing/.terraformrc")
	t.Setenv("PGHAC_INFRATEST_KEEP", "kept")
	e := Env{Vars: map[string]string{"TF_CLI_CONFIG_FILE": "/x/terraformrc", "CHECKPOINT_DISABLE": "1"}}
	env := e.Environ()
	for _, gone := range []string{"TF_CLI_ARGS_plan=-refresh=false", "TF_VAR_secret=x", "TF_DATA_DIR=/elsewhere", "TF_CLI_CONFIG_FILE=/missing/.terraformrc"} {
		if slices.Contains(env, gone) {
			t.Errorf("%s still set", gone)
		}
	}
	for _, want := range []string{"PGHAC_INFRATEST_KEEP=kept", "TF_CLI_CONFIG_FILE=/x/terraformrc", "CHECKPOINT_DISABLE=1"} {
		if !slices.Contains(env, want) {
			t.Errorf("%s missing", want)
		}
	}
}

func TestCopyDir(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "nodes", "node0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "nodes", "node0", "user-data.yaml"), []byte("#cloud-config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := CopyDir(t, src)
	fi, err := os.Stat(filepath.Join(dst, "nodes", "node0", "user-data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != int64(len("#cloud-config\n")) {
		t.Errorf("copied file: mode %v size %d", fi.Mode(), fi.Size())
	}
}
