// Package terraform emits the Terraform root module that builds a cluster on Yandex Cloud: the
// .tf files at the top of deploy/yandex/, one per concern (versions, provider, variables,
// network, security groups, nodes, load generator, network load balancer, outputs, the
// cluster's secrets (a Lockbox secret, its KMS key and the nodes' service account), and
// pgBackRest's repository: its bucket, KMS key, service account and access key).
//
// Files are written with hclwrite in a fixed insertion order and formatted as `terraform fmt`
// would. Attribute and block names follow the schema of provider yandex-cloud/yandex 0.222.
// Each node's user-data is read as it is from nodes/<node>/user-data.yaml (emitted by package
// emit) with file(): it holds the secrets' placeholders, which the node fills in at its first
// boot from the Lockbox secret its metadata names. The module holds no secret and no variable
// for one: pghac writes their values to Lockbox itself. Everything the model leaves open is a
// pghac bug here, reported as an error naming the file.
package terraform
