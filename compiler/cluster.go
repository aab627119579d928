package compiler

import (
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// maxClusterName leaves room in 63 characters for the longest suffix pghac adds to it (a zone
// name, "-ru-central1-a", or a node name as long as the cluster's).
const maxClusterName = 30

var nameRE = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkCluster checks the cluster block's own label and the target it is compiled for.
func checkCluster(d *diags, sc *schema.Cluster, target model.Target) {
	checkName(d, "cluster", sc.Name, sc.NameRange)
	if len(sc.Name) > maxClusterName {
		d.clusterNameTooLong(sc.NameRange)
	}
	if !contains(targetNames(), string(target)) {
		d.unknownTarget(sc.DefRange, target, targetNames())
	}
}

func targetNames() []string {
	out := make([]string, len(model.Targets))
	for i, t := range model.Targets {
		out[i] = string(t)
	}
	return out
}

// checkName: names become hostnames, etcd member names and Terraform resource names.
func checkName(d *diags, what, name string, rng hcl.Range) {
	if !nameRE.MatchString(name) {
		d.invalidHostname(rng, what, name)
	}
}
