// Package cloudinit emits a node's user-data: the #cloud-config document that installs the
// cluster's packages, writes every config file the other emitters made for the node, and
// enables the services in dependency order (etcd, Patroni, PgBouncer, HAProxy).
//
// The same document runs on Yandex Cloud and in the local nspawn sandbox, and Terraform's
// templatefile() renders it to fill in secrets, so it holds no literal "${" of its own.
package cloudinit
