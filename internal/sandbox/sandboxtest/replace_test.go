package sandboxtest

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// checkReplace: `pghac up --replace` of the leader hands the leadership on, rebuilds that
// machine alone (a new host key), whose etcd member takes its old place under a new ID and
// whose PostgreSQL copies the data; a node that does not exist is refused.
func checkReplace(ctx context.Context, t *testing.T, c *Cluster) {
	out, err := c.Run(ctx, "up", "--replace", "node9")
	if exit, ok := errors.AsType[*exec.ExitError](err); !ok || exit.ExitCode() != 2 || !strings.Contains(out, "--replace node9: no such node") {
		t.Errorf("up --replace node9: %v; want exit 2 naming the node\n%s", err, out)
	}

	var leader string
	for i, n := range c.Model.Nodes {
		if got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT pg_is_in_recovery()"); err == nil && got == "f" {
			leader = n.Name
		}
	}
	if leader == "" {
		t.Fatal("no node's PostgreSQL is the primary")
	}
	hostKey := func() string {
		k, err := c.Exec(ctx, leader, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// memberIDs maps each etcd member's name to its ID, from the first other node.
	memberIDs := func() map[string]string {
		other := c.Model.Nodes[0].Name
		if other == leader {
			other = c.Model.Nodes[1].Name
		}
		list, err := c.Exec(ctx, other, "etcdctl", "member", "list")
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
			if f := strings.Split(line, ", "); len(f) > 3 {
				ids[f[2]] = f[0]
			}
		}
		return ids
	}
	keyBefore, idsBefore := hostKey(), memberIDs()

	out, err = c.Run(ctx, "up", "--replace", leader)
	t.Logf("pghac up --replace %s:\n%s", leader, out)
	if err != nil {
		t.Fatalf("pghac up --replace %s: %v", leader, err)
	}
	for _, want := range []string{
		leader + " leads: switching over to another member first",
		"Sandbox (terraform), " + leader + " only: 0 to add, 0 to change, 1 to replace, 0 to destroy",
		leader + " replaced in",
		"Live changes (sandbox): none",
		"Healthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac up --replace's output lacks %q", want)
		}
	}
	if hostKey() == keyBefore {
		t.Errorf("%s has its old host key: its machine was not replaced", leader)
	}
	idsAfter := memberIDs()
	if len(idsAfter) != len(c.Model.Nodes) {
		t.Errorf("etcd members after the replacement: %v; want one per node", idsAfter)
	}
	for name, id := range idsBefore {
		if changed := idsAfter[name] != id; changed != (name == leader) {
			t.Errorf("etcd member %s: ID %s -> %s; only the replaced node's may change, and it must", name, id, idsAfter[name])
		}
	}
	for i, n := range c.Model.Nodes {
		if n.Name != leader {
			continue
		}
		if got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT note FROM seed WHERE id = 1"); err != nil || got != "written through the primary port" {
			t.Errorf("%s's new machine lacks the data written before: %q, %v", n.Name, got, err)
		}
	}
}

// checkReplaceReviewed: the cloud's way to replace a node, on the sandbox: `pghac plan
// --replace` plans that machine alone and saves the plan, and `pghac apply` carries it out as a
// step of the reviewed plan (provision.Run.ApplySteps: a plan targeted at the machine, within
// the reviewed one, then a wait until it streams), the others serving; the new machine has a
// new host key and the data.
func checkReplaceReviewed(ctx context.Context, t *testing.T, c *Cluster) {
	var replica string
	var addr int
	for i, n := range c.Model.Nodes {
		if got, err := c.PSQL(ctx, c.Addresses()[i], c.Model.Postgres.Port, "", "SELECT pg_is_in_recovery()"); err == nil && got == "t" {
			replica, addr = n.Name, i
			break
		}
	}
	if replica == "" {
		t.Fatal("no replica")
	}
	keyBefore, err := c.Exec(ctx, replica, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Run(ctx, "plan", "--target", "sandbox", "--replace", replica)
	if err != nil || !strings.Contains(out, "`pghac apply --target sandbox` replaces "+replica+"'s") {
		t.Fatalf("pghac plan --target sandbox --replace %s: %v\n%s", replica, err, out)
	}
	out, err = c.Run(ctx, "apply", "--target", "sandbox", "--auto-approve")
	t.Logf("pghac apply --target sandbox (replacing %s):\n%s", replica, out)
	if err != nil {
		t.Fatalf("pghac apply --target sandbox replacing %s: %v", replica, err)
	}
	for _, want := range []string{
		"Applying it one database VM at a time",
		"Step: " + replica + " only: 0 to add, 0 to change, 1 to replace, 0 to destroy",
		"replacing " + replica + "'s machine (replace_by_request)",
		"waiting for " + replica + "'s new machine to join and copy the data",
		replica + " streams again and the cluster is healthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pghac apply's output lacks %q", want)
		}
	}
	if k, err := c.Exec(ctx, replica, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"); err != nil || k == keyBefore {
		t.Errorf("%s has its old host key (%v): its machine was not replaced", replica, err)
	}
	if got, err := c.PSQL(ctx, c.Addresses()[addr], c.Model.Postgres.Port, "", "SELECT note FROM seed WHERE id = 1"); err != nil || got != "written through the primary port" {
		t.Errorf("%s's new machine lacks the data written before: %q, %v", replica, got, err)
	}
	if out, err := c.Run(ctx, "status"); err != nil || !strings.Contains(out, "Healthy") {
		t.Errorf("pghac status after the reviewed replacement: %v\n%s", err, out)
	}
}
