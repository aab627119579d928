// Package compiler turns a decoded cluster.hcl (package schema) into the resolved model
// (package compiler/model): it applies defaults, checks the rules that span blocks (quorum,
// subnets, ports, Patroni timings, platform limits), derives values (PostgreSQL parameters from
// the VM size, package names and paths from the image) and sorts everything.
//
// Every problem is an hcl.Diagnostic on the narrowest source range; all problems of the file
// are collected before Compile returns. The model is returned only when there is no error, and
// then it is complete: emitters never re-check it. The image, platform and zone facts live in
// one table each (images.go, platforms.go, zones.go).
//
// compile.go runs the phases in order; each block's rules live in the file named after the
// block (network.go, nodes.go, etcd.go, patroni.go, ...), and every diagnostic's text in
// messages.go.
package compiler
