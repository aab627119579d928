package sandboxtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
)

// checkRotate: pghac secrets rotate gives the backend's password and HAProxy's statistics
// password new values on the running cluster. The backend's role takes the new password
// (through the leader) and the old one no longer opens a session; the backend runs with the
// new one; pghac status reads the statistics page with the new one; no value is printed.
func checkRotate(ctx context.Context, t *testing.T, c *Cluster) {
	secretsFile := filepath.Join(c.Dir, ".pghac", "sandbox", "secrets.tfvars")
	before, err := infra.StringVars(secretsFile)
	if err != nil {
		t.Fatal(err)
	}
	pids := machinePIDs(t, c)
	oldBackend := before[string(model.SecretBackendPassword)]

	out, err := c.Run(ctx, "secrets", "rotate", "nope")
	if err == nil || !strings.Contains(out, "rotate nope: not a secret of") || !strings.Contains(out, "backend_db_password") {
		t.Errorf("pghac secrets rotate nope: %v; want a usage error listing the secrets\n%s", err, out)
	}

	for _, name := range []model.Secret{model.SecretBackendPassword, model.SecretStatsPassword} {
		out, err := c.Run(ctx, "secrets", "rotate", string(name))
		t.Logf("pghac secrets rotate %s:\n%s", name, out)
		if err != nil || !strings.Contains(out, "Rotated "+string(name)+": every node uses the new value.") {
			t.Fatalf("pghac secrets rotate %s: %v", name, err)
		}
		after, err := infra.StringVars(secretsFile)
		if err != nil {
			t.Fatal(err)
		}
		if after[string(name)] == before[string(name)] || len(after) != len(before) {
			t.Errorf("%s after the rotation: the value did not change, or other secrets came or went", name)
		}
		for k, v := range after {
			if k != string(name) && v != before[k] {
				t.Errorf("rotating %s changed %s", name, k)
			}
		}
		if strings.Contains(out, before[string(name)]) || strings.Contains(out, after[string(name)]) {
			t.Errorf("pghac secrets rotate %s printed a value of the secret", name)
		}
		if name == model.SecretBackendPassword && !strings.Contains(out, "roles and databases: post-bootstrap.sh runs through the leader first") {
			t.Errorf("rotating %s did not set the role's password through the leader", name)
		}
		before = after
	}
	checkNotRestarted(t, c, pids)

	// A replica may lag for a moment (the rotations' writes): what counts here is that every
	// HAProxy takes the new statistics password and every backend logs in with its new one.
	status, err := c.Run(ctx, "status")
	for deadline := time.Now().Add(30 * time.Second); (err != nil || !strings.Contains(status, "Healthy")) && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		status, err = c.Run(ctx, "status")
	}
	if err != nil || !strings.Contains(status, "Healthy") {
		t.Errorf("pghac status after the rotations (the new statistics password, the backend's): %v\n%s", err, status)
	}
	b := c.Model.Backend
	login := func(password string) (string, error) {
		cmd := exec.CommandContext(ctx, "psql", "-X", "-w", "-At", "-c", "SELECT current_user")
		cmd.Env = append(os.Environ(), "PGHOST="+c.Addresses()[0].String(), fmt.Sprintf("PGPORT=%d", c.Model.HAProxy.PrimaryPort),
			"PGUSER="+b.User, "PGDATABASE="+b.Database, "PGPASSWORD="+password, "PGPASSFILE=/dev/null", "PGCONNECT_TIMEOUT=5")
		got, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(got)), err
	}
	if got, err := login(before[string(model.SecretBackendPassword)]); err != nil || got != b.User {
		t.Errorf("a session as %s with the new password: %q, %v", b.User, got, err)
	}
	if got, err := login(oldBackend); err == nil || !strings.Contains(got, "authentication failed") {
		t.Errorf("a session as %s with the old password: %q, %v; want an authentication failure", b.User, got, err)
	}
}
