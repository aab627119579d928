package sandboxtf

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/tfwrite"
)

// RequiredVersion: terraform_data exists since Terraform 1.4; pghac drives 1.5 and later.
const RequiredVersion = ">= 1.5"

// Variables the module declares. Their values are absolute paths of
// the machine pghac runs on; `pghac up` writes them into a var file.
const (
	VarPghac    = "pghac"     // the pghac binary the provisioners run
	VarStateDir = "state_dir" // .pghac/sandbox: the machines' writable layers, pids, logs
	VarCacheDir = "cache_dir" // the cached base roots, shared by every checkout
)

// Command is the hidden pghac subcommand the provisioners run, and its actions. Each action
// takes the object it acts on (the bridge or the machine) as its last argument.
const (
	Command     = "__sandbox"
	NetUp       = "net-up"
	NetDown     = "net-down"
	MachineUp   = "machine-up"
	MachineDown = "machine-down"
)

// EnvUserData is the environment variable that carries a node's user-data to machine-up: it
// is larger than a command line should be. It holds no secret, only their placeholders.
const EnvUserData = "PGHAC_USER_DATA"

// EnvMetadata carries the metadata attributes machine-up registers for the machine with the
// sandbox's metadata service (a JSON object), as the cloud's VM metadata holds them: which
// Lockbox secret the node fills its user-data's placeholders in from, and where.
const EnvMetadata = "PGHAC_METADATA"

// EnvSSHKeys carries the public keys machine-up gives a machine as metadata, as the cloud's
// metadata does: the operator key pghac logs in with.
const EnvSSHKeys = "PGHAC_SSH_KEYS"

// Flags of Command, as the provisioners pass them.
const (
	FlagStateDir = "--state-dir"
	FlagCacheDir = "--cache-dir"
	FlagBridge   = "--bridge"
	FlagCIDR     = "--cidr"
	FlagPackages = "--packages"
	FlagAddress  = "--address"
)

// networkName is the terraform_data resource of the host's network. Node names are checked
// not to take it.
const networkName = "network"

// localUserData names the local holding every node's rendered user-data by node name, and
// localMetadata the machines' metadata attributes (EnvMetadata).
const (
	localUserData = "user_data"
	localMetadata = "metadata"
)

// SandboxLockboxEndpoint is the base URL of the sandbox's stand-in for Lockbox's APIs, on the
// host's bridge address: both the API and the payload endpoint of the cloud.
func SandboxLockboxEndpoint(c *model.Cluster) string {
	return fmt.Sprintf("https://%s", netip.AddrPortFrom(c.Sandbox.HostAddress, model.SandboxLockboxPort))
}

// generator writes one .tf file into an empty body.
type generator struct {
	path string
	gen  func(c *model.Cluster, b *hclwrite.Body) error
}

// generators are in path order.
var generators = []generator{
	{"machines.tf", machines},
	{"outputs.tf", outputs},
	{"variables.tf", variables},
	{"versions.tf", versions},
}

// Files returns the sandbox's Terraform root module, sorted by path. It returns nothing for
// targets other than model.TargetSandbox.
func Files(c *model.Cluster) ([]artifact.File, error) {
	if c.Target != model.TargetSandbox {
		return nil, nil
	}
	if err := check(c); err != nil {
		return nil, fmt.Errorf("sandboxtf: %w", err)
	}
	var out []artifact.File
	for _, g := range generators {
		f := hclwrite.NewEmptyFile()
		if err := g.gen(c, f.Body()); err != nil {
			return nil, fmt.Errorf("sandboxtf: %s: %w", g.path, err)
		}
		out = append(out, artifact.File{Path: g.path, Mode: 0o644, Bytes: tfwrite.Render(f)})
	}
	return out, nil
}

