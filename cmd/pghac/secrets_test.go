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
		{[]string{"rotate", "nope", "--target", "yandex"}, "rotate nope: not a secret of " + file},
		{[]string{"rotate", "postgres_superuser_password", "--target", "mars"}, `unknown --target "mars"`},
		{[]string{"rotate", "nope"}, "rotate nope: not a secret of " + file + "; its secrets are backend_db_password, "},
		{[]string{"rotate", "nope"}, ", tls (the certificates) and ca (their authority)"},
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

// TestSecretsRotateCloud: rotating a cloud cluster's secret reaches its nodes as status does
// (here through a jump host that does not answer) and, when it cannot, changes no secret.
func TestSecretsRotateCloud(t *testing.T) {
	dir := t.TempDir()
	jump := closedPort(t)
	src := strings.Replace(string(rootCluster(t)), "  network {", "  network {\n    jump_host = \"root@"+jump+"\"", 1)
	file := writeFile(t, dir, "cluster.hcl", []byte(src))
	rotate := []string{"secrets", "rotate", "haproxy_stats_password", "--target", "yandex", "-f", file, "-o", filepath.Join(dir, "deploy")}
	code, _, stderr := pghac(t, "", rotate...)
	if code != exitRuntime || !strings.Contains(stderr, "the cluster's secrets") {
		t.Errorf("rotate without secrets: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := pghac(t, "", "secrets", "init", "--target", "yandex", "-f", file); code != exitOK {
		t.Fatalf("secrets init: exit %d\n%s", code, stderr)
	}
	secrets := filepath.Join(dir, ".pghac", "yandex", "secrets.tfvars")
	before, err := os.ReadFile(secrets)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pghac(t, "", rotate...)
	if code != exitRuntime || !strings.Contains(stderr, "cannot reach the nodes: jump host root@"+jump) {
		t.Errorf("rotate with the jump host down: exit %d\n%s%s", code, stdout, stderr)
	}
	if after, err := os.ReadFile(secrets); err != nil || string(after) != string(before) {
		t.Errorf("a rotation that reached no node changed the secrets file (%v)", err)
	}
	// The certificates likewise: none is issued again when no node can be reached.
	nodePEM := filepath.Join(dir, ".pghac", "yandex", "tls", "nodes", "node0.pem")
	before, err = os.ReadFile(nodePEM)
	if err != nil {
		t.Fatal(err)
	}
	rotate[2] = "tls"
	code, stdout, stderr = pghac(t, "", rotate...)
	if code != exitRuntime || !strings.Contains(stderr, "cannot reach the nodes: jump host root@"+jump) {
		t.Errorf("rotate tls with the jump host down: exit %d\n%s%s", code, stdout, stderr)
	}
	if after, err := os.ReadFile(nodePEM); err != nil || string(after) != string(before) {
		t.Errorf("a rotation that reached no node issued a certificate (%v)", err)
	}
}
