// Package emit turns a compiled cluster into its deploy tree: Build runs a fixed, ordered list
// of emitter families (one package each under emit/) and self-checks what they produced.
//
// Per node, each family returns the files cloud-init writes there; Build puts each one into the
// tree on its own (nodes/<node>/files/<path on the node>, for a readable golden diff) and packs
// all of them into the node's user-data (nodes/<node>/user-data.yaml). The model is already
// valid when it gets here, so every error from this package is a pghac bug, an *Error naming
// the family and the artifact.
package emit
