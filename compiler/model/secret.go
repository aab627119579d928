package model

import (
	"slices"
	"strings"
)

// Secret names a secret value that emitted files refer to but never contain. Emitted files carry
// its placeholder, "${name}" (a templatefile() variable reference); a node fills it in at its
// first boot from the cluster's Lockbox secret (lockbox.go), pghac's rollouts from the site's
// secrets file. Neither Terraform nor the user-data ever holds the value.
type Secret string

const (
	SecretSuperuserPassword   Secret = "postgres_superuser_password"
	SecretReplicationPassword Secret = "postgres_replication_password"
	SecretRewindPassword      Secret = "postgres_rewind_password"
	SecretRestAPIPassword     Secret = "patroni_restapi_password"
	SecretStatsPassword       Secret = "haproxy_stats_password"
	// SecretBackendPassword is the password of the backend's database role (Backend.User).
	SecretBackendPassword Secret = "backend_db_password"
	// SecretPgBouncerAuthPassword is PgBouncerAuthUser's: PgBouncer looks clients' SCRAM
	// secrets up with it.
	SecretPgBouncerAuthPassword Secret = "pgbouncer_auth_password"
	// SecretPgBouncerAdminPassword is PgBouncerAdminUser's, for PgBouncer's admin console.
	SecretPgBouncerAdminPassword Secret = "pgbouncer_admin_password"
)

// fixedSecrets are the secrets of every cluster, sorted by name.
var fixedSecrets = []Secret{
	SecretBackendPassword,
	SecretStatsPassword,
	SecretRestAPIPassword,
	SecretPgBouncerAdminPassword,
	SecretPgBouncerAuthPassword,
	SecretReplicationPassword,
	SecretRewindPassword,
	SecretSuperuserPassword,
}

// backupSecrets are the secrets of a cluster with backups.
var backupSecrets = []Secret{SecretBackupAccessKey, SecretBackupSecretKey}

// RolePassword is the secret holding the password of the application role named role.
func RolePassword(role string) Secret { return Secret("role_" + role + "_password") }

// Secrets lists every secret of the cluster, sorted by name: its passwords (Passwords) and its
// TLS material (TLSSecrets).
func (c *Cluster) Secrets() []Secret {
	out := append(c.Passwords(), c.TLSSecrets()...)
	slices.Sort(out)
	return out
}

// Passwords lists the secrets pghac generates as random strings, sorted by name: pghac's own
// and one password per declared role.
func (c *Cluster) Passwords() []Secret {
	out := slices.Clone(fixedSecrets)
	for _, r := range c.Roles {
		out = append(out, RolePassword(r.Name))
	}
	if c.Backup != nil {
		out = append(out, backupSecrets...)
	}
	slices.Sort(out)
	return out
}

// SecretTLSCA is the certificate authorities the nodes trust, PEM: the cluster's, and during a
// rotation of it the next one too.
const SecretTLSCA Secret = "tls_ca"

// NodeTLSSecret is the secret holding node's certificate and then its private key, PEM, in
// one entry: every component reads each from a file holding both, and one entry per node
// keeps the Lockbox secret's entries for roles. Node names may hold '-', placeholders not;
// '_' is no node name's, so the mapping is one to one.
func NodeTLSSecret(node string) Secret {
	return Secret("tls_node_" + strings.ReplaceAll(node, "-", "_"))
}

// SecretTLSService is the cluster's service certificate and then its key, PEM
// (TLSServicePath).
const SecretTLSService Secret = "tls_service"

// TLSSecrets lists the cluster's TLS material, sorted by name: the authorities' certificates,
// each node's certificate and key, and the service certificate and key. pghac makes them
// (package pki); the authority's own key stays on the operator's machine and is none of them.
func (c *Cluster) TLSSecrets() []Secret {
	out := []Secret{SecretTLSCA, SecretTLSService}
	for _, n := range c.Nodes {
		out = append(out, NodeTLSSecret(n.Name))
	}
	slices.Sort(out)
	return out
}

// IsSecret reports whether name is one of the cluster's secrets.
func (c *Cluster) IsSecret(name string) bool {
	return slices.Contains(c.Secrets(), Secret(name))
}

// IsSecretName reports whether name has the form of a secret of some cluster: one of pghac's
// own, a role's password, or TLS material.
func IsSecretName(name string) bool {
	if slices.Contains(fixedSecrets, Secret(name)) || slices.Contains(backupSecrets, Secret(name)) {
		return true
	}
	if name == string(SecretTLSCA) || name == string(SecretTLSService) || strings.HasPrefix(name, "tls_node_") {
		return true
	}
	role, ok := strings.CutPrefix(name, "role_")
	role, ok2 := strings.CutSuffix(role, "_password")
	return ok && ok2 && role != ""
}

// Placeholder is the text emitted in place of the secret's value.
func (s Secret) Placeholder() string { return "${" + string(s) + "}" }

// Well-known role and object names. Passwords are secrets; names are not.
const (
	SuperuserName   = "postgres"
	ReplicationUser = "replicator"
	RewindUser      = "rewinder"
	RestAPIUser     = "patroni"
	StatsUser       = "stats"
	// PgBouncerAuthUser is the role PgBouncer runs auth_query as: it may execute one
	// function that returns a login role's SCRAM secret, and nothing else.
	PgBouncerAuthUser = "pgbouncer_auth"
	// PgBouncerAdminUser is PgBouncer's admin console user (not a PostgreSQL role): Patroni's
	// callback reconnects PgBouncer's pools as it.
	PgBouncerAdminUser = "pgbouncer_admin"
	// PgBouncerAdminDB is the admin console's database name in PgBouncer.
	PgBouncerAdminDB = "pgbouncer"
	// PgBouncerAuthFunction, in schema PgBouncerAuthSchema, is what PgBouncer's auth_query
	// calls as PgBouncerAuthUser: get_auth(username) returns (username, password), the login
	// role's SCRAM secret. Patroni's post_bootstrap script creates it in every database.
	PgBouncerAuthSchema   = "pgbouncer"
	PgBouncerAuthFunction = PgBouncerAuthSchema + ".get_auth"
)
