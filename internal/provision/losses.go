package provision

import (
	"cmp"
	"slices"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/terraform"
	"github.com/pghac/pghac/infra"
)

// DataLoss is a planned change that loses a database node's data: its VM or disk replaced or
// destroyed. Nothing destroys data silently: the CLI names each at the top of its summary and
// asks before applying.
type DataLoss struct {
	// Node is the database node, or "(ADDRESS)" when the cluster's nodes are not known.
	Node   string
	Change infra.Change
}

// DataLosses lists the changes of p that lose a database node's data. nodes are the names of
// the cluster's database nodes; nil counts every VM and disk as one (the cluster file does not
// compile, so better safe).
func DataLosses(p *infra.Plan, nodes []string) []DataLoss {
	var out []DataLoss
	for _, ch := range p.Summary.Changes {
		if node, ok := dbNode(ch, nodes); ok && ch.Destructive() {
			out = append(out, DataLoss{Node: node, Change: ch})
		}
	}
	return out
}

// dbNode reports which database node a change concerns: a VM or disk named (or keyed) after a
// node, or a sandbox machine (terraform_data named after it). With nodes nil, every VM and disk
// counts.
func dbNode(ch infra.Change, nodes []string) (string, bool) {
	switch ch.Type {
	case "yandex_compute_instance", "yandex_compute_disk":
		// A node taken out of the cluster file is in nodes no more; its VM says what it is.
		if ch.Labels["role"] == model.RoleDatabase {
			return cmp.Or(ch.Labels["node"], ch.Name), true
		}
	case "terraform_data":
		if nodes == nil { // the sandbox's network is one too: only named machines count
			return "", false
		}
	default:
		return "", false
	}
	if nodes == nil {
		return "(" + ch.Address + ")", true
	}
	for _, n := range nodes {
		if ch.Name == n || ch.Key == n {
			return n, true
		}
	}
	return "", false
}

// RepositoryLosses lists the changes of p that delete or replace the backup repository: its
// bucket (and every backup in it) or the KMS key that encrypts it (without which no backup
// can be read). The cloud refuses both while the bucket holds objects (force_destroy is off)
// and the key's deletion protection is on, but the plan must say so before anything runs.
func RepositoryLosses(p *infra.Plan) []infra.Change {
	return destructive(p, terraform.BackupBucketAddress, terraform.BackupKeyAddress)
}

// SecretsLosses lists the changes of p that delete or replace the Lockbox secret of the
// cluster's secrets or the KMS key that encrypts it: a node made afterwards has nothing to boot
// with (pghac apply writes a new version only to a secret that exists).
func SecretsLosses(p *infra.Plan) []infra.Change {
	return destructive(p, terraform.SecretsAddress, terraform.SecretsKeyAddress)
}

// destructive are the changes of p that delete or replace a resource at one of addresses.
func destructive(p *infra.Plan, addresses ...string) []infra.Change {
	var out []infra.Change
	for _, ch := range p.Summary.Changes {
		if ch.Destructive() && slices.Contains(addresses, ch.Address) {
			out = append(out, ch)
		}
	}
	return out
}
