package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/internal/health"
)

// Reports as internal/health gives them; how they are gathered and judged is its business.
func healthyReport() health.Report {
	zero := int64(0)
	return health.Report{Cluster: "main", Target: "sandbox", Network: "10.213.0.0/24", Healthy: true, Members: []health.Member{
		{Name: "node0", Address: "127.0.0.11", Role: "leader", State: "running", Timeline: 3, Etcd: "healthy", HAProxy: "ok", Backend: "ready"},
		{Name: "node1", Address: "127.0.0.12", Role: "sync_standby", State: "streaming", Timeline: 3, LagBytes: &zero, Etcd: "healthy", HAProxy: "ok", Backend: "ready"},
		{Name: "node2", Address: "127.0.0.13", Role: "replica", State: "streaming", Timeline: 3, LagBytes: &zero, Etcd: "healthy", HAProxy: "ok", Backend: "ready"},
	}}
}

func TestStatusHealthy(t *testing.T) {
	var out bytes.Buffer
	printStatus(&out, healthyReport())
	want := `Cluster main (sandbox, 10.213.0.0/24)
MEMBER  ADDRESS     ROLE          STATE      TL  LAG  ETCD     HAPROXY  BACKEND
node0   127.0.0.11  Leader        running    3   -    healthy  ok       ready
node1   127.0.0.12  Sync Standby  streaming  3   0    healthy  ok       ready
node2   127.0.0.13  Replica       streaming  3   0    healthy  ok       ready
Healthy: one leader, every replica streaming, etcd healthy, HAProxy routing and the backend ready on every node.
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("status table (-want +got):\n%s", diff)
	}
}

func TestStatusProblems(t *testing.T) {
	rep := healthyReport()
	lag := int64(2048)
	rep.Members[2].LagBytes = &lag
	rep.Healthy = false
	rep.Problems = []string{"node1: replica is running, not streaming", "node2: replica lags 2048 bytes"}
	var out bytes.Buffer
	printStatus(&out, rep)
	for _, s := range []string{"node2   127.0.0.13  Replica       streaming  3   2048", "Not healthy:\n  - node1: replica is running, not streaming\n  - node2: replica lags 2048 bytes\n"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("status output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestStatusNothingRuns(t *testing.T) {
	rep := health.Report{Cluster: "main", Target: "sandbox", Problems: []string{"no Patroni answers: node0: connection refused"}}
	for i := range 3 {
		rep.Members = append(rep.Members, health.Member{Name: "node" + strconv.Itoa(i), Address: "127.0.0." + strconv.Itoa(21+i), Etcd: "unreachable"})
	}
	var out bytes.Buffer
	printStatus(&out, rep)
	if !strings.Contains(out.String(), "node0   127.0.0.21  -     -      -   -    unreachable  not checked") {
		t.Errorf("status of nothing:\n%s", out.String())
	}
}

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
