package compiler

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// CompileSource runs the two phases on a file's bytes: schema.Decode, then, only if decoding
// found no error, Compile. It returns the decoded file even on error, so that the caller can
// print diagnostics with source snippets (File.Files()).
func CompileSource(src []byte, filename string, target model.Target) (*schema.File, *model.Cluster, hcl.Diagnostics) {
	f, diags := schema.Decode(src, filename)
	if diags.HasErrors() {
		return f, nil, diags
	}
	c, more := Compile(f, target)
	return f, c, append(diags, more...)
}
