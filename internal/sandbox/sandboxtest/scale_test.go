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
		got, err := c.Exec(ctx, n, "runuser", "-u", "postgres", "--", "psql", "-XAt", "-d", appRole, "-c", "SELECT note FROM seed WHERE id = 1")
		if err != nil || strings.TrimSpace(got) != "written through the primary port" {
			t.Errorf("%s lacks the data written before it joined: %q, %v", n, got, err)
		}
	}
}

// checkScaleIn: the two node blocks checkScaleOut added are taken out again, one of them the
// leader when Patroni lets it be. up refuses without --allow-replace and changes nothing;
// with it, the other leaves first, then the leader hands over to a node that stays and
// leaves; their etcd members, Patroni
// members and replication slots go, the other nodes' files follow (none of them restarted),
// and the data stays.
func checkScaleIn(ctx context.Context, t *testing.T, c *Cluster) {
	leader := leavingLeader(ctx, t, c)
	editCluster(t, c, func(src string) string {
		i := strings.Index(src, "  node \"node3\" {")
		j := strings.Index(src, "  node \"node4\" {")
		end := j + strings.Index(src[j:], "  }\n") + len("  }\n")
		return src[:i] + src[end:]
	})
	pids := machinePIDs(t, c)

	out, err := c.Run(ctx, "up")
	if err == nil || !strings.Contains(out, "this takes node3, node4 out of the cluster, destroying the machines and the copy of the data on each") ||
		!strings.Contains(out, "Nothing was changed. Run `pghac up --allow-replace`") {
		t.Fatalf("pghac up with node3 and node4 taken out, no --allow-replace: %v; want a refusal\n%s", err, out)
	}
	checkNotRestarted(t, c, pids)

	out, err = c.Run(ctx, "up", "--allow-replace", "--timeout", "3m")
	t.Logf("pghac up --allow-replace with node3 and node4 taken out:\n%s", out)
	if err != nil {
		t.Fatalf("pghac up --allow-replace with two nodes taken out: %v", err)
	}
	for _, want := range []string{
		"Taking node3, node4 out of the cluster, one at a time:",
		"node3 left the cluster in",
		"node4 left the cluster in",
		"-    server node4 10.213.0.15:6432 check port 8008",
		"Healthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac up's output lacks %q", want)
		}
	}
	if leader != "" {
		other := map[string]string{"node3": "node4", "node4": "node3"}[leader]
		if !strings.Contains(out, leader+" leads: switching over to node") ||
			strings.Index(out, leader+" left the cluster") < strings.Index(out, other+" left the cluster") {
			t.Errorf("%s led: it should have handed over, and left after %s", leader, other)
		}
	}
	delete(pids, "node3")
	delete(pids, "node4")
	checkNotRestarted(t, c, pids)
	if ms, err := sandbox.Machines(c.Config); err != nil || len(ms) != 3 {
		t.Errorf("machines after the scale in: %v, %v; want three", ms, err)
	}
	list, err := c.Exec(ctx, "node0", "etcdctl", "member", "list")
	if err != nil || strings.Count(list, ", started, ") != 3 || strings.Contains(list, "node3") || strings.Contains(list, "node4") {
		t.Errorf("etcd members after the scale in: %v\n%s", err, list)
	}
	for i, n := range c.Model.Nodes {
		got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT note FROM seed WHERE id = 1")
		if err != nil || got != "written through the primary port" {
			t.Errorf("%s after the scale in: the data written before: %q, %v", n.Name, got, err)
		}
		// Patroni drops the slots of members gone: one left behind would keep WAL forever.
		slots, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots")
		if err != nil || strings.Contains(slots, "node3") || strings.Contains(slots, "node4") {
			t.Errorf("%s's replication slots after the scale in: %q, %v; want none for node3 and node4", n.Name, slots, err)
		}
	}
	if out, err := c.Run(ctx, "up"); err != nil || !strings.Contains(out, "nothing to start") {
		t.Errorf("pghac up after the scale in: %v; want nothing to do\n%s", err, out)
	}
}

// leavingLeader makes node3 or node4 the leader when synchronous mode lets one be (Patroni
// hands the leadership only to the synchronous standby, which is its choice) and returns it;
// "" when neither can lead: then the hand-over before a removal is only rollout's TestRemove's.
func leavingLeader(ctx context.Context, t *testing.T, c *Cluster) string {
	t.Helper()
	out, err := c.Run(ctx, "status")
	if err != nil {
		t.Fatalf("pghac status: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "node3" && f[0] != "node4" {
			continue
		}
		switch {
		case f[2] == "Leader":
			return f[0]
		case f[2] == "Sync" && f[3] == "Standby":
			if out, err := c.Run(ctx, "switchover", "--to", f[0]); err != nil {
				t.Fatalf("pghac switchover --to %s: %v\n%s", f[0], err, out)
			}
			return f[0]
		}
	}
	t.Logf("neither node3 nor node4 leads or is the synchronous standby: they leave as replicas")
	return ""
}
