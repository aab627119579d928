// Package schema is the HCL surface of cluster.hcl: gohcl-tagged structs that mirror the file,
// and Decode, which parses and decodes it.
//
// It checks syntax and types only (unknown blocks and attributes, wrong value types, a missing
// cluster block). Defaults, cross-block rules and derived values belong to package compiler.
// Optional attributes are pointers so that "unset" differs from "zero", and every attribute
// keeps the range of its value so that later diagnostics can point at it.
package schema
