package provision

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
)

func TestDataLosses(t *testing.T) {
	vm := func(key string, a infra.Action) infra.Change {
		return infra.Change{Address: `yandex_compute_instance.node["` + key + `"]`, Type: "yandex_compute_instance", Name: "node", Key: key, Action: a}
	}
	p := &infra.Plan{Summary: infra.Summary{Changes: []infra.Change{
		vm("node0", infra.ActionReplace),
		vm("node1", infra.ActionUpdate), // in place: the data stays
		vm("node2", infra.ActionDelete),
		{Address: "yandex_compute_instance.loadgen", Type: "yandex_compute_instance", Name: "loadgen", Action: infra.ActionDelete},
		{Address: "yandex_vpc_subnet.a", Type: "yandex_vpc_subnet", Name: "a", Action: infra.ActionDelete},
	}}}
	got := DataLosses(p, []string{"node0", "node1", "node2"})
	want := []DataLoss{{Node: "node0", Change: p.Summary.Changes[0]}, {Node: "node2", Change: p.Summary.Changes[2]}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("losses (-want +got):\n%s", diff)
	}
	// A database VM whose node the cluster file no longer has (scale in) is known by its labels.
	gone := infra.Change{Address: "yandex_compute_instance.node7", Type: "yandex_compute_instance", Name: "node7", Action: infra.ActionDelete,
		Labels: map[string]string{"role": model.RoleDatabase, "node": "node7"}}
	if got := DataLosses(&infra.Plan{Summary: infra.Summary{Changes: []infra.Change{gone}}}, []string{"node0"}); len(got) != 1 || got[0].Node != "node7" {
		t.Errorf("a removed node's VM: %+v", got)
	}
	// Nodes unknown: every destroyed VM counts, the load generator too.
	got = DataLosses(p, nil)
	if len(got) != 3 || got[2].Node != "(yandex_compute_instance.loadgen)" {
		t.Errorf("with nodes unknown: %+v", got)
	}
}

// TestSandboxDataLosses: a sandbox machine replaced loses its disk as a VM does; the network
// and an unnamed terraform_data do not count.
func TestSandboxDataLosses(t *testing.T) {
	td := func(name string, a infra.Action) infra.Change {
		return infra.Change{Address: "terraform_data." + name, Type: "terraform_data", Name: name, Action: a}
	}
	p := &infra.Plan{Summary: infra.Summary{Changes: []infra.Change{
		td("network", infra.ActionReplace), td("node0", infra.ActionReplace), td("node1", infra.ActionUpdate), td("node2", infra.ActionCreate),
	}}}
	got := DataLosses(p, []string{"node0", "node1", "node2"})
	if len(got) != 1 || got[0].Node != "node0" {
		t.Errorf("sandbox losses: %+v; want node0's replacement only", got)
	}
	if got := DataLosses(p, nil); len(got) != 0 {
		t.Errorf("with nodes unknown, terraform_data counted: %+v", got)
	}
}

// TestKeptDataLosses: deleting or replacing the backup repository or the secrets' Lockbox
// secret and key is a loss, each in its own list; other buckets and keys (the artifacts'),
// and changes in place, are none.
func TestKeptDataLosses(t *testing.T) {
	ch := func(typ, name string, a infra.Action) infra.Change {
		return infra.Change{Address: typ + "." + name, Type: typ, Name: name, Action: a}
	}
	p := &infra.Plan{Summary: infra.Summary{Changes: []infra.Change{
		ch("yandex_storage_bucket", "backup", infra.ActionDelete),
		ch("yandex_kms_symmetric_key", "backup", infra.ActionUpdate),
		ch("yandex_kms_symmetric_key", "secrets", infra.ActionReplace),
		ch("yandex_lockbox_secret", "secrets", infra.ActionDelete),
		ch("yandex_storage_bucket", "artifacts", infra.ActionDelete),
		ch("yandex_lockbox_secret", "backup_s3_key", infra.ActionDelete),
	}}}
	addresses := func(chs []infra.Change) []string {
		var out []string
		for _, c := range chs {
			out = append(out, c.Address)
		}
		return out
	}
	if diff := cmp.Diff([]string{"yandex_storage_bucket.backup"}, addresses(RepositoryLosses(p))); diff != "" {
		t.Errorf("repository losses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"yandex_kms_symmetric_key.secrets", "yandex_lockbox_secret.secrets"}, addresses(SecretsLosses(p))); diff != "" {
		t.Errorf("secrets losses (-want +got):\n%s", diff)
	}
}
