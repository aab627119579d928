package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
)

// TestUpReplaceUsage: --replace names nodes of the cluster, each once; a bad one is a usage
// error before anything is started or written to the state folder.
func TestUpReplaceUsage(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	state := filepath.Join(dir, "state")
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--replace", "node7"}, "--replace node7: no such node; the nodes are node0, node1, node2"},
		{[]string{"--replace", "node1", "--replace", "node1"}, "--replace node1: given twice"},
	} {
		args := append([]string{"up", "-f", file, "-o", filepath.Join(dir, "deploy"), "--state-dir", state}, tt.args...)
		code, _, stderr := pghac(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit %d with %q", tt.args, code, stderr, exitUsage, tt.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "sandbox", "secrets.tfvars")); err == nil {
		t.Error("a refused up wrote the sandbox's secrets")
	}
}

// TestRefuseUnsafe: a change no rollout can carry is one diagnostic at the cluster block,
// however many nodes report it, with the file's line and the change in words.
func TestRefuseUnsafe(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	_, cl, diags := compiler.CompileSource(rootCluster(t), file, model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var stderr strings.Builder
	c := &cli{stderr: &stderr}
	what := `the cluster's name changes from "main" to "billing" (Patroni's scope): a running cluster cannot be renamed; put the old name back`
	c.refuseUnsafe(file, cl, []string{"node0: " + what, "node1: " + what, "node2: " + what})
	out := stderr.String()
	for _, want := range []string{"Error: Cannot be rolled out to the running cluster", "on " + file + " line 4", `4: cluster "main" {`,
		`The cluster's name changes from "main" to "billing"`, "Nothing was changed."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Error:"); n != 1 {
		t.Errorf("%d diagnostics; want one for the three nodes:\n%s", n, out)
	}
}

// TestPlanSandboxUsage: the cloud's plan flags are usage errors for the sandbox, before
// anything is built.
func TestPlanSandboxUsage(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	for _, flag := range []string{"--offline", "--var-file=x.tfvars"} {
		code, _, stderr := pghac(t, "", "plan", "--target", "sandbox", "-f", file, "-o", filepath.Join(dir, "deploy"), flag)
		if code != exitUsage || !strings.Contains(stderr, "--offline and --var-file have no use for the sandbox") {
			t.Errorf("plan --target sandbox %s: exit %d, stderr:\n%s", flag, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "deploy")); err == nil {
		t.Error("a refused plan wrote the generated tree")
	}
}
