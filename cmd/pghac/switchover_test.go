package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/patroni/patronitest"
	"github.com/pghac/pghac/internal/rollout"
)

func TestSwitchoverAndNodeUsage(t *testing.T) {
	file := writeFile(t, t.TempDir(), "cluster.hcl", rootCluster(t))
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"switchover argument", []string{"switchover", "node1"}, `unexpected argument "node1"`},
		{"switchover timeout", []string{"switchover", "--timeout", "0s"}, "--timeout must be positive"},
		{"switchover unknown node", []string{"switchover", "-f", file, "--to", "node7"}, `--to node7: ` + file + ` has no node "node7"; its nodes are node0, node1, node2`},
		{"node alone", []string{"node"}, "want a subcommand: reinit"},
		{"node unknown subcommand", []string{"node", "restart", "node1"}, `unknown subcommand "restart": want reinit`},
		{"reinit without node", []string{"node", "reinit", "--force"}, "reinit needs a NODE"},
		{"reinit two nodes", []string{"node", "reinit", "node1", "node2"}, `unexpected argument "node2"`},
		{"reinit unknown node", []string{"node", "reinit", "node7", "-f", file}, file + ` has no node "node7"; its nodes are node0, node1, node2`},
		{"reinit timeout", []string{"node", "reinit", "node1", "--timeout=-1s"}, "--timeout must be positive"},
		{"reinit unknown flag", []string{"node", "reinit", "node1", "--to", "node2"}, "unknown flag: --to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pghac(t, "", tt.args...)
			if code != exitUsage || stdout != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, stdout, exitUsage)
			}
			usage := "Usage: pghac " + tt.args[0] + " "
			if !strings.Contains(stderr, tt.stderr) || !strings.Contains(stderr, usage) {
				t.Errorf("stderr lacks %q or %q:\n%s", tt.stderr, usage, stderr)
			}
		})
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "node"}, "Usage: pghac node reinit NODE"},
		{[]string{"node", "-h"}, "\n  reinit   rebuild a replica's data directory"},
		{[]string{"switchover", "--help"}, "      --to NODE "},
	} {
		if code, stdout, _ := pghac(t, "", tt.args...); code != exitOK || !strings.Contains(stdout, tt.want) {
			t.Errorf("%v: exit %d, stdout lacks %q:\n%s", tt.args, code, tt.want, stdout)
		}
	}
}

