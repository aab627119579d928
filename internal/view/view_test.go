package view

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/rollout"
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
	Status(&out, healthyReport())
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
	Status(&out, rep)
	for _, s := range []string{"node2   127.0.0.13  Replica       streaming  3   2048", "Not healthy:\n  - node1: replica is running, not streaming\n  - node2: replica lags 2048 bytes\n"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("status output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestStatusCertificates: each node's certificates' ends, PostgreSQL's and PgBouncer's, and
// what is wrong with one.
func TestStatusCertificates(t *testing.T) {
	rep := healthyReport()
	end := time.Date(2027, 12, 7, 12, 0, 0, 0, time.UTC)
	other := end.AddDate(0, 0, 3)
	for i := range rep.Members {
		rep.Members[i].TLS, rep.Members[i].CertNotAfter = health.TLSVerified, &end
		rep.Members[i].PgBouncerTLS, rep.Members[i].ServiceCertNotAfter = health.TLSVerified, &other
	}
	rep.Members[1].PgBouncerTLS = "certificate invalid: x509: certificate has expired"
	rep.Members[2].TLS, rep.Members[2].CertNotAfter = health.TLSOff, nil
	rep.Members[2].PgBouncerTLS, rep.Members[2].ServiceCertNotAfter = "unreachable: connection refused", nil
	var out bytes.Buffer
	Status(&out, rep)
	for _, s := range []string{
		"BACKEND  CERT UNTIL  PGBOUNCER CERT\n",
		"ready    2027-12-07  2027-12-10\n",
		"ready    2027-12-07  2027-12-10 (invalid)\n",
		"ready    TLS off     unknown\n",
	} {
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
	Status(&out, rep)
	if !strings.Contains(out.String(), "node0   127.0.0.21  -     -      -   -    unreachable  not checked") {
		t.Errorf("status of nothing:\n%s", out.String())
	}
}

func TestPrintSummary(t *testing.T) {
	p := &infra.Plan{Summary: infra.Summary{
		Add: 1, Replace: 1, Destroy: 1,
		Changes: []infra.Change{
			{Address: "yandex_compute_instance.loadgen", Type: "yandex_compute_instance", Name: "loadgen", Action: infra.ActionReplace},
			{Address: "yandex_compute_instance.node1", Type: "yandex_compute_instance", Name: "node1", Action: infra.ActionReplace,
				ReplacePaths: []string{"zone"}},
			{Address: "yandex_compute_instance.node2", Type: "yandex_compute_instance", Name: "node2", Action: infra.ActionDelete},
			{Address: `yandex_vpc_subnet.zone["d"]`, Type: "yandex_vpc_subnet", Name: "zone", Key: "d", Action: infra.ActionCreate},
		},
		Outputs: []string{"a_rather_long_output_name", "another_rather_long_output_name", "yet_another_output_name", "z"},
	}}
	var b bytes.Buffer
	if n := PlanSummary(&b, "Plan", p, []string{"node0", "node1", "node2"}, false); n != 2 {
		t.Errorf("printSummary counted %d database VMs lost, want 2", n)
	}
	want := `Plan: 1 to add, 0 to change, 1 to replace, 1 to destroy
  -/+ REPLACE yandex_compute_instance.loadgen
  -/+ REPLACE yandex_compute_instance.node1  (forced by zone)
  -   DESTROY yandex_compute_instance.node2
  +   create  yandex_vpc_subnet.zone["d"]
  outputs that change: a_rather_long_output_name, another_rather_long_output_name,
                       yet_another_output_name, z

!!! WARNING: this plan REPLACES database VM node1 (yandex_compute_instance.node1).
!!! Its disk and the PostgreSQL data on it are lost; the new, empty VM rejoins the cluster
!!! and copies the data from the primary, and until then the cluster runs one node short.
!!! The replacement is forced by a change to: zone
!!! WARNING: this plan DESTROYS database VM node2 (yandex_compute_instance.node2) and the PostgreSQL data on it.
`
	if b.String() != want {
		t.Errorf("printSummary:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	PlanSummary(&b, "Plan", p, []string{"node0", "node1", "node2"}, true)
	if !strings.Contains(b.String(), "\x1b[1;31m!!! WARNING: this plan REPLACES database VM node1") {
		t.Errorf("coloured summary lacks a red warning:\n%q", b.String())
	}
}

func TestPrintFileChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "yandex")
	var set artifact.Set
	for _, f := range []artifact.File{
		{Path: "main.tf", Mode: 0o644, Bytes: []byte("a\nB\nc\n")},
		{Path: "nodes/n0/new.yaml", Mode: 0o644, Bytes: []byte("new\n")},
		{Path: "same.tf", Mode: 0o644, Bytes: []byte("same\n")},
	} {
		if err := set.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	// A tree that does not exist yet: no diff of everything.
	d, _ := artifact.Compare(dir, &set)
	if err := FileChanges(&b, dir, &set, d, false); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "Generated files ("+dir+"): new, 3 files\n"; got != want {
		t.Errorf("new tree: %q, want %q", got, want)
	}

	for name, content := range map[string]string{"main.tf": "a\nb\nc\n", "old.tf": "old\n", "same.tf": "same\n"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := artifact.Compare(dir, &set)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := FileChanges(&b, dir, &set, d, false); err != nil {
		t.Fatal(err)
	}
	want := "Generated files (" + dir + "): 1 changed, 1 added, 1 removed, 1 unchanged\n" +
		"  changed  main.tf            +1 -1\n" +
		"  added    nodes/n0/new.yaml  +1\n" +
		"  removed  old.tf             -1\n" +
		"\n--- a" + dir + "/main.tf\n+++ b" + dir + "/main.tf\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n" +
		"\n--- /dev/null\n+++ b" + dir + "/nodes/n0/new.yaml\n@@ -0,0 +1 @@\n+new\n" +
		"\n--- a" + dir + "/old.tf\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n"
	if b.String() != want {
		t.Errorf("printFileChanges:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := FileChanges(&b, dir, &set, d, true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"\x1b[31m-b\x1b[0m\n", "\x1b[32m+B\x1b[0m\n", "\x1b[36m@@ -1,3 +1,3 @@\x1b[0m\n"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("coloured diff lacks %q:\n%q", s, b.String())
		}
	}
}

func TestGroup(t *testing.T) {
	for p, want := range map[string]string{
		"main.tf":                                   ".",
		"loadtest/mixed/load.yaml":                  "loadtest/",
		"nodes/node0/user-data.yaml":                "nodes/node0/",
		"nodes/node0/files/etc/haproxy/haproxy.cfg": "nodes/node0/",
		"nodes/README":                              "nodes/",
	} {
		if got := group(p); got != want {
			t.Errorf("group(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestLive(t *testing.T) {
	var b bytes.Buffer
	Live(&b, "Live changes (sandbox)", rollout.Live{Nodes: []rollout.NodePlan{{Node: "node0"}}}, false)
	if got, want := b.String(), "Live changes (sandbox): none; the running cluster is what the generated tree says.\n"; got != want {
		t.Errorf("no change: %q, want %q", got, want)
	}
	l := rollout.Live{
		Nodes: []rollout.NodePlan{
			{Node: "node0", Files: []rollout.FileChange{
				{File: rollout.File{Path: "/etc/pgbouncer/pgbouncer.ini"}, Kind: "changed", Actions: []rollout.Action{rollout.ActionReloadPgBouncer},
					Diff: "--- a\n+++ b\n@@ -1 +1 @@\n-default_pool_size = 100\n+default_pool_size = 50\n"},
				{File: rollout.File{Path: "/etc/patroni/post-bootstrap.sh"}, Kind: "mode", Actions: []rollout.Action{rollout.ActionNone}},
			}},
			{Node: "node1"},
			{Node: "node2", Err: errors.New("dial tcp 10.213.0.13:22: connection refused")},
		},
		Settings: []rollout.Setting{{Key: "postgresql.parameters.max_connections", Have: float64(220), Want: "120"}, {Key: "ttl", Want: 30}},
		Restart:  true,
	}
	b.Reset()
	Live(&b, "Live changes (sandbox)", l, false)
	want := `Live changes (sandbox): 1 node, 2 settings
  node0: 2 files: reload pgbouncer
    changed  /etc/pgbouncer/pgbouncer.ini
    mode     /etc/patroni/post-bootstrap.sh
  node2: cannot be reached: dial tcp 10.213.0.13:22: connection refused
  dynamic configuration (PostgreSQL restarts, one node at a time):
    postgresql.parameters.max_connections: 220 -> 120
    ttl: (unset) -> 30

--- a
+++ b
@@ -1 +1 @@
-default_pool_size = 100
+default_pool_size = 50
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("Live (-want +got):\n%s", diff)
	}
}

// TestLinePrefixer: a line written in pieces gets its prefix once, at its start.
func TestLinePrefixer(t *testing.T) {
	var b strings.Builder
	w := &LinePrefixer{W: &b, Prefix: "up: "}
	for _, piece := range []string{"MEMBER", "  ROLE\nnode0", "  Leader\n", "\n", "last"} {
		w.Write([]byte(piece))
	}
	if want := "up: MEMBER  ROLE\nup: node0  Leader\nup: \nup: last"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
