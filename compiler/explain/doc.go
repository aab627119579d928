// Package explain renders a resolved cluster (compiler/model) as the YAML that
// `pghac validate --explain` prints: every value the build will use, defaults included, with
// each PostgreSQL parameter marked as derived or from cluster.hcl and secrets shown only as
// their placeholders.
//
// It reads the model only: it imports neither compiler nor schema, so what it shows is what
// the emitters get. The CLI calls Explain and prints the bytes.
package explain