// check refuses a model the compiler should not have produced for the sandbox.
func check(c *model.Cluster) error {
	sb := c.Sandbox
	switch {
	case sb == nil:
		return fmt.Errorf("cluster %q has no sandbox network", c.Name)
	case !sb.CIDR.IsValid() || !sb.CIDR.Addr().Is4() || !sb.CIDR.Contains(sb.HostAddress):
		return fmt.Errorf("sandbox network %s with host address %s", sb.CIDR, sb.HostAddress)
	case sb.Bridge == "" || len(sb.Bridge) > 15:
		return fmt.Errorf("bridge name %q: want 1 to 15 characters", sb.Bridge)
	case len(c.Nodes) == 0:
		return fmt.Errorf("cluster %q has no nodes", c.Name)
	}
	for _, n := range c.Nodes {
		if err := tfwrite.CheckIdent("node name", n.Name); err != nil {
			return err
		}
		if n.Name == networkName {
			return fmt.Errorf("node name %q is the network's resource name", n.Name)
		}
		if !sb.CIDR.Contains(n.Address) || n.Address == sb.HostAddress {
			return fmt.Errorf("node %s: address %s is not a machine's address in %s", n.Name, n.Address, sb.CIDR)
		}
	}
	for _, p := range c.OS.Packages {
		if p == "" || strings.ContainsAny(p, ", ") {
			return fmt.Errorf("package name %q", p)
		}
	}
	return nil
}

// versions writes versions.tf: Terraform's version, and where the state lives.
func versions(_ *model.Cluster, b *hclwrite.Body) error {
	tf := tfwrite.Block(b, nil, "terraform")
	tf.SetAttributeValue("required_version", cty.StringVal(RequiredVersion))
	tfwrite.Block(tf, []string{
		"Only terraform_data: no provider to download. State and saved plans hold every machine's",
		"user-data as rendered, passwords included: they stay in pghac's state folder",
		"(.pghac/sandbox/terraform/, git-ignored, mode 0700). Run `pghac up` and `pghac down`, not",
		"terraform in this directory: pghac build replaces it.",
	}, "backend", "local")
	return nil
}

// variables writes variables.tf: the paths of the machine pghac runs on, the backend's
// location and the operator key. No secret is a variable: the machines read them from the
// sandbox's Lockbox, as the cloud's nodes do.
func variables(c *model.Cluster, b *hclwrite.Body) error {
	for _, v := range []struct{ name, desc string }{
		{VarPghac, "Absolute path of the pghac binary the provisioners run (pghac up passes its own)."},
		{VarStateDir, "Absolute path of the sandbox's state folder (.pghac/sandbox): the machines' writable layers, pid files and logs."},
		{VarCacheDir, "Absolute path of the folder of cached machine images, shared by every checkout."},
	} {
		vb := tfwrite.Block(b, nil, "variable", v.name)
		vb.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		vb.SetAttributeValue("description", cty.StringVal(v.desc))
		val := tfwrite.Block(vb, nil, "validation")
		val.SetAttributeRaw("condition", tfwrite.Call("startswith", tfwrite.Ref("var", v.name), tfwrite.Str("/")))
		val.SetAttributeValue("error_message", cty.StringVal("Give an absolute path: the provisioners run in a copy of this directory."))
	}
	if c.Backend != nil {
		for _, v := range []struct{ name, desc string }{
			{model.BackendURLVar, "URL on the host's bridge address where the machines download the backend binary (pghac up serves it there)."},
			{model.BackendSHA256Var, "SHA-256 of the backend binary pghac up serves; a machine refuses any other."},
		} {
			vb := tfwrite.Block(b, nil, "variable", v.name)
			vb.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
			vb.SetAttributeValue("description", cty.StringVal(v.desc))
			// pghac down destroys without serving anything.
			vb.SetAttributeValue("default", cty.StringVal(""))
		}
	}
	vb := tfwrite.Block(b, nil, "variable", model.OperatorKeyVar)
	vb.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
	vb.SetAttributeValue("description", cty.StringVal("Public half of pghac's operator key (one line), which the machines authorize as the cloud's do; pghac up writes it."))
	vb.SetAttributeValue("default", cty.StringVal("")) // pghac down needs none
	return nil
}

