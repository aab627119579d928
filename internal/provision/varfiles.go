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
	return fmt.Sprintf("no secrets: %s does not exist and no --var-file was given", e.Path)
}

// VarFiles is the site's secrets file when it exists, its operator key's var file when that
// exists, then the extra var files, each of which must exist and parse. Without secrets or
// extra files it is a *NoSecretsError.
func VarFiles(s site.Site, extra []string) ([]string, error) {
	var files []string
	if s.HasSecrets() {
		files = append(files, s.Secrets())
	} else if len(extra) == 0 {
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
