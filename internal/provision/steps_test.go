package provision

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
)

// TestDisruptions: a database VM replaced, or updated in a way that stops it, is taken down
// one at a time; an update of its metadata (the user-data) or labels only is not; VMs
// created or destroyed are nodes added or removed; other resources do not count.
func TestDisruptions(t *testing.T) {
	cl := &model.Cluster{Target: model.TargetYandex, Nodes: []model.Node{{Name: "node0"}, {Name: "node1"}, {Name: "node2"}, {Name: "node3"}, {Name: "node4"}}}
	p := &infra.Plan{Summary: infra.Summary{Changes: []infra.Change{
		{Address: "yandex_compute_instance.loadgen", Action: infra.ActionReplace, ReplacePaths: []string{"zone"}},
		{Address: "yandex_compute_instance.node0", Action: infra.ActionUpdate, Updated: []string{"labels.owner", "metadata.user-data"}},
		{Address: "yandex_compute_instance.node1", Action: infra.ActionUpdate, Updated: []string{"metadata.user-data", "resources[0].cores"}},
		{Address: "yandex_compute_instance.node2", Action: infra.ActionReplace, ReplacePaths: []string{"boot_disk[0].initialize_params[0].size"}},
		{Address: "yandex_compute_instance.node3", Action: infra.ActionCreate},
		{Address: "yandex_compute_instance.node4", Action: infra.ActionReplace, Deposed: true},
		{Address: "yandex_vpc_subnet.a", Action: infra.ActionReplace},
	}}}
	want := []Disruption{
		{Node: "node1", Why: []string{"resources[0].cores"}},
		{Node: "node2", Replace: true, Why: []string{"boot_disk[0].initialize_params[0].size"}},
	}
	if diff := cmp.Diff(want, Disruptions(p, cl)); diff != "" {
		t.Errorf("Disruptions (-want +got):\n%s", diff)
	}
	order := StepOrder([]Disruption{{Node: "node0"}, {Node: "node1"}, {Node: "node2"}}, "node0")
	if got := []string{order[0].Node, order[1].Node, order[2].Node}; !cmp.Equal(got, []string{"node1", "node2", "node0"}) {
		t.Errorf("StepOrder with node0 leading = %v, want the leader last", got)
	}
}

// TestWithin: a step may apply any part of the reviewed plan, data sources read again, and
// nothing else: not a resource it left alone, not another action on one it changes.
func TestWithin(t *testing.T) {
	reviewed := infra.Summary{Changes: []infra.Change{
		{Address: "yandex_compute_instance.node0", Action: infra.ActionReplace},
		{Address: "yandex_lb_target_group.nodes", Action: infra.ActionUpdate},
	}}
	step := infra.Summary{Changes: []infra.Change{
		{Address: "data.yandex_compute_image.debian", Action: infra.ActionRead},
		{Address: "yandex_compute_instance.node0", Action: infra.ActionReplace},
	}}
	if err := Within(step, reviewed); err != nil {
		t.Errorf("a part of the reviewed plan: %v", err)
	}
	for name, extra := range map[string]infra.Change{
		"another resource":     {Address: "yandex_compute_instance.node1", Action: infra.ActionUpdate},
		"another action":       {Address: "yandex_lb_target_group.nodes", Action: infra.ActionReplace},
		"a deposed object too": {Address: "yandex_compute_instance.node0", Action: infra.ActionReplace, Deposed: true},
	} {
		s := infra.Summary{Changes: append(append([]infra.Change(nil), step.Changes...), extra)}
		err := Within(s, reviewed)
		if err == nil || !strings.Contains(err.Error(), string(extra.Action)+" "+extra.Address) || !strings.Contains(err.Error(), "run `pghac plan` again") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLeaving: the nodes a plan takes out are the database VMs it destroys that the cluster
// file no longer has; not a load generator, not a node it keeps, not a deposed object.
func TestLeaving(t *testing.T) {
	cl := &model.Cluster{Target: model.TargetYandex, Nodes: []model.Node{{Name: "node0"}, {Name: "node1"}, {Name: "node2"}}}
	db := map[string]string{"role": model.RoleDatabase}
	p := &infra.Plan{Summary: infra.Summary{Changes: []infra.Change{
		{Address: "yandex_compute_instance.node4", Name: "node4", Action: infra.ActionDelete, Labels: db},
		{Address: "yandex_compute_instance.node3", Name: "node3", Action: infra.ActionDelete, Labels: db},
		{Address: "yandex_compute_instance.loadgen", Name: "loadgen", Action: infra.ActionDelete, Labels: map[string]string{"role": "load-generator"}},
		{Address: "yandex_compute_instance.node2", Name: "node2", Action: infra.ActionDelete, Labels: db},
		{Address: "yandex_compute_instance.node5", Name: "node5", Action: infra.ActionDelete, Labels: db, Deposed: true},
		{Address: "yandex_compute_disk.node6", Name: "node6", Action: infra.ActionDelete, Labels: db},
		{Address: "yandex_compute_instance.node7", Name: "node7", Action: infra.ActionReplace, Labels: db},
	}}}
	if got := Leaving(p, cl); !cmp.Equal(got, []string{"node3", "node4"}) {
		t.Errorf("Leaving = %v, want node3, node4", got)
	}
}

// TestMoves: a running node's VM replaced or updated at another address, subnet or zone is a
// move; a new disk, more cores or another security group are not.
func TestMoves(t *testing.T) {
	dis := []Disruption{
		{Node: "node0", Replace: true, Why: []string{"network_interface[0].ip_address"}},
		{Node: "node1", Replace: true, Why: []string{"boot_disk[0].initialize_params[0].size"}},
		{Node: "node2", Replace: true, Why: []string{"zone", "network_interface[0].subnet_id"}},
		{Node: "node3", Why: []string{"network_interface[0].ip_address", "resources[0].cores"}},
		{Node: "node4", Why: []string{"network_interface[0].security_group_ids[0]"}},
	}
	got := Moves(dis)
	if len(got) != 3 || got[0].Node != "node0" || got[1].Node != "node2" || got[2].Node != "node3" {
		t.Errorf("Moves = %+v, want node0, node2 and node3", got)
	}
}
