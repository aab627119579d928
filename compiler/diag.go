package compiler

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// diags collects the diagnostics of one compilation. Its methods in messages.go are the
// diagnostics the compiler reports; errorf and warnf are what they are built on.
type diags struct{ hcl.Diagnostics }

func (d *diags) errorf(rng hcl.Range, summary, detail string, args ...any) {
	d.add(hcl.DiagError, rng, summary, detail, args...)
}

func (d *diags) warnf(rng hcl.Range, summary, detail string, args ...any) {
	d.add(hcl.DiagWarning, rng, summary, detail, args...)
}

func (d *diags) add(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detail string, args ...any) {
	// A default shared by every node (say, the cluster's vm block) fails once per node; say it once.
	for _, old := range d.Diagnostics {
		if old.Summary == summary && old.Subject != nil && *old.Subject == rng {
			return
		}
	}
	d.Diagnostics = append(d.Diagnostics, &hcl.Diagnostic{
		Severity: sev,
		Summary:  summary,
		Detail:   fmt.Sprintf(detail, args...),
		Subject:  rng.Ptr(),
	})
}

// at formats a range the way Detail texts cite "the first" of a duplicate: file:line.
func at(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }

// firstSeen remembers where each name of a kind of block was declared first, so that a
// duplicate is reported at the second site and cites the first.
type firstSeen map[string]hcl.Range

// again reports whether name was declared before, and where; if it was not, rng becomes its
// first declaration.
func (s firstSeen) again(name string, rng hcl.Range) (first hcl.Range, dup bool) {
	if first, dup = s[name]; !dup {
		s[name] = rng
	}
	return first, dup
}