// machines writes machines.tf: the locals, the network, and one machine per node.
func machines(c *model.Cluster, b *hclwrite.Body) error {
	sb := c.Sandbox
	locals := tfwrite.Block(b, nil, "locals")
	var extra []tfwrite.Item
	if c.Backend != nil {
		tfwrite.Comment(locals, "The variables of every node's user-data template: where the backend binary pghac up serves")
		tfwrite.Comment(locals, "is. The secrets stay placeholders, which the node fills in from the sandbox's Lockbox.")
		for _, v := range []string{model.BackendURLVar, model.BackendSHA256Var} {
			extra = append(extra, tfwrite.Item{Key: v, Value: tfwrite.Ref("var", v)})
		}
	} else {
		tfwrite.Comment(locals, "The variables of every node's user-data template: none but the secrets, which stay")
		tfwrite.Comment(locals, "placeholders for the node to fill in from the sandbox's Lockbox.")
	}
	locals.SetAttributeRaw(tfwrite.LocalTemplateVars, tfwrite.TemplateVars(c, extra...))
	tfwrite.Comment(locals, "Every node's user-data as its machine gets it: the same file as in the cloud.")
	var uds []tfwrite.Item
	for _, n := range c.Nodes {
		uds = append(uds, tfwrite.Item{Key: n.Name, Value: tfwrite.UserDataTemplate(n.Name)})
	}
	locals.SetAttributeRaw(localUserData, tfwrite.Object(uds...))
	tfwrite.Comment(locals, "Every machine's metadata attributes, as the cloud's VMs have them: the Lockbox secret of the",
		"cluster's secrets, on the sandbox's stand-in for Lockbox.")
	locals.SetAttributeRaw(localMetadata, tfwrite.Call("jsonencode", tfwrite.Object(
		tfwrite.Item{Key: model.MetadataSecretID, Value: tfwrite.Str(model.SandboxSecretID(c.Name))},
		tfwrite.Item{Key: model.MetadataPayloadEndpoint, Value: tfwrite.Str(SandboxLockboxEndpoint(c))},
	)))

	// What every action needs to find the sandbox, as flags (self.input for destroy-time
	// provisioners, which may refer to nothing else).
	common := func(pghac, stateDir, cacheDir hclwrite.Tokens) []hclwrite.Tokens {
		return []hclwrite.Tokens{
			pghac, tfwrite.Str(Command),
			tfwrite.Str(FlagStateDir), stateDir,
			tfwrite.Str(FlagCacheDir), cacheDir,
			tfwrite.Str(FlagBridge), tfwrite.Str(sb.Bridge),
			tfwrite.Str(FlagCIDR), tfwrite.Str(sb.CIDR.String()),
		}
	}
	fromVars := common(tfwrite.Ref("var", VarPghac), tfwrite.Ref("var", VarStateDir), tfwrite.Ref("var", VarCacheDir))
	fromSelf := common(tfwrite.Ref("self", "input", VarPghac), tfwrite.Ref("self", "input", VarStateDir), tfwrite.Ref("self", "input", VarCacheDir))
	input := tfwrite.Object(
		tfwrite.Item{Key: VarPghac, Value: tfwrite.Ref("var", VarPghac)},
		tfwrite.Item{Key: VarStateDir, Value: tfwrite.Ref("var", VarStateDir)},
		tfwrite.Item{Key: VarCacheDir, Value: tfwrite.Ref("var", VarCacheDir)},
	)
	packages := tfwrite.Str(strings.Join(c.OS.Packages, ","))

	net := tfwrite.Block(b, []string{
		fmt.Sprintf("The host's bridge %s (%s on %s) and the apt proxy the machines install", sb.Bridge, sb.HostAddress, sb.CIDR),
		"packages through. input holds what the destroy-time provisioners need (they may refer to",
		"self only); a change of it updates in place. A change of triggers_replace replaces it.",
	}, "resource", "terraform_data", networkName)
	net.SetAttributeRaw("input", input)
	net.SetAttributeRaw("triggers_replace", tfwrite.Object(
		tfwrite.Item{Key: "bridge", Value: tfwrite.Str(sb.Bridge)},
		tfwrite.Item{Key: "cidr", Value: tfwrite.Str(sb.CIDR.String())},
	))
	localExec(net, nil, slices.Concat(fromVars, []hclwrite.Tokens{tfwrite.Str(FlagPackages), packages, tfwrite.Str(NetUp)}), sb.Bridge, nil, false)
	localExec(net, nil, slices.Concat(fromSelf, []hclwrite.Tokens{tfwrite.Str(NetDown)}), sb.Bridge, nil, true)

	for _, n := range c.Nodes {
		m := tfwrite.Block(b, []string{
			fmt.Sprintf("Machine %s at %s, booted from the cached Debian root; cloud-init configures it from", n.Name, n.Address),
			"the user-data on its first boot, as in the cloud. A new user-data does not replace it:",
			"pghac up rolls the change out to the running machine, as pghac apply does in the cloud.",
			"A new address replaces it.",
		}, "resource", "terraform_data", n.Name)
		m.SetAttributeRaw("depends_on", tfwrite.Tuple(tfwrite.Ref("terraform_data", networkName)))
		m.SetAttributeRaw("input", input)
		m.SetAttributeRaw("triggers_replace", tfwrite.Object(
			tfwrite.Item{Key: "address", Value: tfwrite.Str(n.Address.String())},
		))
		localExec(m, []string{
			"The user-data goes in the environment: it is too large for a command line.",
			"machine-up also logs to the state folder.",
		}, slices.Concat(fromVars, []hclwrite.Tokens{tfwrite.Str(FlagPackages), packages, tfwrite.Str(FlagAddress), tfwrite.Str(n.Address.String()), tfwrite.Str(MachineUp)}),
			n.Name, tfwrite.Object(
				tfwrite.Item{Key: EnvUserData, Value: tfwrite.Ref("local", localUserData, n.Name)},
				tfwrite.Item{Key: EnvSSHKeys, Value: tfwrite.Ref("var", model.OperatorKeyVar)},
				tfwrite.Item{Key: EnvMetadata, Value: tfwrite.Ref("local", localMetadata)},
			), false)
		localExec(m, nil, slices.Concat(fromSelf, []hclwrite.Tokens{tfwrite.Str(MachineDown)}), n.Name, nil, true)
	}
	return nil
}

