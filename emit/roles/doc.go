// Package roles emits Patroni's post_bootstrap script, which creates the cluster's roles and
// databases through the node that initialises the cluster (its first leader): PgBouncer's
// lookup role and function, the notes backend's role and database, and the role and database
// blocks of cluster.hcl. Every statement may run again: it creates what is missing and sets
// the rest as declared, so that a later rollout can run the same script on the leader.
package roles
