package golden

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/schema"
)

// DiagWidth is the width want/diagnostics.txt is wrapped to: what `pghac validate` uses when
// stderr is not a terminal.
const DiagWidth = 80

// Build reads the cluster file at path and builds it for the yandex target, in memory. Its
// diagnostics name the file by its base name ("cluster.hcl"), as `pghac validate` run in its
// directory would, so that rendered diagnostics do not depend on where the repository is.
// See BuildSource for the results.
func Build(path string) (*artifact.Set, *schema.File, hcl.Diagnostics, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	return BuildSource(src, filepath.Base(path), model.TargetYandex)
}

// BuildSource decodes src (named filename in diagnostics), compiles it for target and, when
// that gave no error, emits it. It returns the emitted set (nil when the diagnostics have
// errors), the decoded file (for its source files), the diagnostics of both phases, and the
// emit error, which is a pghac bug.
func BuildSource(src []byte, filename string, target model.Target) (*artifact.Set, *schema.File, hcl.Diagnostics, error) {
	f, c, diags := compiler.CompileSource(src, filename, target)
	if diags.HasErrors() {
		return nil, f, diags, nil
	}
	set, err := emit.Build(c)
	return set, f, diags, err
}

// RenderDiagnostics renders diags with their source snippets as `pghac validate` prints them
// to a pipe (no colour, DiagWidth columns), ending in exactly one newline; nil when there are
// no diagnostics.
func RenderDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) ([]byte, error) {
	if len(diags) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := schema.WriteDiagnostics(&b, diags, files, DiagWidth, false); err != nil {
		return nil, err
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n'), nil
}
