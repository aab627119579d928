// Package golden is the end-to-end test of pghac: every case under testdata/ (and the
// repository's own cluster.hcl) goes through schema.Decode, compiler.Compile and emit.Build in
// memory, and the result is compared with the committed want/ tree (for the root file:
// deploy/<target>/). Invalid cases carry their expected diagnostics as inline markers and in
// want/diagnostics.txt. Around that driver sit the determinism, secret-scan, real-validator,
// fuzz and benchmark tests. `go test ./golden -update` (make golden) rewrites want/ trees.
//
// The non-test code is only the in-memory pipeline the tests share.
package golden
