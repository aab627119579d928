// Package infra drives Terraform (or OpenTofu) through terraform-exec over one generated
// directory: stage a copy of it, init, validate, plan to a saved file, show that plan, apply
// exactly that plan, destroy.
//
// It knows a directory, never the model: it imports neither compiler nor emit, and what it
// knows of the configuration it reads from the .tf files (Variables) or gets from its caller
// (the var files, the plan's fingerprint).
//
// Terraform never writes into the generated tree. `pghac build` replaces deploy/<target>/
// wholesale, so a Workdir keeps a staged copy of it in a directory of its own (under the
// git-ignored .pghac/ folder) next to Terraform's own files there: .terraform/, the dependency
// lock file, the local state, the saved plan and pghac's record of what that plan was made from.
//
// Secrets reach Terraform only through var files (never -var, which other processes can read
// on the command line), and the Workdir scrubs the values it is told are secret out of every
// error it returns. State and saved plans hold them in plain text all the same, so the working
// directory is created mode 0700.
package infra
