// Package sandboxtf emits the Terraform root module of the sandbox target: the .tf files at the
// top of deploy/sandbox/. It uses only Terraform's built-in terraform_data resource, so that
// `terraform init` needs no provider download: one resource for the host's network and one per
// node, whose local-exec provisioners run `pghac __sandbox ...` (net-up, machine-up, and at
// destroy machine-down, net-down) to start and stop the machines.
//
// Each node's user-data is the very file the cloud gets (nodes/<node>/user-data.yaml, emitted
// by package emit), rendered by templatefile() with the backend's location only (the secrets'
// placeholders stay, for the machine to fill in from the sandbox's Lockbox, as in the cloud)
// and handed to machine-up in its environment, with the metadata attributes that name that
// secret. Paths of the build machine (the pghac binary, the state and cache folders) come in as
// variables, so the module is the same on every machine.
package sandboxtf
