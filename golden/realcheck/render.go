package realcheck

import (
	"regexp"

	"github.com/pghac/pghac/compiler/model"
)

// TestSecret is a fixed fake value for secret s. The values are distinctive, so that a test
// scanning output for leaked secrets cannot match by accident, and use only characters that
// every emitted format carries unquoted or inside its quotes (YAML single quotes, INI, HAProxy
// arguments, PgBouncer's userlist double quotes).
func TestSecret(s model.Secret) string { return "test-" + string(s) + "-9f3a" }

// TestBackendURL, TestPghacURL and their checksums stand for the locations of pghac's local
// builds.
const (
	TestBackendURL    = "http://10.213.0.1:8099/pghac-backend"
	TestBackendSHA256 = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"
	TestPghacURL      = "https://storage.yandexcloud.net/test-artifacts/pghac"
	TestPghacSHA256   = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

var placeholderRE = regexp.MustCompile(`\$\{([a-z0-9_]+)\}`)

// Render returns b with every secret placeholder replaced by its TestSecret value (and the
// local builds' locations by the Test values above), as Terraform's templatefile() would
// with real values. Other ${...} are left as they are. b is not modified.
func Render(b []byte) []byte {
	return placeholderRE.ReplaceAllFunc(b, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		switch {
		case name == model.BackendURLVar:
			return []byte(TestBackendURL)
		case name == model.BackendSHA256Var:
			return []byte(TestBackendSHA256)
		case name == model.PghacURLVar:
			return []byte(TestPghacURL)
		case name == model.PghacSHA256Var:
			return []byte(TestPghacSHA256)
		case model.IsSecretName(name):
			return []byte(TestSecret(model.Secret(name)))
		}
		return m
	})
}
