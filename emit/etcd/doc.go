// Package etcd emits etcd's part of a node: for a member, the environment file that Debian's
// etcd.service reads (EnvironmentFile=-/etc/default/etcd) and the boot lines that enable and
// start the unit. Nodes that are not etcd members get no file, and boot lines that stop and
// mask the unit: they must not run etcd at all.
//
// Every address is an IP address: members must find each other before any name service is
// up, and Patroni's etcd3 client uses the advertised client URLs it reads back from etcd.
package etcd
