package tfwrite

import (
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/pghac/pghac/compiler/model"
)

// What both root modules declare alike: they hand every node the same user-data, whose secrets
// stay placeholders. The node fills them in from Lockbox at its first boot (emit/cloudinit), so
// no secret is a Terraform variable, and none reaches a plan, the state or a VM's metadata.

// LocalTemplateVars names the local holding the templatefile() variables of the sandbox's
// user-data (TemplateVars).
const LocalTemplateVars = "user_data_vars"

// TemplateVars is the object of templatefile() variables that renders a node's user-data with
// its secrets' placeholders left as they are ("$${name}" is the literal "${name}"), and the
// extra items (the sandbox's backend location) filled in.
func TemplateVars(c *model.Cluster, extra ...Item) hclwrite.Tokens {
	var items []Item
	for _, s := range c.Secrets() {
		items = append(items, Item{Key: string(s), Value: Str("${" + string(s) + "}")})
	}
	return Object(append(items, extra...)...)
}

// UserDataTemplate is node's user-data rendered with local.user_data_vars (LocalTemplateVars,
// which the module must define as TemplateVars): the template package emit writes at
// nodes/<node>/user-data.yaml.
func UserDataTemplate(node string) hclwrite.Tokens {
	return Call("templatefile", UserDataPath(node), Ref("local", LocalTemplateVars))
}

// UserData is node's user-data as package emit writes it, read as it is: a module whose
// user-data has no template variables but the secrets' placeholders uses it.
func UserData(node string) hclwrite.Tokens { return Call("file", UserDataPath(node)) }

// UserDataPath is the path of node's user-data in the module.
func UserDataPath(node string) hclwrite.Tokens {
	return Template(Ref("path", "module"), "/nodes/"+node+"/user-data.yaml")
}
