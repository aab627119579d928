package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
)

// fakeNode serves what pghac status asks a node: Patroni's /cluster, etcd's /health and
// HAProxy's statistics CSV, on loopback addresses standing in for the nodes.
type fakeNode struct {
	cluster string // /cluster's JSON
	patroni string // /patroni's JSON
	primary []string
	replica []string
	// notReady is the backend's /readyz detail; "" answers ready.
	notReady string
}

const statsPass = "StatsPasswordForTheTest00"

func (f *fakeNode) serve(t *testing.T, addr string, which string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case which == "patroni" && r.URL.Path == "/cluster":
			fmt.Fprint(w, f.cluster)
		case which == "patroni" && r.URL.Path == "/patroni":
			fmt.Fprint(w, f.patroni)
		case which == "backend" && r.URL.Path == "/readyz":
			if f.notReady != "" {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, `{"detail": %q}`, f.notReady)
				return
			}
			fmt.Fprint(w, `{"status": "ready"}`)
		case which == "etcd" && r.URL.Path == "/health":
			fmt.Fprint(w, `{"health":"true","reason":""}`)
		case which == "stats" && r.URL.Path == "/;csv":
			if u, p, ok := r.BasicAuth(); !ok || u != model.StatsUser || p != statsPass {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, "# pxname,svname,qcur,status,weight\nstats,FRONTEND,,OPEN,\n")
			for _, px := range []struct {
				name string
				up   []string
			}{{"primary", f.primary}, {"replicas", f.replica}} {
				fmt.Fprintf(w, "%s,FRONTEND,,OPEN,\n", px.name)
				for _, n := range []string{"node0", "node1", "node2"} {
					status := "DOWN"
					if strings.Contains(strings.Join(px.up, " "), n) {
						status = "UP"
					}
					fmt.Fprintf(w, "%s,%s,0,%s,1\n", px.name, n, status)
				}
				fmt.Fprintf(w, "%s,BACKEND,0,UP,2\n", px.name)
			}
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// fakeCluster compiles the repository's cluster for the sandbox and moves its nodes to
// 127.0.0.11-13 with free ports, each node served by nodes[i].
func fakeCluster(t *testing.T, nodes []*fakeNode) *model.Cluster {
	t.Helper()
	_, cl, diags := compiler.CompileSource(rootCluster(t), "cluster.hcl", model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	cl.Patroni.RestAPIPort, cl.Etcd.ClientPort, cl.HAProxy.StatsPort, cl.Backend.Port = port(), port(), port(), port()
	for i := range cl.Nodes {
		cl.Nodes[i].Address = netip.MustParseAddr("127.0.0." + strconv.Itoa(11+i))
		for which, p := range map[string]int{"patroni": cl.Patroni.RestAPIPort, "etcd": cl.Etcd.ClientPort, "stats": cl.HAProxy.StatsPort, "backend": cl.Backend.Port} {
			nodes[i].serve(t, hostPort(cl.Nodes[i].Address, p), which)
		}
	}
	return cl
}

// healthyCluster is /cluster as Patroni 3.0.2 (Debian 12) gives it: replicas are "running";
// only the leader's /patroni (leaderPatroni) says they stream.
const healthyCluster = `{"members": [
 {"name": "node0", "role": "leader", "state": "running", "api_url": "http://127.0.0.11:8008/patroni", "host": "127.0.0.11", "port": 5432, "timeline": 3},
 {"name": "node1", "role": "sync_standby", "state": "running", "host": "127.0.0.12", "port": 5432, "timeline": 3, "lag": 0},
 {"name": "node2", "role": "replica", "state": "running", "host": "127.0.0.13", "port": 5432, "timeline": 3, "lag": 0}
], "scope": "main"}`

const leaderPatroni = `{"state": "running", "role": "master", "timeline": 3, "replication": [
 {"usename": "replicator", "application_name": "node1", "client_addr": "127.0.0.12", "state": "streaming", "sync_state": "sync", "sync_priority": 1},
 {"usename": "replicator", "application_name": "node2", "client_addr": "127.0.0.13", "state": "streaming", "sync_state": "async", "sync_priority": 0}],
 "patroni": {"version": "3.0.2", "scope": "main"}}`

func TestStatusHealthy(t *testing.T) {
	var nodes []*fakeNode
	for range 3 {
		nodes = append(nodes, &fakeNode{cluster: healthyCluster, patroni: leaderPatroni, primary: []string{"node0"}, replica: []string{"node1", "node2"}})
	}
	cl := fakeCluster(t, nodes)
	st := newProber(statsPass).observe(context.Background(), cl)
	if !st.Healthy {
		t.Fatalf("not healthy: %v", st.Problems)
	}
	var out bytes.Buffer
	printStatus(&out, st)
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

	var js bytes.Buffer
	if err := json.NewEncoder(&js).Encode(st); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Healthy bool
		Members []struct {
			Member   string
			Role     string
			LagBytes *int64 `json:"lag_bytes"`
			HAProxy  string
		}
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Healthy || len(back.Members) != 3 || back.Members[0].Role != "leader" || back.Members[0].LagBytes != nil ||
		back.Members[2].LagBytes == nil || *back.Members[2].LagBytes != 0 || back.Members[1].HAProxy != "ok" {
		t.Errorf("JSON status: %s", js.String())
	}
}

func TestStatusProblems(t *testing.T) {
	lagging := strings.Replace(healthyCluster, `"timeline": 3, "lag": 0}
]`, `"timeline": 3, "lag": 2048}
]`, 1)
	// node1 does not stream (say, it restores from an archive).
	notStreaming := strings.Replace(leaderPatroni, `"node1", "client_addr": "127.0.0.12", "state": "streaming"`, `"node1", "client_addr": "127.0.0.12", "state": "catchup"`, 1)
	nodes := []*fakeNode{
		{cluster: lagging, patroni: notStreaming, primary: []string{"node0"}, replica: []string{"node1", "node2"}},
		// A node whose HAProxy still sends writes to a replica.
		{cluster: lagging, patroni: notStreaming, primary: []string{"node0", "node1"}, replica: []string{"node1", "node2"}},
		{cluster: lagging, patroni: notStreaming, primary: []string{"node0"}, replica: []string{"node1", "node2"}, notReady: "write pool: connection refused"},
	}
	cl := fakeCluster(t, nodes)
	st := newProber(statsPass).observe(context.Background(), cl)
	want := []string{
		"node1: replica is running, not streaming",
		"node2: replica lags 2048 bytes",
		"node1: HAProxy routes the primary port to [node0 node1], want [node0]",
		"node2: backend not ready: write pool: connection refused",
	}
	if diff := cmp.Diff(want, st.Problems); diff != "" || st.Healthy {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	printStatus(&out, st)
	for _, s := range []string{"node2   127.0.0.13  Replica       streaming  3   2048", "Not healthy:\n  - node1: replica is running, not streaming\n  - node2: replica lags 2048 bytes\n"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("status output lacks %q:\n%s", s, out.String())
		}
	}

	// Without the stats password, HAProxy is not judged; with a wrong one it is refused.
	if st := newProber("").observe(context.Background(), cl); st.Members[1].HAProxy != "" {
		t.Errorf("HAProxy checked without a password: %q", st.Members[1].HAProxy)
	}
	if st := newProber("wrong").observe(context.Background(), cl); !strings.Contains(st.Members[0].HAProxy, "HTTP 401") {
		t.Errorf("HAProxy with a wrong password: %q", st.Members[0].HAProxy)
	}
}

func TestStatusNothingRuns(t *testing.T) {
	_, cl, _ := compiler.CompileSource(rootCluster(t), "cluster.hcl", model.TargetSandbox)
	for i := range cl.Nodes {
		cl.Nodes[i].Address = netip.MustParseAddr("127.0.0." + strconv.Itoa(21+i))
	}
	cl.Patroni.RestAPIPort, cl.Etcd.ClientPort = 1, 1 // nothing listens on port 1
	st := newProber("").observe(context.Background(), cl)
	if st.Healthy || len(st.Problems) == 0 || !strings.HasPrefix(st.Problems[0], "no Patroni answers") {
		t.Errorf("status of nothing: %+v", st)
	}
	var out bytes.Buffer
	printStatus(&out, st)
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

// TestJudgeLag: `up` waits for lag 0, `status` accepts a lag HAProxy's replica check accepts.
func TestJudgeLag(t *testing.T) {
	lag := int64(504)
	members := func() []memberStatus {
		return []memberStatus{
			{Name: "node0", Role: roleLeader, State: "running", Etcd: "healthy"},
			{Name: "node1", Role: "replica", State: "streaming", LagBytes: &lag, Etcd: "healthy"},
		}
	}
	for _, tt := range []struct {
		maxLag  int64
		healthy bool
	}{{0, false}, {503, false}, {504, true}, {1 << 20, true}} {
		st := clusterStatus{Members: members()}
		judgeMembers(&st, nil, tt.maxLag)
		if got := len(st.Problems) == 0; got != tt.healthy {
			t.Errorf("maxLag %d: healthy %v, want %v (problems %q)", tt.maxLag, got, tt.healthy, st.Problems)
		}
	}
}
