// Package cloudinit assembles user-data, the #cloud-config documents machines boot with. A
// node's installs the cluster's packages with no daemon starting meanwhile, writes the files of
// every family's artifact.NodePart and runs their boot lines, in the order package emit gives
// the families (etcd, Patroni, PgBouncer, HAProxy, the backend). The load generator's installs
// pghac and writes the load-test bundle that package emit hands in.
//
// It imports no other family: what a node runs comes from the parts, not from here. The same
// document runs on Yandex Cloud and in the local nspawn sandbox. It holds the secrets'
// placeholders ("${name}"), which its first runcmd lines fill in from Lockbox (secrets.go, after
// closing the metadata service to all but root), and the sandbox's templatefile() renders it
// for the backend's location, so it holds no literal "${" of its own.
package cloudinit
