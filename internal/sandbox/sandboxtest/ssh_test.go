package sandboxtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
)

// checkSSH: pghac reaches every machine as the cloud's nodes are reached, over SSH as the
// image's default user with the operator key, root through sudo, and pins each machine's own
// host key.
func checkSSH(ctx context.Context, t *testing.T, c *Cluster) {
	s, err := site.Sandbox(filepath.Join(c.Dir, "cluster.hcl"), filepath.Join(c.Dir, "deploy"), "", c.Config.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := provision.NewNodes(s, c.Model)
	if err != nil {
		t.Fatal(err)
	}
	hostKeys := map[string]bool{}
	for round := 0; round < 2; round++ { // the second round meets the pinned keys
		for _, n := range c.Model.Nodes {
			rc, err := nodes.Dial(ctx, n.Name)
			if err != nil {
				t.Errorf("ssh %s: %v", n.Name, err)
				continue
			}
			if out, err := rc.Run(ctx, "id -u", nil); err != nil || string(out) != "0\n" {
				t.Errorf("ssh %s: id -u through sudo: %q, %v", n.Name, out, err)
			}
			if b, err := rc.ReadFile(ctx, "/etc/patroni/config.yml"); err != nil || !strings.Contains(string(b), "name: "+n.Name) {
				t.Errorf("ssh %s: reading Patroni's config: %v", n.Name, err)
			}
			rc.Close()
			if round == 0 {
				pub, err := c.Exec(ctx, n.Name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
				if err != nil {
					t.Fatalf("%s's host key: %v", n.Name, err)
				}
				hostKeys[strings.Join(strings.Fields(pub)[:2], " ")] = true
			}
		}
	}
	known, err := os.ReadFile(s.KnownHosts())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(known)), "\n")
	if len(lines) != len(c.Model.Nodes) || len(hostKeys) != len(c.Model.Nodes) {
		t.Fatalf("known_hosts pins %d keys for %d machines with %d distinct host keys:\n%s", len(lines), len(c.Model.Nodes), len(hostKeys), known)
	}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) < 3 || !hostKeys[f[1]+" "+f[2]] {
			t.Errorf("known_hosts pins a key no machine has: %s", l)
		}
	}
}
