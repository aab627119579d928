// Package provision runs a target's Terraform below the CLI: emitting the tree safely and
// syncing it to disk; opening a run (Open, OpenSaved, OpenOffline) with the var files it gets
// and the secret values infra must keep out of messages, the fingerprint a saved plan is
// checked against, the offline plan's stand-in provider and fake variables; and the
// sandbox's lifecycle around its Terraform: the provisioners' actions (Do), the reset of a
// state whose machines no longer run, the teardown that leaves nothing behind, the backend
// binary the machines download, the wait for a healthy cluster, and the logs that explain a
// failed provisioner or node. The CLI decides the order and prints; infra runs Terraform;
// internal/sandbox runs the machines.
package provision
