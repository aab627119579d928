package golden

import (
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/schema"
)

// FuzzCompile feeds mutations of every golden cluster.hcl to the pipeline: decoding and
// compiling must never panic, every error must point into the file, and whatever the compiler
// accepts must emit without error (an emit error on accepted input is a pghac bug).
//
//	go test ./golden -run '^$' -fuzz FuzzCompile -fuzztime 50000x -fuzzminimizetime 2000x
func FuzzCompile(f *testing.F) {
	for _, c := range cases(f) {
		f.Add(c.src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := schema.Decode(src, "cluster.hcl")
		checkSubjects(t, "decode", diags)
		if diags.HasErrors() {
			return
		}
		for _, target := range model.Targets {
			c, cdiags := compiler.Compile(file, target)
			checkSubjects(t, "compile", cdiags)
			if cdiags.HasErrors() {
				continue
			}
			if c == nil {
				t.Fatalf("compile for %s: no cluster and no error", target)
			}
			if _, err := emit.Build(c); err != nil {
				t.Fatalf("emit for %s of an accepted file: %v", target, err)
			}
		}
	})
}

func checkSubjects(t *testing.T, phase string, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject == nil {
			t.Errorf("%s: error %q (%s) has no Subject", phase, d.Summary, d.Detail)
		}
	}
}
