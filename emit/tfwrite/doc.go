// Package tfwrite builds Terraform configuration with hclwrite for pghac's Terraform emitters
// (emit/terraform for the cloud, emit/sandboxtf for the sandbox): references, string
// templates, calls, objects, commented blocks, and rendering as `terraform fmt` does under the
// generated-code header. Literal values are always quoted and escaped, so nothing from the
// model can become Terraform syntax.
//
// It also writes what both root modules declare alike, since one family does not import
// another: the sensitive variable of every secret, the local of the user-data templates'
// variables, and a node's user-data rendered with them.
package tfwrite
