package terraform

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/tfwrite"
)

// Resource types of provider yandex-cloud/yandex.
const (
	typeNetwork       = "yandex_vpc_network"
	typeSubnet        = "yandex_vpc_subnet"
	typeSecurityGroup = "yandex_vpc_security_group"
	typeImage         = "yandex_compute_image" // a data source
	typeInstance      = "yandex_compute_instance"
	typeTargetGroup   = "yandex_lb_target_group"
	typeLoadBalancer  = "yandex_lb_network_load_balancer"
	typeGateway       = "yandex_vpc_gateway"
	typeRouteTable    = "yandex_vpc_route_table"
)

// Names of the resources the module declares once. Instances are named after their node and
// subnets after their zone.
const (
	networkName      = "cluster"
	nodesSGName      = "nodes"
	loadgenSGName    = "loadgen"
	bastionSGName    = "bastion"
	imageName        = "image"
	targetGroupName  = "nodes"
	loadBalancerName = "primary"
	egressName       = "egress"
)

// Locals the module defines.
const (
	localSSHMetadata = "ssh_metadata" // the ssh-keys metadata of every VM, or none
	localLBAddress   = "load_balancer_address"
)

// Variables the module declares.
const (
	varCloudID      = "cloud_id"
	varFolderID     = "folder_id"
	varSSHPublicKey = "ssh_public_key"
	varSSHUser      = "ssh_user"
)

// maxNameLen is the longest name Yandex Cloud accepts for a network, subnet, security group,
// instance, target group or load balancer.
const maxNameLen = 63

// generator writes one .tf file into an empty body.
type generator struct {
	path string
	// want reports whether the cluster needs the file; nil means always.
	want func(c *model.Cluster) bool
	gen  func(m *module, b *hclwrite.Body) error
}

// generators are in path order.
var generators = []generator{
	{"artifacts.tf", func(c *model.Cluster) bool { return len(uploads(c)) > 0 }, (*module).artifacts},
	{"backup.tf", func(c *model.Cluster) bool { return c.Backup != nil }, (*module).backup},
	{"bastion.tf", func(c *model.Cluster) bool { return c.Bastion != nil }, (*module).bastion},
	{"loadgen.tf", func(c *model.Cluster) bool { return c.LoadGenerator != nil }, (*module).loadgen},
	{"network.tf", nil, (*module).network},
	{"nlb.tf", func(c *model.Cluster) bool { return c.LoadBalancer != nil }, (*module).nlb},
	{"nodes.tf", nil, (*module).nodes},
	{"outputs.tf", nil, (*module).outputs},
	{"provider.tf", nil, (*module).provider},
	{"secrets.tf", nil, (*module).secrets},
	{"security.tf", nil, (*module).security},
	{"variables.tf", nil, (*module).variables},
	{"versions.tf", nil, (*module).versions},
}

// Files returns the Terraform root module of c, sorted by path: the .tf files at the top of the
// deploy tree. It returns nothing for targets other than model.TargetYandex. The module reads
// each node's user-data from nodes/<node>/user-data.yaml, which package emit writes.
func Files(c *model.Cluster) ([]artifact.File, error) {
	if c.Target != model.TargetYandex {
		return nil, nil
	}
	m, err := newModule(c)
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	var out []artifact.File
	for _, g := range generators {
		if g.want != nil && !g.want(c) {
			continue
		}
		f := hclwrite.NewEmptyFile()
		if err := g.gen(m, f.Body()); err != nil {
			return nil, fmt.Errorf("terraform: %s: %w", g.path, err)
		}
		out = append(out, artifact.File{Path: g.path, Mode: 0o644, Bytes: tfwrite.Render(f)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// module is the cluster with the names its resources get, checked once for every file.
type module struct {
	c *model.Cluster
	// subnets by zone, for the nodes' interfaces.
	subnets map[string]model.Subnet
}

func newModule(c *model.Cluster) (*module, error) {
	m := &module{c: c, subnets: map[string]model.Subnet{}}
	if len(c.Nodes) == 0 {
		return nil, fmt.Errorf("cluster %q has no nodes", c.Name)
	}
	for _, s := range c.Network.Subnets {
		if err := tfwrite.CheckIdent("subnet zone", s.Zone); err != nil {
			return nil, err
		}
		if !s.CIDR.Addr().Is4() {
			return nil, fmt.Errorf("subnet %s: %s is not an IPv4 network", s.Zone, s.CIDR)
		}
		m.subnets[s.Zone] = s
	}
	vms := []struct{ name, zone string }{}
	for _, n := range c.Nodes {
		vms = append(vms, struct{ name, zone string }{n.Name, n.Zone})
	}
	if lg := c.LoadGenerator; lg != nil {
		vms = append(vms, struct{ name, zone string }{lg.Name, lg.Zone})
	}
	for _, vm := range vms {
		if err := tfwrite.CheckIdent("VM name", vm.name); err != nil {
			return nil, err
		}
		if _, ok := m.subnets[vm.zone]; !ok {
			return nil, fmt.Errorf("VM %s: no subnet in its zone %s", vm.name, vm.zone)
		}
	}
	if lb := c.LoadBalancer; lb != nil {
		switch lb.Type {
		case "internal":
			if _, ok := m.subnets[lb.Zone]; !ok {
				return nil, fmt.Errorf("internal load balancer: no subnet in its zone %q", lb.Zone)
			}
		case "external":
		default:
			return nil, fmt.Errorf("load balancer type %q is neither internal nor external", lb.Type)
		}
	}
	// Every cloud name, so that an overlong one fails here rather than at apply.
	names := []string{m.name(), m.name(nodesSGName), m.name(loadgenSGName), m.name(targetGroupName), m.name(loadBalancerName)}
	for _, s := range c.Network.Subnets {
		names = append(names, m.name(s.Zone))
	}
	for _, vm := range vms {
		names = append(names, m.name(vm.name))
	}
	for _, n := range names {
		if len(n) > maxNameLen {
			return nil, fmt.Errorf("resource name %q is longer than Yandex Cloud's %d characters", n, maxNameLen)
		}
	}
	return m, nil
}

// name is the cloud name of one of the cluster's resources: the cluster's name, then parts,
// joined by dashes, so that clusters sharing a folder do not collide.
func (m *module) name(parts ...string) string {
	n := m.c.Name
	for _, p := range parts {
		n += "-" + p
	}
	return n
}

// labels are the Yandex Cloud labels of one of the cluster's resources, plus extra key-value
// pairs.
func (m *module) labels(extra ...string) hclwrite.Tokens {
	return labels(append([]string{"cluster", m.c.Name, "managed-by", "pghac"}, extra...)...)
}

func (m *module) networkID() hclwrite.Tokens {
	return tfwrite.ResourceRef(typeNetwork, networkName, "id")
}

func (m *module) subnetID(zone string) hclwrite.Tokens {
	return tfwrite.ResourceRef(typeSubnet, zone, "id")
}

func (m *module) sgID(name string) hclwrite.Tokens {
	return tfwrite.ResourceRef(typeSecurityGroup, name, "id")
}

// firstInterface refers to attribute attr of the first network interface of VM name.
func (m *module) firstInterface(name, attr string) hclwrite.Tokens {
	return tfwrite.ResourceRef(typeInstance, name, "network_interface", 0, attr)
}
