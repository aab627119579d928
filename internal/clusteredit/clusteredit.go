// Package clusteredit changes a cluster file the way a person would, for the drills that
// need the running cluster to change shape (scale out, scale in): the source is edited with
// hclwrite, so comments and layout stay, and the result is what `pghac up` then reads.
package clusteredit

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
)

// AddNodes returns the cluster file src with count node blocks added to its cluster block,
// and their names: nodeN with the first free numbers, in the zones of its nodes in turn (so
// that the zones stay balanced), each at the next address of its zone's subnet that no node
// uses (the file's own addresses: the cloud's, which the sandbox maps to its network).
func AddNodes(src []byte, filename string, count int) ([]byte, []string, error) {
	f, body, err := clusterBody(src, filename)
	if err != nil {
		return nil, nil, err
	}
	_, cl, diags := compiler.CompileSource(src, filename, model.TargetYandex)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	used := map[netip.Addr]bool{}
	for _, n := range cl.Nodes {
		used[n.Address] = true
	}
	var names []string
	for i := range count {
		name := freeName(cl, names)
		zone := cl.Nodes[i%len(cl.Nodes)].Zone
		addr, err := freeAddress(cl, zone, used)
		if err != nil {
			return nil, nil, err
		}
		used[addr] = true
		names = append(names, name)
		b := body.AppendNewBlock("node", []string{name}).Body()
		b.SetAttributeValue("zone", cty.StringVal(zone))
		b.SetAttributeValue("address", cty.StringVal(addr.String()))
	}
	return hclwrite.Format(f.Bytes()), names, nil
}

// RemoveNodes returns src without the node blocks named names, each of which must be there.
func RemoveNodes(src []byte, filename string, names []string) ([]byte, error) {
	f, body, err := clusterBody(src, filename)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		i := slices.IndexFunc(body.Blocks(), func(b *hclwrite.Block) bool {
			return b.Type() == "node" && slices.Equal(b.Labels(), []string{name})
		})
		if i < 0 {
			return nil, fmt.Errorf("%s has no node %q", filename, name)
		}
		body.RemoveBlock(body.Blocks()[i])
	}
	return hclwrite.Format(f.Bytes()), nil
}

// clusterBody parses src and finds its one cluster block.
func clusterBody(src []byte, filename string) (*hclwrite.File, *hclwrite.Body, error) {
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	for _, b := range f.Body().Blocks() {
		if b.Type() == "cluster" {
			return f, b.Body(), nil
		}
	}
	return nil, nil, fmt.Errorf("%s has no cluster block", filename)
}

// freeName is the first nodeN that neither cl nor taken has.
func freeName(cl *model.Cluster, taken []string) string {
	for i := len(cl.Nodes); ; i++ {
		name := "node" + strconv.Itoa(i)
		if !cl.HasNode(name) && !slices.Contains(taken, name) {
			return name
		}
	}
}

// freeAddress is the first address after the highest one used in zone's subnet (its first
// usable one when none is) that no node uses.
func freeAddress(cl *model.Cluster, zone string, used map[netip.Addr]bool) (netip.Addr, error) {
	i := slices.IndexFunc(cl.Network.Subnets, func(s model.Subnet) bool { return s.Zone == zone })
	if i < 0 {
		return netip.Addr{}, fmt.Errorf("the cluster has no subnet in zone %s", zone)
	}
	p := cl.Network.Subnets[i].CIDR.Masked()
	// Yandex keeps a subnet's first addresses for its gateway and DNS.
	next := p.Addr().Next().Next().Next()
	for a := range used {
		if p.Contains(a) && !a.Less(next) {
			next = a.Next()
		}
	}
	for ; p.Contains(next) && next.Next().IsValid() && p.Contains(next.Next()); next = next.Next() {
		if !used[next] {
			return next, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s of zone %s has no free address for another node", p, zone)
}
