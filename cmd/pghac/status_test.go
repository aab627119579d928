package main

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/site"
)

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.hcl", rootCluster(t))
	// No secrets yet: env says to run up.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"env", "-f", file}, nil, &stdout, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "pghac up") {
		t.Fatalf("env without secrets: exit %d\n%s", code, stderr.String())
	}
	secret, appSecret := "SuperuserPasswordForTheTest0", "AppRolePasswordForTheTest01"
	if err := os.MkdirAll(filepath.Join(dir, ".pghac", "sandbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	// The superuser's password alone: not enough, for env connects as the client role.
	writeFile(t, dir, ".pghac/sandbox/secrets.tfvars", []byte(`postgres_superuser_password = "`+secret+`"`+"\n"))
	stderr.Reset()
	if code := run([]string{"env", "-f", file}, nil, &stdout, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "holds no password for app") {
		t.Fatalf("env without the client role's password: exit %d\n%s", code, stderr.String())
	}
	writeFile(t, dir, ".pghac/sandbox/secrets.tfvars", []byte(`postgres_superuser_password = "`+secret+`"`+"\n"+
		`role_app_password = "`+appSecret+`"`+"\n"))
	stderr.Reset()
	if code := run([]string{"env", "-f", file}, nil, &stdout, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "no certificate authority") {
		t.Fatalf("env without the cluster's authority: exit %d\n%s", code, stderr.String())
	}
	caCert := filepath.Join(dir, ".pghac", "sandbox", "tls", "ca.crt")
	if err := os.MkdirAll(filepath.Dir(caCert), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, ".pghac/sandbox/tls/ca.crt", []byte("-----BEGIN CERTIFICATE-----\n"))
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"env", "-f", file}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("env: exit %d\n%s", code, stderr.String())
	}
	pgpass := filepath.Join(dir, ".pghac", "sandbox", "pgpass")
	// The first role block that owns a database, to that database: PgBouncer lets no superuser in.
	want := `# Cluster main in the sandbox: HAProxy on every node routes 5000 to the leader and 5001 to the replicas.
# libpq tries the nodes in turn and keeps the first that is what target_session_attrs asks for.
# The password is in PGPASSFILE, never here. Use: eval "$(pghac env)"
export PGHOST=10.213.0.11,10.213.0.12,10.213.0.13
export PGPORT=5000,5000,5000
export PGUSER=app
export PGDATABASE=app
export PGPASSFILE=` + pgpass + `
export PGCONNECT_TIMEOUT=3
export PGTARGETSESSIONATTRS=read-write
export PGSSLMODE=verify-full
export PGSSLROOTCERT=` + caCert + `
export PGHAC_PRIMARY_URL='postgresql://app@10.213.0.11:5000,10.213.0.12:5000,10.213.0.13:5000/app?connect_timeout=3&target_session_attrs=read-write&sslmode=verify-full&sslrootcert=` + url.QueryEscape(caCert) + `'
export PGHAC_REPLICAS_URL='postgresql://app@10.213.0.11:5001,10.213.0.12:5001,10.213.0.13:5001/app?connect_timeout=3&target_session_attrs=read-only&sslmode=verify-full&sslrootcert=` + url.QueryEscape(caCert) + `'
`
	if diff := cmp.Diff(want, stdout.String()); diff != "" {
		t.Errorf("env output (-want +got):\n%s", diff)
	}
	if out := stdout.String() + stderr.String(); strings.Contains(out, secret) || strings.Contains(out, appSecret) {
		t.Error("env printed a password")
	}
	info, err := os.Stat(pgpass)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("pgpass mode %v, want 0600", info.Mode().Perm())
	}
	// The superuser for PostgreSQL's port alone (from this host, the sandbox's admin path);
	// the role for the ports that let it in.
	b, _ := os.ReadFile(pgpass)
	for _, line := range []string{"10.213.0.12:5432:*:postgres:" + secret, "10.213.0.11:5000:*:app:" + appSecret,
		"10.213.0.13:5001:*:app:" + appSecret, "10.213.0.12:6432:*:app:" + appSecret} {
		if !strings.Contains(string(b), line+"\n") {
			t.Errorf("pgpass lacks %q:\n%s", line, b)
		}
	}
	for _, no := range []string{":5000:*:postgres:", ":6432:*:postgres:", ":5432:*:app:"} {
		if strings.Contains(string(b), no) {
			t.Errorf("pgpass has %q, which that port refuses:\n%s", no, b)
		}
	}

	// --role names the role block; a cluster without one that owns a database says what to add.
	stdout.Reset()
	if code := run([]string{"env", "-f", file, "--role", "app"}, nil, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "export PGUSER=app\n") {
		t.Errorf("env --role app: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	src := string(rootCluster(t))
	db := "  database \"app\" {\n    owner = \"app\"\n  }\n"
	if !strings.Contains(src, db) {
		t.Fatalf("the cluster file has no %q", db)
	}
	noDB := writeFile(t, dir, "nodb.hcl", []byte(strings.Replace(src, db, "", 1)))
	stderr.Reset()
	if code := run([]string{"env", "-f", noDB}, nil, &stdout, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "no role that owns a database") {
		t.Errorf("env for a cluster without a role that owns a database: exit %d\n%s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"env", "-f", file, "--role", "nosuch"}, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no such role (role blocks: app)") {
		t.Errorf("env --role nosuch: exit %d\n%s", code, stderr.String())
	}
}

// TestCloudClusterCommands: status and switchover reach a cloud's nodes (--target yandex)
// with the target's secrets and operator key, saying which is missing, and through the
// cluster's jump host: one that does not answer is named, and nothing goes around it (the
// nodes' cloud addresses are never dialled from here: every probe fails at the jump host).
func TestCloudClusterCommands(t *testing.T) {
	dir := t.TempDir()
	jump := closedPort(t)
	src := strings.Replace(string(rootCluster(t)), "  network {", "  network {\n    jump_host = \"root@"+jump+"\"", 1)
	file := writeFile(t, dir, "cluster.hcl", []byte(src))
	commands := [][]string{{"status", "-f", file, "--target", "yandex"}, {"switchover", "-f", file, "--target", "yandex"}}
	expect := func(what string, want ...string) {
		t.Helper()
		for _, args := range commands {
			code, stdout, stderr := pghac(t, "", args...)
			if code != exitRuntime {
				t.Errorf("%s %s: exit %d, want %d\n%s%s", args[0], what, code, exitRuntime, stdout, stderr)
			}
			for _, w := range want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("%s %s: output lacks %q:\n%s%s", args[0], what, w, stdout, stderr)
				}
			}
			if strings.Contains(stdout+stderr, "RestAPIPasswordForTheTest00") {
				t.Errorf("%s %s printed a password", args[0], what)
			}
		}
	}
	expect("without secrets", "the cluster's secrets", "pghac secrets init --target yandex")

	s := site.New(file, filepath.Join(dir, "deploy"), "", model.TargetYandex)
	if err := s.MakeStateDir(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.Dir, "secrets.tfvars", []byte("patroni_restapi_password = \"RestAPIPasswordForTheTest00\"\nhaproxy_stats_password = \"StatsPasswordForTheTest000\"\n"))
	expect("without the operator key", "no operator key in "+s.Dir)

	if _, err := s.EnsureOperatorKey(); err != nil {
		t.Fatal(err)
	}
	expect("with the jump host down", "jump host root@"+jump)
}

// closedPort is a loopback host:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
