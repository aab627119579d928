// Package provision runs a target's Terraform below the CLI: which var files a run gets
// (the site's secrets, the sandbox's paths and backend location) and which of their values
// infra must keep out of messages; the offline plan's stand-in provider and fake variables;
// and the sandbox's lifecycle around its Terraform: the reset of a state whose machines no
// longer run, the teardown that leaves nothing behind, and the logs that explain a failed
// provisioner or node. The CLI decides the order and prints; infra runs Terraform;
// internal/sandbox runs the machines.
package provision
