package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/drill/scenario"
)

func TestDrillUsage(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"drill", "leader-nap"}, `no scenario "leader-nap": want one of leader-crash, leader-freeze,`},
		{[]string{"drill", "--repeat", "0"}, "--repeat must be at least 1"},
		{[]string{"drill", "--steady", "0s", "steady"}, "--steady must be positive"},
	} {
		code, stdout, stderr := pghac(t, "", tt.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.stderr) || !strings.Contains(stderr, "Usage: pghac drill ") {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s\nwant exit %d with %q", tt.args, code, stdout, stderr, exitUsage, tt.stderr)
		}
	}

	code, stdout, _ := pghac(t, "", "drill", "--list")
	if code != exitOK || !strings.Contains(stdout, "leader-freeze     every process of the leader's machine frozen") || strings.Count(stdout, "\n") != len(scenario.All()) {
		t.Errorf("drill --list: exit %d:\n%s", code, stdout)
	}

	// No sandbox: a clear runtime error, before anything is sent to its addresses.
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	code, _, stderr := pghac(t, "", "drill", "-f", file, "--state-dir", filepath.Join(dir, "state"), "switchover")
	if code != exitRuntime || !strings.Contains(stderr, "is the sandbox up (pghac up)?") {
		t.Errorf("drill without a sandbox: exit %d:\n%s", code, stderr)
	}
}
