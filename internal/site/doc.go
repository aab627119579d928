// Package site is a target's local state on the operator's machine: the git-ignored state
// folder beside the cluster file (.pghac/<target>/), what lives in it (Terraform's working
// directory, the offline plan's folder, the secrets var file, the pgpass file, the sandbox's
// var files and provisioner logs), and the fingerprint that ties a saved plan to the cluster
// file and generated tree it was made from. One Site type serves the yandex and sandbox
// targets alike; the CLI resolves flags into a Site and asks it for paths, never joins them
// itself.
package site
