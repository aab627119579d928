// Package certs emits the part of a node that holds its TLS material: the certificate
// authorities it trusts and its own certificate and key, both placeholders that the node
// fills in from the cluster's Lockbox secret at its first boot (and a rollout after a
// rotation). The families that serve or dial TLS refer to them by model.TLSCAPath and
// model.TLSNodePath.
package certs
