package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	// No secrets yet: env says to run up.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"env", "-f", file}, nil, &stdout, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "pghac up") {
		t.Fatalf("env without secrets: exit %d\n%s", code, stderr.String())
	}
	secret := "SuperuserPasswordForTheTest0"
	if err := os.MkdirAll(filepath.Join(dir, ".pghac", "sandbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, ".pghac/sandbox/secrets.tfvars", []byte(`postgres_superuser_password = "`+secret+`"`+"\n"))
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"env", "-f", file}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("env: exit %d\n%s", code, stderr.String())
	}
	pgpass := filepath.Join(dir, ".pghac", "sandbox", "pgpass")
	want := `# Cluster main in the sandbox: HAProxy on every node routes 5000 to the leader and 5001 to the replicas.
# libpq tries the nodes in turn and keeps the first that is what target_session_attrs asks for.
# The password is in PGPASSFILE, never here. Use: eval "$(pghac env)"
export PGHOST=10.213.0.11,10.213.0.12,10.213.0.13
export PGPORT=5000,5000,5000
export PGUSER=postgres
export PGDATABASE=postgres
export PGPASSFILE=` + pgpass + `
export PGCONNECT_TIMEOUT=3
export PGTARGETSESSIONATTRS=read-write
export PGHAC_PRIMARY_URL='postgresql://postgres@10.213.0.11:5000,10.213.0.12:5000,10.213.0.13:5000/postgres?connect_timeout=3&target_session_attrs=read-write'
export PGHAC_REPLICAS_URL='postgresql://postgres@10.213.0.11:5001,10.213.0.12:5001,10.213.0.13:5001/postgres?connect_timeout=3&target_session_attrs=read-only'
`
	if diff := cmp.Diff(want, stdout.String()); diff != "" {
		t.Errorf("env output (-want +got):\n%s", diff)
	}
	if strings.Contains(stdout.String()+stderr.String(), secret) {
		t.Error("env printed the password")
	}
	info, err := os.Stat(pgpass)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("pgpass mode %v, want 0600", info.Mode().Perm())
	}
	b, _ := os.ReadFile(pgpass)
	for _, line := range []string{"10.213.0.11:5000:*:postgres:" + secret, "10.213.0.13:5001:*:postgres:" + secret, "10.213.0.12:5432:*:postgres:" + secret} {
		if !strings.Contains(string(b), line+"\n") {
			t.Errorf("pgpass lacks %q:\n%s", line, b)
		}
	}

	// A role block's role: its password joins the file, and it connects to its database.
	appSecret := "AppRolePasswordForTheTest01"
	writeFile(t, dir, ".pghac/sandbox/secrets.tfvars", []byte(`postgres_superuser_password = "`+secret+`"`+"\n"+
		`role_app_password = "`+appSecret+`"`+"\n"))
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"env", "-f", file, "--role", "app"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("env --role app: exit %d\n%s", code, stderr.String())
	}
	for _, line := range []string{"export PGUSER=app\n", "export PGDATABASE=app\n",
		"export PGHAC_PRIMARY_URL='postgresql://app@10.213.0.11:5000,10.213.0.12:5000,10.213.0.13:5000/app?"} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("env --role app lacks %q:\n%s", line, stdout.String())
		}
	}
	b, _ = os.ReadFile(pgpass)
	for _, line := range []string{"10.213.0.11:5000:*:postgres:" + secret, "10.213.0.13:5001:*:app:" + appSecret} {
		if !strings.Contains(string(b), line+"\n") {
			t.Errorf("pgpass lacks %q:\n%s", line, b)
		}
	}
	stderr.Reset()
	if code := run([]string{"env", "-f", file, "--role", "nosuch"}, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no such role (role blocks: app)") {
		t.Errorf("env --role nosuch: exit %d\n%s", code, stderr.String())
	}
}
