package model

// Secret names a secret value that emitted files refer to but never contain. Emitted files carry
// its Placeholder, a Terraform templatefile() variable reference; Terraform (yandex) or the
// sandbox renders the real value when the node's user-data is made.
type Secret string

const (
	SecretSuperuserPassword   Secret = "postgres_superuser_password"
	SecretReplicationPassword Secret = "postgres_replication_password"
	SecretRewindPassword      Secret = "postgres_rewind_password"
	SecretRestAPIPassword     Secret = "patroni_restapi_password"
	SecretStatsPassword       Secret = "haproxy_stats_password"
	// SecretBackendPassword is the password of the backend's database role (Backend.User).
	SecretBackendPassword Secret = "backend_db_password"
)

// Secrets lists every secret, sorted by name.
var Secrets = []Secret{
	SecretBackendPassword,
	SecretStatsPassword,
	SecretRestAPIPassword,
	SecretReplicationPassword,
	SecretRewindPassword,
	SecretSuperuserPassword,
}

// Placeholder is the text emitted in place of the secret's value.
func (s Secret) Placeholder() string { return "${" + string(s) + "}" }

// Well-known role names. Passwords are secrets; names are not.
const (
	SuperuserName   = "postgres"
	ReplicationUser = "replicator"
	RewindUser      = "rewinder"
	RestAPIUser     = "patroni"
	StatsUser       = "stats"
)
