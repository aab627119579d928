package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// File is a decoded cluster.hcl.
type File struct {
	Filename string
	// HCL is the parsed file; it keeps the source bytes for diagnostic snippets.
	HCL *hcl.File
	// Cluster is nil when the file has no usable cluster block.
	Cluster *Cluster
}

// Files returns the parsed source files by name, as hcl.NewDiagnosticTextWriter wants them.
func (f *File) Files() map[string]*hcl.File {
	if f == nil || f.HCL == nil {
		return nil
	}
	return map[string]*hcl.File{f.Filename: f.HCL}
}

type root struct {
	Clusters []Cluster `hcl:"cluster,block"`
}

// Decode parses src (named filename in diagnostics) and decodes its cluster block. It always
// returns a non-nil File, so that the caller can render diagnostics with snippets; File.Cluster
// is nil when decoding could not produce one. Errors of one phase are all collected.
func Decode(src []byte, filename string) (*File, hcl.Diagnostics) {
	p := hclparse.NewParser()
	hf, diags := p.ParseHCL(src, filename)
	f := &File{Filename: filename, HCL: hf}
	if diags.HasErrors() {
		return f, diags
	}
	var r root
	diags = append(diags, gohcl.DecodeBody(hf.Body, nil, &r)...)
	switch {
	case len(r.Clusters) == 0:
		if !diags.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing cluster block",
				Detail:   `The file must hold one block like cluster "main" { ... } describing the cluster.`,
				Subject:  hf.Body.MissingItemRange().Ptr(),
			})
		}
		return f, diags
	case len(r.Clusters) > 1:
		for _, c := range r.Clusters[1:] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate cluster block",
				Detail: fmt.Sprintf("A file describes one cluster; cluster %q was already defined at %s. Put each cluster in its own file.",
					r.Clusters[0].Name, r.Clusters[0].DefRange),
				Subject: c.DefRange.Ptr(),
			})
		}
	}
	c := &r.Clusters[0]
	if c.Network != nil {
		c.Network.AdminCIDRs, diags = stringList(c.Network.AdminCIDRsExpr, diags)
		c.Network.ClientCIDRs, diags = stringList(c.Network.ClientCIDRsExpr, diags)
	}
	if c.Backend != nil {
		c.Backend.AllowFrom, diags = stringList(c.Backend.AllowFromExpr, diags)
	}
	if c.TLS != nil {
		c.TLS.ExtraNames, diags = stringList(c.TLS.ExtraNamesExpr, diags)
	}
	for i := range c.LoadTests {
		c.LoadTests[i].Ammo, diags = stringList(c.LoadTests[i].AmmoExpr, diags)
		c.LoadTests[i].Autostop, diags = stringList(c.LoadTests[i].AutostopExpr, diags)
	}
	f.Cluster = c
	return f, diags
}

// stringList decodes a list of strings, keeping each element's range. An absent attribute
// (gohcl's synthetic null expression) gives nil.
func stringList(expr hcl.Expression, diags hcl.Diagnostics) ([]String, hcl.Diagnostics) {
	if expr == nil {
		return nil, diags
	}
	if v, d := expr.Value(nil); !d.HasErrors() && v.IsNull() {
		return nil, diags
	}
	items, d := hcl.ExprList(expr)
	if d.HasErrors() {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid list",
			Detail:   `A list of strings is required here, like ["a", "b"].`,
			Subject:  expr.Range().Ptr(),
		})
	}
	out := make([]String, 0, len(items))
	for _, item := range items {
		var s string
		if d := gohcl.DecodeExpression(item, nil, &s); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		out = append(out, String{Value: s, Range: item.Range()})
	}
	return out, diags
}

// Value decodes an attribute of a remain body (such as postgres parameters) as a string;
// numbers and bools are accepted and written as HCL prints them.
func Value(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return "", diags
	}
	switch {
	case v.IsNull():
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value",
			Detail:   fmt.Sprintf("%s must not be null.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	case v.Type() == cty.Bool:
		if v.True() {
			return "on", nil
		}
		return "off", nil
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1), nil
	case v.Type() == cty.String:
		return v.AsString(), nil
	}
	return "", hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid value type",
		Detail:   fmt.Sprintf("%s must be a string, a number or a bool.", attr.Name),
		Subject:  attr.Expr.Range().Ptr(),
	}}
}
