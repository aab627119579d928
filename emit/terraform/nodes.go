package terraform

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/tfwrite"
)

// loadgenUserDataPath is where package emit writes the load generator's user-data
// (cloudinit.LoadGeneratorUserDataPath, repeated: families import no other family).
const loadgenUserDataPath = "loadgen/user-data.yaml"

// vmSpec is one VM of the module.
type vmSpec struct {
	name, zone string
	address    netip.Addr
	vm         model.VM
	role       string // its "role" label
	sg         string // its security group resource
	// userData is the file() call of its user-data; nil for none.
	userData hclwrite.Tokens
	// secrets: the VM runs as the nodes' service account, and its metadata names the Lockbox
	// secret its user-data's placeholders are filled in from.
	secrets bool
	// download: the local build the VM downloads at boot (artifacts.tf), nil for none.
	download *upload
}

// nodes writes nodes.tf: the image, the locals every VM shares, and one VM per node.
func (m *module) nodes(b *hclwrite.Body) error {
	img := tfwrite.Block(b, []string{
		"The newest image of the family when a VM is created. A VM keeps the image it was created",
		"from: see ignore_changes in its lifecycle block.",
	}, "data", typeImage, imageName)
	img.SetAttributeValue("family", cty.StringVal(m.c.OS.ImageFamily))

	locals := tfwrite.Block(b, nil, "locals")
	tfwrite.Comment(locals, "Every VM's SSH keys, as Yandex Cloud's images read them: pghac's operator key, with which",
		"it rolls changes out to the nodes, and var.ssh_public_key when given.")
	userKey := func(key hclwrite.Tokens) hclwrite.Tokens {
		return tfwrite.Template(tfwrite.Ref("var", varSSHUser), ":", tfwrite.Call("trimspace", key))
	}
	locals.SetAttributeRaw(localSSHMetadata, tfwrite.Object(tfwrite.Item{Key: "ssh-keys", Value: tfwrite.Call("join", tfwrite.Str("\n"),
		tfwrite.Call("compact", tfwrite.Tuple(
			userKey(tfwrite.Ref("var", model.OperatorKeyVar)),
			conditional(binary(tfwrite.Ref("var", varSSHPublicKey), hclsyntax.TokenEqualOp, "==", tfwrite.Str("")),
				tfwrite.Str(""), userKey(tfwrite.Ref("var", varSSHPublicKey))),
		)))}))

	download := findUpload(m.c, backendArtifactName)
	if download != nil {
		tfwrite.Comment(locals, "The variables of every node's user-data template: where the backend binary is in the",
			"artifacts bucket, and its checksum. The secrets stay placeholders, which the node fills in",
			"from Lockbox.")
		locals.SetAttributeRaw(tfwrite.LocalTemplateVars, tfwrite.TemplateVars(m.c, artifactVars(*download)...))
	}
	for _, n := range m.c.Nodes {
		ud := tfwrite.UserData(n.Name)
		if download != nil {
			ud = tfwrite.UserDataTemplate(n.Name)
		}
		err := m.instance(b, vmSpec{name: n.Name, zone: n.Zone, address: n.Address, vm: n.VM,
			role: model.RoleDatabase, sg: nodesSGName, userData: ud, secrets: true, download: download})
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

// loadgen writes loadgen.tf: the load generator's VM.
func (m *module) loadgen(b *hclwrite.Body) error {
	lg := m.c.LoadGenerator
	path := tfwrite.Template(tfwrite.Ref("path", "module"), "/"+loadgenUserDataPath)
	// No secrets in it: file(), or templatefile() for where its pghac is.
	ud := tfwrite.Call("file", path)
	download := findUpload(m.c, pghacArtifactName)
	if download != nil {
		ud = tfwrite.Call("templatefile", path, tfwrite.Object(artifactVars(*download)...))
	}
	return m.instance(b, vmSpec{name: lg.Name, zone: lg.Zone, address: lg.Address, vm: lg.VM,
		role: "load-generator", sg: loadgenSGName, userData: ud, download: download})
}

// OutputBastionAddress is the output holding the bastion's public address: pghac's jump host.
const OutputBastionAddress = "bastion_public_address"

// bastion writes bastion.tf: the VM pghac and the administrators reach the nodes through. It
// runs the image as it is (no user-data): an SSH server that forwards connections, which
// admits the same keys as the nodes.
func (m *module) bastion(b *hclwrite.Body) error {
	bs := m.c.Bastion
	if err := m.instance(b, vmSpec{name: bs.Name, zone: bs.Zone, address: bs.Address, vm: bs.VM,
		role: "bastion", sg: bastionSGName}); err != nil {
		return err
	}
	o := tfwrite.Block(b, nil, "output", OutputBastionAddress)
	o.SetAttributeValue("description", cty.StringVal("Public address of the bastion: pghac's jump host, and the administrators' way in (SSH)."))
	o.SetAttributeRaw("value", m.firstInterface(bs.Name, "nat_ip_address"))
	return nil
}

// instance appends the yandex_compute_instance of s.
func (m *module) instance(b *hclwrite.Body, s vmSpec) error {
	if !s.address.Is4() {
		return fmt.Errorf("address %s is not IPv4", s.address)
	}
	if s.vm.Platform == "" || s.vm.Cores < 1 || s.vm.MemoryGB <= 0 || s.vm.DiskSizeGB < 1 || s.vm.DiskType == "" {
		return fmt.Errorf("incomplete VM shape %+v", s.vm)
	}
	r := tfwrite.Block(b, nil, "resource", typeInstance, s.name)
	r.SetAttributeValue("name", cty.StringVal(m.name(s.name)))
	r.SetAttributeValue("hostname", cty.StringVal(s.name))
	r.SetAttributeValue("zone", cty.StringVal(s.zone))
	// Always explicit: the provider's default, standard-v1, does not exist in every zone.
	r.SetAttributeValue("platform_id", cty.StringVal(s.vm.Platform))
	r.SetAttributeRaw("labels", m.labels("node", s.name, "role", s.role))
	tfwrite.Comment(r, "Changing resources, platform or preemptibility needs the VM stopped; without this, apply fails.")
	r.SetAttributeValue("allow_stopping_for_update", cty.True)
	metadata := tfwrite.Ref("local", localSSHMetadata)
	if s.userData != nil {
		r.AppendNewline()
		then := "a VM's first boot only: a running node keeps the configuration it was created with."
		if s.role == model.RoleDatabase {
			then = "a VM's first boot only: pghac plan shows what changes on the running node, and pghac apply rolls it out over SSH."
		}
		tfwrite.Comment(r, "A change of user-data updates the metadata in place, but cloud-init applies user-data on", then)
		items := []tfwrite.Item{{Key: "user-data", Value: s.userData}}
		if s.secrets {
			tfwrite.Comment(r, "The user-data holds no secret, only placeholders: at its first boot the node fills them in",
				"from the Lockbox secret these attributes name, read as the VM's service account.")
			items = append(items,
				tfwrite.Item{Key: model.MetadataSecretID, Value: tfwrite.ResourceRef(typeLockboxSecret, secretsName, "id")},
				tfwrite.Item{Key: model.MetadataPayloadEndpoint, Value: tfwrite.Str(model.YandexLockboxPayloadEndpoint)})
		}
		metadata = tfwrite.Call("merge", metadata, tfwrite.Object(items...))
	}
	r.SetAttributeRaw("metadata", metadata)
	var deps []hclwrite.Tokens
	var why []string
	switch {
	case s.secrets:
		r.SetAttributeRaw("service_account_id", tfwrite.ResourceRef(typeServiceAccount, nodesAccountName, "id"))
		why = append(why, "the secret")
		deps = append(deps, tfwrite.Ref(typeLockboxSecretIAMMember, nodesAccountName), tfwrite.Ref(typeKMSKeyIAMMember, nodesAccountName))
	case s.download != nil:
		r.SetAttributeRaw("service_account_id", tfwrite.ResourceRef(typeServiceAccount, s.download.account, "id"))
	}
	if s.download != nil {
		why = append(why, "its "+s.download.name+" binary")
		deps = append(deps, artifactDeps(*s.download)...)
	}
	if len(deps) > 0 {
		tfwrite.Comment(r, fmt.Sprintf("The account may read %s before the VM boots and asks for it.", strings.Join(why, " and ")))
		r.SetAttributeRaw("depends_on", tfwrite.Tuple(deps...))
	}

	res := tfwrite.Block(r, nil, "resources")
	res.SetAttributeRaw("cores", tfwrite.Num(s.vm.Cores))
	res.SetAttributeValue("memory", cty.NumberFloatVal(s.vm.MemoryGB))
	res.SetAttributeRaw("core_fraction", tfwrite.Num(s.vm.CoreFraction))

	init := tfwrite.Block(tfwrite.Block(r, nil, "boot_disk"), nil, "initialize_params")
	init.SetAttributeRaw("image_id", tfwrite.Ref("data", typeImage, imageName, "id"))
	init.SetAttributeRaw("size", tfwrite.Num(s.vm.DiskSizeGB))
	init.SetAttributeValue("type", cty.StringVal(s.vm.DiskType))

	ni := tfwrite.Block(r, nil, "network_interface")
	ni.SetAttributeRaw("subnet_id", m.subnetID(s.zone))
	ni.SetAttributeValue("ip_address", cty.StringVal(s.address.String()))
	ni.SetAttributeValue("nat", cty.BoolVal(s.vm.PublicIP))
	ni.SetAttributeRaw("security_group_ids", tfwrite.Tuple(m.sgID(s.sg)))

	tfwrite.Block(r, nil, "scheduling_policy").SetAttributeValue("preemptible", cty.BoolVal(s.vm.Preemptible))

	lc := tfwrite.Block(r, nil, "lifecycle")
	tfwrite.Comment(lc,
		"A newer image published in the family must not replace the VM (and its disk): the boot",
		"disk's image is fixed at creation.")
	lc.SetAttributeRaw("ignore_changes", tfwrite.Tuple(tfwrite.Ref("boot_disk", 0, "initialize_params", 0, "image_id")))
	return nil
}

// conditional is cond ? a : b.
func conditional(cond, a, b hclwrite.Tokens) hclwrite.Tokens {
	out := append(hclwrite.Tokens{}, cond...)
	out = append(out, &hclwrite.Token{Type: hclsyntax.TokenQuestion, Bytes: []byte("?")})
	out = append(out, a...)
	out = append(out, &hclwrite.Token{Type: hclsyntax.TokenColon, Bytes: []byte(":")})
	return append(out, b...)
}

// binary is x op y, op being a token of type typ.
func binary(x hclwrite.Tokens, typ hclsyntax.TokenType, op string, y hclwrite.Tokens) hclwrite.Tokens {
	out := append(hclwrite.Tokens{}, x...)
	out = append(out, &hclwrite.Token{Type: typ, Bytes: []byte(op)})
	return append(out, y...)
}

func emptyObject() hclwrite.Tokens {
	return hclwrite.Tokens{
		{Type: hclsyntax.TokenOBrace, Bytes: []byte("{")},
		{Type: hclsyntax.TokenCBrace, Bytes: []byte("}")},
	}
}
