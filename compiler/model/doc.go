// Package model holds the resolved cluster: what compiler.Compile produces and what every emitter
// and runtime package reads.
//
// A model is fully defaulted and validated: emitters never re-check it and never see the HCL.
// Collections are sorted slices (never maps) so that ranging over them is deterministic, and each
// entity keeps the source range it came from (DeclRange) so that late checks can still point at
// the user's line. The package imports nothing of pghac.
package model
