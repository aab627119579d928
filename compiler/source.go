package compiler

import (
	"cmp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// CompileSource runs the two phases on a file's bytes: schema.Decode, then, only if decoding
// found no error, Compile. It returns the decoded file even on error, so that the caller can
// print diagnostics with source snippets (File.Files()). Diagnostics come in source order.
func CompileSource(src []byte, filename string, target model.Target) (*schema.File, *model.Cluster, hcl.Diagnostics) {
	f, diags := schema.Decode(src, filename)
	if diags.HasErrors() {
		return f, nil, inSourceOrder(diags)
	}
	c, more := Compile(f, target)
	return f, c, inSourceOrder(append(diags, more...))
}

// inSourceOrder returns diags sorted by where they point (those without a subject last),
// keeping the order of diagnostics at the same place. Users read them top to bottom, and the
// order must not depend on gohcl, which ranges over maps.
func inSourceOrder(diags hcl.Diagnostics) hcl.Diagnostics {
	out := slices.Clone(diags)
	slices.SortStableFunc(out, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil || b.Subject == nil:
			return cmp.Compare(boolInt(a.Subject == nil), boolInt(b.Subject == nil))
		case a.Subject.Filename != b.Subject.Filename:
			return strings.Compare(a.Subject.Filename, b.Subject.Filename)
		}
		return cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte)
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
