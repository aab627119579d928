package provision

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
)

// TestKeptNodes: the nodes surveyed for a plan's live part are those whose VMs the plan
// keeps, unchanged or updated in place; a VM it creates, replaces or destroys boots (or goes)
// with its user-data.
func TestKeptNodes(t *testing.T) {
	cl := &model.Cluster{Target: model.TargetYandex, Nodes: []model.Node{{Name: "node0"}, {Name: "node1"}, {Name: "node2"}, {Name: "node3"}}}
	p := &infra.Plan{Summary: infra.Summary{Kept: []string{"yandex_vpc_network.cluster", "yandex_compute_instance.node1", "yandex_compute_instance.node3", "yandex_compute_instance.loadgen"}}}
	if got := KeptNodes(p, cl); !slices.Equal(got, []string{"node1", "node3"}) {
		t.Errorf("KeptNodes = %v, want node1, node3", got)
	}
	if got := KeptNodes(&infra.Plan{}, cl); got != nil {
		t.Errorf("KeptNodes of a first plan = %v, want none", got)
	}
	sb := &model.Cluster{Target: model.TargetSandbox, Nodes: cl.Nodes}
	if got := KeptNodes(&infra.Plan{Summary: infra.Summary{Kept: []string{"terraform_data.node2"}}}, sb); !slices.Equal(got, []string{"node2"}) {
		t.Errorf("KeptNodes on the sandbox = %v, want node2", got)
	}
}

// TestLivePlanSaved: the live part is saved beside Terraform's plan, read back as saved, and
// goes with the plan.
func TestLivePlanSaved(t *testing.T) {
	w, err := infra.Open(infra.Options{Binary: infra.Binary{Path: "/bin/false"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Workdir: w}
	if lp, err := r.SavedLive(); err != nil || lp != nil {
		t.Fatalf("no live part saved: %+v, %v", lp, err)
	}
	want := LivePlan{Nodes: []string{"node0", "node2"}, Fingerprint: "abc", Changes: true}
	if err := r.SaveLive(want); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(w.Dir(), livePlanFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the live part's file: %v, %v", info, err)
	}
	got, err := r.SavedLive()
	if err != nil || got == nil || !slices.Equal(got.Nodes, want.Nodes) || got.Fingerprint != want.Fingerprint || !got.Changes || got.Unreachable {
		t.Errorf("SavedLive = %+v, %v; want %+v", got, err, want)
	}
	if err := r.ClearPlan(); err != nil {
		t.Fatal(err)
	}
	if lp, err := r.SavedLive(); err != nil || lp != nil {
		t.Errorf("after ClearPlan: %+v, %v", lp, err)
	}
}
