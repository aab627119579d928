package realcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TerraformBinary finds the real terraform: on PATH, else where this project installs it. It
// fails t when there is none.
func TerraformBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("terraform"); err == nil {
		return p
	}
	const p = "/usr/local/bin/terraform"
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no terraform binary on PATH or at %s", p)
	}
	return p
}

// TerraformCmd returns `bin args...` to run in dir with an empty CLI configuration and no
// checkpoint calls, whatever the environment says: a developer's provider mirrors or
// credentials must not change what a test sees.
func TerraformCmd(t testing.TB, bin, dir string, args ...string) *exec.Cmd {
	t.Helper()
	rc := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(rc, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1")
	return cmd
}
