package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/pki"
)

// fakeNode serves what the prober asks a node: Patroni's /cluster and /patroni, etcd's
// /health, HAProxy's statistics CSV and the backend's /readyz, on loopback addresses standing
// in for the nodes.
type fakeNode struct {
	cluster string // /cluster's JSON
	patroni string // /patroni's JSON
	primary []string
	replica []string
	// notReady is the backend's /readyz detail; "" answers ready.
	notReady string
	// tls, when set, serves the statistics and the backend over HTTPS, as the nodes do.
	tls *tls.Config
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
	if f.tls != nil && (which == "stats" || which == "backend") {
		ln = tls.NewListener(ln, f.tls)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// testCluster is a three-node synchronous cluster on 127.0.0.<first>.. with the given ports.
func testCluster(first int, patroniPort, etcdPort, statsPort, backendPort int) *model.Cluster {
	cl := &model.Cluster{
		Name:    "main",
		Target:  model.TargetSandbox,
		Sandbox: &model.Sandbox{CIDR: netip.MustParsePrefix("10.213.0.0/24")},
	}
	cl.Patroni.RestAPIPort, cl.Patroni.SynchronousMode = patroniPort, true
	cl.Etcd.ClientPort, cl.HAProxy.StatsPort = etcdPort, statsPort
	if backendPort > 0 {
		cl.Backend = &model.Backend{Port: backendPort}
	}
	for i := range 3 {
		cl.Nodes = append(cl.Nodes, model.Node{Name: "node" + strconv.Itoa(i),
			Address: netip.MustParseAddr("127.0.0." + strconv.Itoa(first+i)), EtcdMember: true})
	}
	return cl
}

// fakeCluster is testCluster on 127.0.0.11-13 with free ports, each node served by nodes[i].
func fakeCluster(t *testing.T, nodes []*fakeNode) *model.Cluster {
	t.Helper()
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	cl := testCluster(11, port(), port(), port(), port())
	for i, n := range cl.Nodes {
		for which, p := range map[string]int{"patroni": cl.Patroni.RestAPIPort, "etcd": cl.Etcd.ClientPort, "stats": cl.HAProxy.StatsPort, "backend": cl.Backend.Port} {
			nodes[i].serve(t, n.AddrPort(p).String(), which)
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

func healthyNodes() []*fakeNode {
	var nodes []*fakeNode
	for range 3 {
		nodes = append(nodes, &fakeNode{cluster: healthyCluster, patroni: leaderPatroni, primary: []string{"node0"}, replica: []string{"node1", "node2"}})
	}
	return nodes
}

func TestObserveHealthy(t *testing.T) {
	cl := fakeCluster(t, healthyNodes())
	rep := NewProber(cl, statsPass, 0).Observe(context.Background())
	if !rep.Healthy {
		t.Fatalf("not healthy: %v", rep.Problems)
	}
	want := []Member{
		{Name: "node0", Address: "127.0.0.11", Role: "leader", State: "running", Timeline: 3, Etcd: EtcdHealthy, HAProxy: HAProxyOK, Backend: BackendReady},
		{Name: "node1", Address: "127.0.0.12", Role: "sync_standby", State: "streaming", Timeline: 3, LagBytes: new(int64), Etcd: EtcdHealthy, HAProxy: HAProxyOK, Backend: BackendReady},
		{Name: "node2", Address: "127.0.0.13", Role: "replica", State: "streaming", Timeline: 3, LagBytes: new(int64), Etcd: EtcdHealthy, HAProxy: HAProxyOK, Backend: BackendReady},
	}
	if diff := cmp.Diff(want, rep.Members); diff != "" || rep.Network != "10.213.0.0/24" || rep.Cluster != "main" {
		t.Errorf("members (-want +got):\n%s", diff)
	}

	// status --json prints the report: its field names are an interface.
	var js bytes.Buffer
	if err := json.NewEncoder(&js).Encode(rep); err != nil {
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
		t.Errorf("JSON report: %s", js.String())
	}
}

// While a new statistics password rolls out, a node that still has the old one refuses the
// new: the check tries the old one only when told to.
func TestObserveRotatedStatsPassword(t *testing.T) {
	cl := fakeCluster(t, healthyNodes())
	rep := NewProber(cl, "TheNewStatsPassword", 0).Observe(context.Background())
	if rep.Healthy || rep.Members[0].HAProxy != "unreachable: statistics page: HTTP 401" {
		t.Errorf("with a password the nodes do not have yet: %v, %q; want HTTP 401", rep.Problems, rep.Members[0].HAProxy)
	}
	if rep := NewProber(cl, "TheNewStatsPassword", 0).AcceptOldStatsPassword(statsPass).Observe(context.Background()); !rep.Healthy {
		t.Errorf("with the old password accepted: %v", rep.Problems)
	}
}

// In synchronous mode a cluster without a synchronous standby is not healthy: a switchover
// would be refused ("can not find sync_standby").
func TestObserveNoSyncStandby(t *testing.T) {
	nodes := healthyNodes()
	for _, n := range nodes {
		n.cluster = strings.Replace(n.cluster, `"sync_standby"`, `"replica"`, 1)
	}
	cl := fakeCluster(t, nodes)
	rep := NewProber(cl, statsPass, 0).Observe(context.Background())
	if rep.Healthy || !cmp.Equal(rep.Problems, []string{"no synchronous standby yet"}) {
		t.Errorf("problems %q, want no synchronous standby", rep.Problems)
	}
	cl.Patroni.SynchronousMode = false
	if rep := NewProber(cl, statsPass, 0).Observe(context.Background()); !rep.Healthy {
		t.Errorf("asynchronous cluster: %q", rep.Problems)
	}
}

func TestObserveProblems(t *testing.T) {
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
	rep := NewProber(cl, statsPass, 0).Observe(context.Background())
	want := []string{
		"node1: replica is running, not streaming",
		"node2: replica lags 2048 bytes",
		"node1: HAProxy routes the primary port to [node0 node1], want [node0]",
		"node2: backend not ready: write pool: connection refused",
	}
	if diff := cmp.Diff(want, rep.Problems); diff != "" || rep.Healthy {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if m := rep.Members[2]; m.State != "streaming" || m.LagBytes == nil || *m.LagBytes != 2048 {
		t.Errorf("node2: %+v", m)
	}
	if nodes, all := rep.ProblemNodes(); !all || !slices.Equal(nodes, []string{"node1", "node2"}) {
		t.Errorf("ProblemNodes() = %v, %v; want [node1 node2], true", nodes, all)
	}
	if got := rep.Without([]string{"node2"}); !slices.Equal(got, []string{want[0], want[2]}) {
		t.Errorf("Without(node2) = %q; want node1's problems only", got)
	}
	// A problem that names node0 anywhere (node1's HAProxy routing) waits for node0 too; a
	// name inside another (node0 in node01) is not node0's.
	rep.Problems = append(rep.Problems, "node2: replicates from node01")
	if got := rep.Without([]string{"node0"}); !slices.Equal(got, []string{want[0], want[1], want[3], "node2: replicates from node01"}) {
		t.Errorf("Without(node0) = %q; want all but node1's HAProxy routing", got)
	}
	rep.Problems = rep.Problems[:len(want)]
	rep.Problems = append(rep.Problems, "2 leaders, want 1")
	if nodes, all := rep.ProblemNodes(); all || len(nodes) != 2 {
		t.Errorf("ProblemNodes() with a problem of the cluster's own = %v, %v; want all false", nodes, all)
	}
	if got := rep.Without([]string{"node1", "node2"}); !slices.Equal(got, []string{"2 leaders, want 1"}) {
		t.Errorf("Without(node1, node2) = %q; want the cluster's own problem", got)
	}

	// Without the stats password, HAProxy is not judged; with a wrong one it is refused.
	if rep := NewProber(cl, "", 0).Observe(context.Background()); rep.Members[1].HAProxy != "" {
		t.Errorf("HAProxy checked without a password: %q", rep.Members[1].HAProxy)
	}
	if rep := NewProber(cl, "wrong", 0).Observe(context.Background()); !strings.Contains(rep.Members[0].HAProxy, "HTTP 401") {
		t.Errorf("HAProxy with a wrong password: %q", rep.Members[0].HAProxy)
	}
	// status accepts the lag HAProxy's replica check accepts.
	if rep := NewProber(cl, "", 2048).Observe(context.Background()); hasPrefix(rep.Problems, "node2: replica lags") {
		t.Errorf("lag 2048 within a limit of 2048: %q", rep.Problems)
	}
}

func hasPrefix(problems []string, prefix string) bool {
	for _, p := range problems {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func TestObserveNothingRuns(t *testing.T) {
	cl := testCluster(21, 1, 1, 1, 0) // nothing listens on port 1
	rep := NewProber(cl, "", 0).Observe(context.Background())
	if rep.Healthy || len(rep.Problems) == 0 || !strings.HasPrefix(rep.Problems[0], "no Patroni answers") {
		t.Errorf("report of nothing: %+v", rep)
	}
	want := Member{Name: "node0", Address: "127.0.0.21", Etcd: "unreachable"}
	if diff := cmp.Diff(want, rep.Members[0]); diff != "" {
		t.Errorf("node0 (-want +got):\n%s", diff)
	}
	if !hasPrefix(rep.Problems, "node0: not a Patroni member yet") || !hasPrefix(rep.Problems, "node0: etcd unreachable") {
		t.Errorf("problems %q", rep.Problems)
	}
}

// TestObserveHTTPS asks HAProxy's statistics and the backend over HTTPS, verified against
// the cluster's authority; a node that still serves plain HTTP is a problem of its own, unless
// the prober accepts it (a rollout bringing TLS); a certificate from another authority is one.
func TestObserveHTTPS(t *testing.T) {
	now := time.Now()
	ca, _, err := pki.NewAuthority("test", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var ips []netip.Addr
	for i := 11; i <= 13; i++ {
		ips = append(ips, netip.MustParseAddr("127.0.0."+strconv.Itoa(i)))
	}
	certPEM, keyPEM, err := ca.Issue(pki.Leaf{CommonName: "service", IPs: ips, Lifetime: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	nodes := healthyNodes()
	for _, n := range nodes[:2] {
		n.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	cl := fakeCluster(t, nodes)
	prober := func(roots []byte) *Prober {
		p := NewProber(cl, statsPass, 0)
		if err := p.UseRoots(roots); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rep := prober(ca.CertPEM).Observe(context.Background())
	for _, m := range rep.Members[:2] {
		if m.HAProxy != HAProxyOK || m.Backend != BackendReady {
			t.Errorf("%s over HTTPS: HAProxy %q, backend %q", m.Name, m.HAProxy, m.Backend)
		}
	}
	want := []string{"node2: HAProxy unreachable: serves plain HTTP, not HTTPS", "node2: backend serves plain HTTP, not HTTPS"}
	if !cmp.Equal(rep.Problems, want) {
		t.Errorf("node2 serving plain HTTP: problems %q; want %q", rep.Problems, want)
	}
	if rep := prober(ca.CertPEM).AcceptPlainHTTP().Observe(context.Background()); !rep.Healthy {
		t.Errorf("plain HTTP accepted: %q", rep.Problems)
	}
	other, _, err := pki.NewAuthority("other", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rep = prober(other.CertPEM).AcceptPlainHTTP().Observe(context.Background())
	for _, m := range rep.Members[:2] {
		if !strings.Contains(m.HAProxy, "certificate signed by unknown authority") || m.Backend != "unreachable" {
			t.Errorf("%s against another authority: HAProxy %q, backend %q; want both refused", m.Name, m.HAProxy, m.Backend)
		}
	}
}
