package realcheck

import (
	"bytes"

	"github.com/pghac/pghac/compiler/model"
)

// TestSecrets holds a fixed fake value for every model.Secret. The values are distinctive, so
// that a test scanning output for leaked secrets cannot match by accident, and use only
// characters that every emitted format carries unquoted or inside its quotes (YAML single
// quotes, INI, HAProxy arguments, PgBouncer's userlist double quotes).
var TestSecrets = map[model.Secret]string{
	model.SecretStatsPassword:       "test-haproxy_stats_password-9f3a",
	model.SecretRestAPIPassword:     "test-patroni_restapi_password-9f3a",
	model.SecretRewindPassword:      "test-postgres_rewind_password-9f3a",
	model.SecretReplicationPassword: "test-postgres_replication_password-9f3a",
	model.SecretSuperuserPassword:   "test-postgres_superuser_password-9f3a",
	model.SecretBackendPassword:     "test-backend_db_password-9f3a",
}

// TestBackendURL and TestBackendSHA256 stand for the sandbox's backend location.
const (
	TestBackendURL    = "http://10.213.0.1:8099/pghac-backend"
	TestBackendSHA256 = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"
)

// Render returns b with every secret placeholder replaced by its TestSecrets value (and the
// sandbox's backend location by the Test values above), as
// Terraform's templatefile() would with real values. b is not modified.
func Render(b []byte) []byte {
	out := bytes.Clone(b)
	for _, s := range model.Secrets {
		out = bytes.ReplaceAll(out, []byte(s.Placeholder()), []byte(TestSecrets[s]))
	}
	out = bytes.ReplaceAll(out, []byte("${"+model.BackendURLVar+"}"), []byte(TestBackendURL))
	out = bytes.ReplaceAll(out, []byte("${"+model.BackendSHA256Var+"}"), []byte(TestBackendSHA256))
	return out
}
