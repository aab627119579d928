package sandboxtest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// checkUnpatchedPatroni: a replica's Patroni file changed under the backport (a package
// update would do it) is refused by the fix, so Patroni does not start there, and pghac status
// names the node with the fix's own line rather than a bare "does not answer". Putting the
// file back heals it.
func checkUnpatchedPatroni(ctx context.Context, t *testing.T, c *Cluster) {
	const etcd3 = "/usr/lib/python3/dist-packages/patroni/dcs/etcd3.py"
	node := ""
	for i, n := range c.Model.Nodes {
		if got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT pg_is_in_recovery()"); err == nil && got == "t" {
			node = n.Name
			break
		}
	}
	if node == "" {
		t.Fatal("no replica to break")
	}
	if out, err := c.Exec(ctx, node, "sh", "-c", "cp "+etcd3+" /root/etcd3.py.pghac-test && echo '# a local edit' >> "+etcd3+" && systemctl restart patroni"); err == nil {
		t.Fatalf("%s: Patroni restarted with an unknown etcd3.py:\n%s", node, out)
	}
	want := node + ": Patroni does not run ("
	var out string
	var err error
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if out, err = c.Run(ctx, "status"); err != nil && strings.Contains(out, want) {
			break
		}
	}
	if err == nil || !strings.Contains(out, want) || !strings.Contains(out, "patroni-etcd3-fix: "+etcd3+" has sha256 ") {
		t.Errorf("pghac status with %s's Patroni unpatched: %v; want %q with the fix's line\n%s", node, err, want, out)
	}
	if out, err := c.Exec(ctx, node, "sh", "-c", "cp /root/etcd3.py.pghac-test "+etcd3+" && systemctl reset-failed patroni; systemctl restart patroni"); err != nil {
		t.Fatalf("%s: putting etcd3.py back: %v\n%s", node, err, out)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if out, err = c.Run(ctx, "status"); err == nil {
			return
		}
	}
	t.Fatalf("the cluster is not healthy again after %s's etcd3.py was put back: %v\n%s", node, err, out)
}
