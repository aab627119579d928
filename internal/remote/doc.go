// Package remote is how pghac reaches a node: SSH (golang.org/x/crypto/ssh) as the operator,
// with the operator key from the target's state folder, optionally through a jump host, and
// host keys pinned on first contact in the state folder's known_hosts: a node that later
// presents another key is refused. A Client runs commands, reads files and replaces them
// atomically, as root through sudo when the login user is not root. It knows nothing about
// what runs on the nodes; the rollout engine decides what to read, write and run.
package remote
