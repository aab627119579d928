package compiler

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/schema"
)

// Compile resolves f for target. (STUB: returns the modeltest cluster until the compiler lands.)
func Compile(f *schema.File, target model.Target) (*model.Cluster, hcl.Diagnostics) {
	return modeltest.Cluster(), nil
}