// localExec appends a local-exec provisioner that runs argv followed by object, without a
// shell: local-exec runs its interpreter with the command as the last argument, so no path
// or value is ever parsed by a shell.
func localExec(b *hclwrite.Body, comments []string, argv []hclwrite.Tokens, object string, env hclwrite.Tokens, destroy bool) {
	p := tfwrite.Block(b, comments, "provisioner", "local-exec")
	if destroy {
		p.SetAttributeRaw("when", hclwrite.TokensForIdentifier("destroy"))
	}
	p.SetAttributeRaw("interpreter", tfwrite.Tuple(argv...))
	p.SetAttributeValue("command", cty.StringVal(object))
	if env != nil {
		p.SetAttributeRaw("environment", env)
	}
}

// outputs writes outputs.tf: where the nodes are.
func outputs(c *model.Cluster, b *hclwrite.Body) error {
	var addrs []tfwrite.Item
	for _, n := range c.Nodes {
		addrs = append(addrs, tfwrite.Item{Key: n.Name, Value: tfwrite.Str(n.Address.String())})
	}
	o := tfwrite.Block(b, nil, "output", "node_addresses")
	o.SetAttributeValue("description", cty.StringVal("Address of every node's machine on the sandbox network."))
	o.SetAttributeRaw("value", tfwrite.Object(addrs...))
	o = tfwrite.Block(b, nil, "output", "host_address")
	o.SetAttributeValue("description", cty.StringVal("The host's address on the sandbox network (the bridge)."))
	o.SetAttributeValue("value", cty.StringVal(c.Sandbox.HostAddress.String()))
	return nil
}
