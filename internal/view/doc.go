// Package view renders what pghac's commands print: Terraform plans and their data-loss
// warnings, changes to the generated tree, the cluster's status table and connection
// settings. Each function writes to an io.Writer; the CLI decides where and whether in
// colour. Nothing here reads files the caller did not name, or decides an exit code.
package view
