// Package etcd emits a node's etcd member configuration: the environment file that Debian's
// etcd.service reads (EnvironmentFile=-/etc/default/etcd). Nodes that are not etcd members get
// no file: they must not run etcd at all.
//
// Every address is an IP address: members must find each other before any name service is
// up, and Patroni's etcd3 client uses the advertised client URLs it reads back from etcd.
package etcd