// TestSwitchoverSandboxNotUp: without the sandbox's secrets or machines, both commands say
// to start it, exit 4 and never show the password.
func TestSwitchoverSandboxNotUp(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	for _, args := range [][]string{{"switchover", "-f", file}, {"node", "reinit", "node1", "-f", file}} {
		code, stdout, stderr := pghac(t, "", args...)
		if code != exitRuntime || stdout != "" || !strings.Contains(stderr, "the sandbox's secrets") || !strings.Contains(stderr, "is the sandbox up (pghac up)?") {
			t.Errorf("%v without secrets: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
	}

	if err := os.MkdirAll(filepath.Join(dir, ".pghac", "sandbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, ".pghac/sandbox/secrets.tfvars", []byte(`postgres_superuser_password = "SuperuserPasswordForTheTest0"`+"\n"))
	code, _, stderr := pghac(t, "", "switchover", "-f", file)
	if code != exitRuntime || !strings.Contains(stderr, "holds no patroni_restapi_password") {
		t.Errorf("switchover without the REST API password: exit %d\n%s", code, stderr)
	}

	const secret = "RestAPIPasswordForTheTest00"
	writeFile(t, dir, ".pghac/sandbox/secrets.tfvars", []byte(`patroni_restapi_password = "`+secret+`"`+"\n"))
	for _, args := range [][]string{{"switchover", "-f", file, "--to", "node1"}, {"node", "reinit", "node2", "-f", file}} {
		code, stdout, stderr := pghac(t, "", args...)
		if code != exitRuntime || stdout != "" || !strings.Contains(stderr, "the sandbox is not running: start it with 'pghac up'") {
			t.Errorf("%v without machines: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("%v printed the password", args)
		}
	}
}

// TestSwitchoverPatroni checks what the commands print, and their exit codes, once they have a
// client of a real two-member Patroni cluster on loopback (patronitest): a refused rebuild of
// the leader and a switchover. internal/rollout tests the operations themselves.
func TestSwitchoverPatroni(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, two Patroni members and their PostgreSQL (about 30 s)")
	}
	pcl := patronitest.Start(t, patronitest.Options{Members: 2})
	pc := pcl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl, err := pc.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader, _ := cl.Leader()
	var replica string
	for _, m := range cl.Members {
		if m.Name != leader.Name {
			replica = m.Name
		}
	}

	var stdout, stderr bytes.Buffer
	c := &cli{ctx: ctx, stdout: &stdout, stderr: &stderr}
	check := func(what string, code, wantCode int, wantOut, wantErr string) {
		t.Helper()
		if code != wantCode || !regexp.MustCompile(wantOut).MatchString(stdout.String()) || !strings.Contains(stderr.String(), wantErr) {
			t.Errorf("%s: exit %d (want %d)\nstdout: %s(want %s)\nstderr: %s(want %q)", what, code, wantCode, stdout.String(), wantOut, stderr.String(), wantErr)
		}
		// Progress lines, if the wait took long enough to show any.
		for _, line := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
			if line != "" && !strings.HasPrefix(line, "pghac ") && !regexp.MustCompile(`^  \[ *\d+s\] waiting for .*: `).MatchString(line) {
				t.Errorf("%s: stray stderr line %q", what, line)
			}
		}
		t.Logf("%s: exit %d\n%s%s", what, code, stdout.String(), stderr.String())
		stdout.Reset()
		stderr.Reset()
	}

	check("reinit of the leader", c.nodeReinit(pc, leader.Name, nodeOptions{timeout: 3 * time.Minute}), exitRuntime, `^$`,
		"pghac node reinit: "+leader.Name+" is the leader: switch over first (pghac switchover --to "+replica+")\n")
	check("switchover", c.switchover(pc, replica, 3*time.Minute), exitOK,
		`^switched over from `+leader.Name+` to `+replica+` in \d+\.\ds\n$`, "")
}

// TestSwitchoverUnreachable: when Patroni does not answer, both commands ask whether the
// cluster is up and exit 4.
func TestSwitchoverUnreachable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	c := &cli{ctx: context.Background(), stdout: &stdout, stderr: &stderr}
	const want = "Patroni does not answer; is the cluster up (pghac status)? patroni: the client has no endpoints\n"
	for _, tt := range []struct {
		run    func() int
		prefix string
	}{
		{func() int { return c.switchover(&patroni.Client{}, "", time.Second) }, "pghac switchover: "},
		{func() int { return c.nodeReinit(&patroni.Client{}, "node1", nodeOptions{timeout: time.Second}) }, "pghac node reinit: "},
	} {
		if code := tt.run(); code != exitRuntime || stdout.Len() != 0 || stderr.String() != tt.prefix+want {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s(want %q)", code, stdout.String(), stderr.String(), tt.prefix+want)
		}
		stdout.Reset()
		stderr.Reset()
	}
}

func TestSwitchoverProgressLine(t *testing.T) {
	var stderr bytes.Buffer
	c := &cli{stderr: &stderr}
	c.progress(rollout.Step{Elapsed: 3700 * time.Millisecond, Phase: "waiting for node0 to follow the new leader", State: "node1 leader running TL2"})
	if want := "  [  3s] waiting for node0 to follow the new leader: node1 leader running TL2\n"; stderr.String() != want {
		t.Errorf("progress line %q; want %q", stderr.String(), want)
	}
}
