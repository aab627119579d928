package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// Variable is an input variable a root module declares.
type Variable struct {
	Name      string
	Required  bool // no default: a value must come from a var file
	Sensitive bool
}

var variableSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "variable", LabelNames: []string{"name"}}}}

var variableBodySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "sensitive"}}}

// Variables lists the variables declared by the .tf files directly in dir, sorted by name.
func Variables(dir string) ([]Variable, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	p := hclparse.NewParser()
	var vars []Variable
	for _, name := range names {
		f, diags := p.ParseHCLFile(name)
		if diags.HasErrors() {
			return nil, diags
		}
		content, _, diags := f.Body.PartialContent(variableSchema)
		if diags.HasErrors() {
			return nil, diags
		}
		for _, b := range content.Blocks {
			attrs, _, diags := b.Body.PartialContent(variableBodySchema)
			if diags.HasErrors() {
				return nil, diags
			}
			v := Variable{Name: b.Labels[0], Required: attrs.Attributes["default"] == nil}
			if a := attrs.Attributes["sensitive"]; a != nil {
				val, diags := a.Expr.Value(nil)
				v.Sensitive = !diags.HasErrors() && val.Type() == cty.Bool && val.IsKnown() && val.True()
			}
			vars = append(vars, v)
		}
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	return vars, nil
}

// StringVars reads a Terraform var file (.tfvars in HCL, or .tfvars.json) and returns its
// variables that have string values. Callers use it to learn which values to keep out of
// output; it does not evaluate anything beyond literals.
func StringVars(path string) (map[string]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = p.ParseJSON(src, path)
	} else {
		f, diags = p.ParseHCL(src, path)
	}
	if diags.HasErrors() {
		// The diagnostics quote source lines, which may hold secrets: say where only.
		return nil, fmt.Errorf("%s: not a valid var file", path)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: not a valid var file (only name = value lines)", path)
	}
	out := map[string]string{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			continue
		}
		out[name] = v.AsString()
	}
	return out, nil
}
