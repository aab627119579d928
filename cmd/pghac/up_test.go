package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
