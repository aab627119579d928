package infra

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	tfjson "github.com/hashicorp/terraform-json"
)

func TestSummarize(t *testing.T) {
	b, err := os.ReadFile("testdata/plan.json")
	if err != nil {
		t.Fatal(err)
	}
	var p tfjson.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	got := Summarize(&p)
	want := Summary{
		Add: 1, Change: 1, Replace: 1, Destroy: 2, Read: 1, Forget: 1,
		Changes: []Change{
			{Address: "data.yandex_compute_image.debian", Type: "yandex_compute_image", Name: "debian", Action: ActionRead, Reason: "read_because_config_unknown"},
			{Address: `yandex_compute_instance.node["node0"]`, Type: "yandex_compute_instance", Name: "node", Key: "node0", Action: ActionReplace,
				Reason: "replace_because_cannot_update", ReplacePaths: []string{"boot_disk[0].initialize_params[0].image_id", "zone"}},
			{Address: `yandex_compute_instance.node["node2"]`, Type: "yandex_compute_instance", Name: "node", Key: "node2", Action: ActionUpdate,
				Updated: []string{"fqdn", "gone", "metadata.user-data", "resources[0].cores"}},
			{Address: "yandex_compute_instance.old", Type: "yandex_compute_instance", Name: "old", Action: ActionDelete, Reason: "delete_because_no_resource_config",
				Labels: map[string]string{"role": "database", "node": "old"}},
			{Address: "yandex_vpc_subnet.zone[1]", Type: "yandex_vpc_subnet", Name: "zone", Key: "1", Action: ActionCreate},
			{Address: "yandex_vpc_network.net", Type: "yandex_vpc_network", Name: "net", Deposed: true, Action: ActionDelete},
			{Address: "yandex_vpc_address.kept", Type: "yandex_vpc_address", Name: "kept", Action: ActionForget},
		},
		Outputs: []string{"endpoint", "node_addresses"},
		// Not the replaced node0, the deleted, the created, the forgotten, the deposed.
		Kept: []string{`yandex_compute_instance.node["node1"]`, `yandex_compute_instance.node["node2"]`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
	if got.Empty() {
		t.Error("Empty() = true for a plan with changes")
	}
	if c := got.Counts(); c != "1 to add, 1 to change, 1 to replace, 2 to destroy, 1 to read, 1 to forget" {
		t.Errorf("Counts() = %q", c)
	}
	var destructive []string
	for _, c := range got.Changes {
		if c.Destructive() {
			destructive = append(destructive, c.Address)
		}
	}
	if diff := cmp.Diff([]string{`yandex_compute_instance.node["node0"]`, "yandex_compute_instance.old", "yandex_vpc_network.net"}, destructive); diff != "" {
		t.Errorf("destructive changes (-want +got):\n%s", diff)
	}
	if !(Summary{}).Empty() || Summarize(nil).Counts() != "0 to add, 0 to change, 0 to replace, 0 to destroy" {
		t.Error("an empty summary is not empty")
	}
}
