package clusteredit

import (
	"os"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
)

// TestAddAndRemoveNodes edits the repository's cluster file: two nodes added compile to a
// five-node cluster (the next names, the first zones, free addresses in their subnets), and
// taking them out again gives the file back as it was.
func TestAddAndRemoveNodes(t *testing.T) {
	src, err := os.ReadFile("../../cluster.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, cl, diags := compiler.CompileSource(src, "cluster.hcl", model.TargetYandex)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out, names, err := AddNodes(src, "cluster.hcl", 2)
	if err != nil || strings.Join(names, " ") != "node3 node4" {
		t.Fatalf("AddNodes: %v, %v; want node3 and node4", names, err)
	}
	_, five, diags := compiler.CompileSource(out, "cluster.hcl", model.TargetYandex)
	if diags.HasErrors() {
		t.Fatalf("the file with two nodes added does not compile: %v\n%s", diags, out)
	}
	if len(five.Nodes) != 5 {
		t.Fatalf("%d nodes after adding two", len(five.Nodes))
	}
	for i, want := range []struct{ name, zone, addr string }{
		{"node3", cl.Nodes[0].Zone, "10.128.0.17"}, // node0 has .16 in ru-central1-a
		{"node4", cl.Nodes[1].Zone, "10.129.0.15"}, // node1 has .14 in ru-central1-b
	} {
		n := five.Nodes[3+i]
		if n.Name != want.name || n.Zone != want.zone || n.Address.String() != want.addr {
			t.Errorf("added node %d: %s in %s at %s; want %s in %s at %s", i, n.Name, n.Zone, n.Address, want.name, want.zone, want.addr)
		}
	}
	back, err := RemoveNodes(out, "cluster.hcl", names)
	if err != nil || string(back) != string(src) {
		t.Errorf("RemoveNodes: %v; want the file as it was:\n%s", err, back)
	}
	if _, err := RemoveNodes(src, "cluster.hcl", []string{"node7"}); err == nil || !strings.Contains(err.Error(), `no node "node7"`) {
		t.Errorf("removing a node the file lacks: %v", err)
	}
	if _, _, err := AddNodes([]byte("cluster \"x\" {"), "bad.hcl", 1); err == nil {
		t.Error("AddNodes of a file that does not parse: no error")
	}
}
