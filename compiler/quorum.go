package compiler

import (
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// checkQuorum: etcd needs an odd number of members, at least 3, to keep a majority through the
// loss of one; a one-node development cluster must say so.
func checkQuorum(d *diags, sc *schema.Cluster, c *model.Cluster) {
	if len(c.Nodes) == 0 {
		return
	}
	members := c.EtcdNodes()
	if c.DevSingleNode {
		if len(c.Nodes) != 1 {
			d.devFlagMultiNode(sc.DevSingleNodeRange, len(c.Nodes))
			return
		}
		d.singleNodeCluster(sc.DevSingleNodeRange)
		if len(members) != 1 {
			d.singleNodeNotEtcdMember(c.Nodes[0].DeclRange)
		}
		return
	}
	switch {
	case len(members) < 3:
		d.tooFewEtcdMembers(sc.NameRange, len(members))
	case len(members)%2 == 0:
		last := sc.Nodes[len(sc.Nodes)-1]
		for _, sn := range sc.Nodes {
			if deref(sn.EtcdMember, true) {
				last = sn
			}
		}
		d.evenEtcdMembers(last.NameRange, len(members))
	}
}
