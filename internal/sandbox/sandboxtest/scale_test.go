package sandboxtest

import (
	"context"
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/sandbox"
)

// checkScaleOut: two node blocks added to cluster.hcl of the running cluster. up makes their
// machines, which join etcd and copy the data, then rolls the new members into the other
// nodes' files (etcd, Patroni, HAProxy) one node at a time, none of them restarted.
func checkScaleOut(ctx context.Context, t *testing.T, c *Cluster) {
	editCluster(t, c, func(src string) string {
		last := strings.LastIndex(src, "  node \"node2\" {")
		end := last + strings.Index(src[last:], "  }\n") + len("  }\n")
		return src[:end] + "  node \"node3\" {\n    zone    = \"ru-central1-a\"\n    address = \"10.128.0.17\"\n  }\n" +
			"  node \"node4\" {\n    zone    = \"ru-central1-b\"\n    address = \"10.129.0.15\"\n  }\n" + src[end:]
	})
	pids := machinePIDs(t, c)

	out, err := c.Run(ctx, "up")
	t.Logf("pghac up with node3 and node4 added:\n%s", out)
	if err != nil {
		t.Fatalf("pghac up with two nodes added: %v", err)
	}
	for _, want := range []string{
		"Sandbox (terraform): 2 to add, 0 to change, 0 to replace, 0 to destroy",
		"+    server node4 10.213.0.15:6432 check port 8008",
		"Rolled out in",
		"node4   10.213.0.15",
		"Healthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac up's output lacks %q", want)
		}
	}
	if ms, err := sandbox.Machines(c.Config); err != nil || len(ms) != 5 {
		t.Fatalf("machines after the scale out: %v, %v; want five", ms, err)
	}
	checkNotRestarted(t, c, pids)
	list, err := c.Exec(ctx, "node0", "etcdctl", "member", "list")
	if err != nil || strings.Count(list, ", started, ") != 5 {
		t.Errorf("etcd members after the scale out: %v\n%s", err, list)
	}
	for _, n := range []string{"node3", "node4"} {
		got, err := c.Exec(ctx, n, "runuser", "-u", "postgres", "--", "psql", "-XAt", "-c", "SELECT note FROM seed WHERE id = 1")
		if err != nil || strings.TrimSpace(got) != "written through the primary port" {
			t.Errorf("%s lacks the data written before it joined: %q, %v", n, got, err)
		}
	}
}
