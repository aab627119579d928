package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsRotateUsage: the refusals of pghac secrets rotate, before it touches a secret.
func TestSecretsRotateUsage(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	state := filepath.Join(dir, "state")
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"rotate"}, "rotate takes one secret's name"},
		{[]string{"rotate", "postgres_superuser_password", "--target", "yandex"}, "rotate works on --target sandbox only"},
		{[]string{"rotate", "nope"}, "rotate nope: not a secret of " + file + "; its secrets are backend_db_password, "},
	} {
		args := append([]string{"secrets", "-f", file, "-o", filepath.Join(dir, "deploy"), "--state-dir", state}, tt.args...)
		code, _, stderr := pghac(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit %d with %q", tt.args, code, stderr, exitUsage, tt.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "sandbox", "secrets.tfvars")); err == nil {
		t.Error("a refused rotate wrote the sandbox's secrets")
	}
}
