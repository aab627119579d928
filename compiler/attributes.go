package compiler

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Attribute values read the same way in several blocks: an optional value and its default,
// a count, a duration.

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// orRange picks the attribute's range when it was set, else the enclosing block's.
func orRange(r hcl.Range, set bool, fallback hcl.Range) hcl.Range {
	if set {
		return r
	}
	return fallback
}

func positive(d *diags, v *int, def int, name string, rng hcl.Range) int {
	if v == nil {
		return def
	}
	if *v < 1 {
		d.notPositive(rng, name, *v)
		return def
	}
	return *v
}

func duration(d *diags, v *string, def time.Duration, name string, rng hcl.Range, unit time.Duration) time.Duration {
	if v == nil {
		return def
	}
	dur, err := parseDuration(*v)
	if err != nil {
		d.invalidDuration(rng, name, err)
		return def
	}
	if dur%unit != 0 {
		d.durationNotWhole(rng, name, dur, unit)
		return def
	}
	return dur
}
