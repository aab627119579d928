package golden

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	f, diags := schema.Decode(src, filename)
	if diags.HasErrors() {
		return nil, f, diags, nil
	}
	c, cdiags := compiler.Compile(f, target)
	diags = append(diags, cdiags...)
	if diags.HasErrors() {
		return nil, f, diags, nil
	}
	set, err := emit.Build(c)
	return set, f, diags, err
}

// InSourceOrder returns diags sorted by where they point (those without a subject last),
// keeping the order of diagnostics at the same place: the order `pghac validate` prints them in,
// which must not depend on decoders that range over maps.
func InSourceOrder(diags hcl.Diagnostics) hcl.Diagnostics {
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

// RenderDiagnostics renders diags in source order with their source snippets as `pghac validate` prints them
// to a pipe (no colour, DiagWidth columns), ending in exactly one newline; nil when there are
// no diagnostics.
func RenderDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) ([]byte, error) {
	if len(diags) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := hcl.NewDiagnosticTextWriter(&b, files, DiagWidth, false).WriteDiagnostics(InSourceOrder(diags)); err != nil {
		return nil, err
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n'), nil
}
