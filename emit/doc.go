// Package emit turns a compiled cluster into its deploy tree: Build runs a fixed, ordered list
// of emitter families (one package each under emit/) and self-checks what they produced.
//
// Per node, each family returns its artifact.NodePart: the files cloud-init writes there and
// its boot lines. Build puts each file into the tree on its own (nodes/<node>/files/<path on
// the node>, for a readable golden diff) and has cloudinit pack all parts, in family order,
// into the node's user-data (nodes/<node>/user-data.yaml). Families import no other family:
// what one needs of another (the etcd3 fix that systemd's Patroni drop-in re-runs, the
// load-test bundle the load generator carries) is wired here. The model is already valid when
// it gets here, so every error from this package is a pghac bug, an *Error naming the family
// and the artifact.
package emit
