package provision

import (
	"fmt"
	"os"

	"github.com/pghac/pghac/internal/site"
)

// NoSecretsError is a run that would have no secrets: Terraform could only fail asking for
// them.
type NoSecretsError struct{ Path string }

func (e *NoSecretsError) Error() string {
	return fmt.Sprintf("no secrets: %s does not exist", e.Path)
}

// VarFiles is the site's operator key's var file when it exists, then the extra var files,
// each of which must exist and parse. The secrets are no var file: pghac apply writes them to
// Lockbox. Without them it is a *NoSecretsError, since the nodes could only wait for them.
func VarFiles(s site.Site, extra []string) ([]string, error) {
	var files []string
	if !s.HasSecrets() {
		return nil, &NoSecretsError{Path: s.Secrets()}
	}
	if s.HasOperatorKey() {
		files = append(files, s.OperatorVars())
	}
	for _, f := range extra {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("--var-file: %w", err)
		}
	}
	files = append(files, extra...)
	if _, err := site.SecretValues(files); err != nil {
		return nil, err
	}
	return files, nil
}
