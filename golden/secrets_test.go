package golden

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/golden/realcheck"
)

// TestSecrets checks every file of every valid case: no secret value in it (the fake values of
// realcheck.TestSecret stand for the real ones), a known placeholder in every password field,
// no other template syntax, and nothing left of a placeholder once rendered.
func TestSecrets(t *testing.T) {
	for _, c := range validCases(t) {
		t.Run(c.name, func(t *testing.T) {
			for _, b := range buildValid(t, c) {
				fields := 0
				secrets := b.cluster.Secrets()
				for _, f := range b.set.Files() {
					name := string(b.target) + "/" + f.Path
					for _, s := range secrets {
						if bytes.Contains(f.Bytes, []byte(realcheck.TestSecret(s))) {
							t.Errorf("%s: holds the value of secret %s", name, s)
						}
					}
					if isTerraform(f.Path) {
						continue // no secret goes through Terraform: the sandbox's tests check its escaped placeholders
					}
					problems, n := secretProblems(f.Path, f.Bytes, secrets)
					fields += n
					for _, p := range problems {
						t.Errorf("%s: %s", name, p)
					}
					if rendered := realcheck.Render(f.Bytes); bytes.Contains(rendered, []byte("${")) {
						t.Errorf("%s: a placeholder is left after rendering", name)
					}
				}
				if fields == 0 {
					t.Errorf("%s: no password field found in any file: the scan proves nothing", b.target)
				}
			}
		})
	}
}

func isTerraform(p string) bool {
	return strings.HasSuffix(p, ".tf") || strings.HasSuffix(p, ".tf.json")
}

var (
	// passwordRE finds a password-like key with its value: YAML `password: x`, ini or env
	// `auth_password = x`, `PGPASSWORD=x`. Keys that merely start with it (password_encryption)
	// are no password.
	passwordRE = regexp.MustCompile(`(?i)^\s*(?:-\s*)?"?([a-z0-9_.]*password)"?\s*[:=]\s*(.*?)\s*$`)
	// userlistRE is a line of PgBouncer's userlist.txt: "user" "password".
	userlistRE = regexp.MustCompile(`^"([^"]*)"\s+"([^"]*)"$`)
	// statsAuthRE is HAProxy's `stats auth user:password`.
	statsAuthRE = regexp.MustCompile(`^\s*stats\s+auth\s+([^:\s]+):(\S*)\s*$`)
	// templateRE finds the templatefile() syntax: interpolations and directives.
	templateRE = regexp.MustCompile(`[$%]\{[^}]*\}?`)
)

// secretProblems scans one emitted file (not Terraform) for secrets handled wrong and returns
// what it found, and how many password fields it checked.
func secretProblems(p string, b []byte, secrets []model.Secret) (problems []string, fields int) {
	placeholders := make([]string, len(secrets))
	for i, s := range secrets {
		placeholders[i] = s.Placeholder()
	}
	isPlaceholder := func(v string) bool {
		v = strings.Trim(v, `'"`)
		return slices.Contains(placeholders, v)
	}
	for i, line := range strings.Split(string(b), "\n") {
		at := fmt.Sprintf("line %d", i+1)
		if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue
		}
		for _, m := range templateRE.FindAllString(line, -1) {
			// The local builds' locations: template variables, but not secrets.
			if strings.HasPrefix(m, "${") && slices.Contains(model.BuildVars, strings.Trim(m, "${}")) {
				continue
			}
			if !isPlaceholder(m) {
				problems = append(problems, fmt.Sprintf("%s: %q is template syntax but no secret placeholder: Terraform's templatefile() would evaluate it", at, m))
			}
		}
		if m := passwordRE.FindStringSubmatch(line); m != nil {
			fields++
			if !isPlaceholder(m[2]) {
				problems = append(problems, fmt.Sprintf("%s: %s is %q, want a secret placeholder", at, m[1], m[2]))
			}
		}
		if m := statsAuthRE.FindStringSubmatch(line); m != nil {
			fields++
			if !isPlaceholder(m[2]) {
				problems = append(problems, fmt.Sprintf("%s: stats auth password is %q, want a secret placeholder", at, m[2]))
			}
		}
		if path.Base(p) == "userlist.txt" && line != "" {
			fields++
			if m := userlistRE.FindStringSubmatch(line); m == nil || !isPlaceholder(m[2]) {
				problems = append(problems, fmt.Sprintf("%s: userlist entry %q does not hold a secret placeholder", at, line))
			}
		}
	}
	return problems, fields
}

func TestSecretProblems(t *testing.T) {
	tests := []struct {
		path     string
		src      string
		problems int
		fields   int
	}{
		{"config.yml", "restapi:\n  authentication:\n    password: '${patroni_restapi_password}'\n", 0, 1},
		{"config.yml", "    password: hunter2\n", 1, 1},
		{"config.yml", "    password: '${not_a_secret}'\n", 2, 1}, // unknown placeholder, and no password
		{"config.yml", "password_encryption: scram-sha-256\n", 0, 0},
		{"config.yml", "# password: example\n", 0, 0},
		{"user-data.yaml", "      content: |\n        superuser:\n          password: ${postgres_superuser_password}\n", 0, 1},
		{"etcd", "PGPASSWORD=secret\n", 1, 1},
		{"pgbouncer.ini", "auth_password = ${postgres_superuser_password}\n", 0, 1},
		{"haproxy.cfg", "    stats auth stats:${haproxy_stats_password}\n", 0, 1},
		{"haproxy.cfg", "    stats auth stats:letmein\n", 1, 1},
		{"userlist.txt", "\"postgres\" \"${postgres_superuser_password}\"\n", 0, 1},
		{"userlist.txt", "\"postgres\" \"md5abc\"\n", 1, 1},
		{"run.sh", "echo ${HOME}\n", 1, 0},
		{"run.sh", "echo $HOME\n", 0, 0},
		{"x.yaml", "a: %{ if true }x%{ endif }\n", 2, 0},
	}
	for _, tt := range tests {
		problems, fields := secretProblems(tt.path, []byte(tt.src), modeltest.Cluster().Secrets())
		if len(problems) != tt.problems || fields != tt.fields {
			t.Errorf("%s %q: %d problems %v and %d fields, want %d and %d", tt.path, tt.src, len(problems), problems, fields, tt.problems, tt.fields)
		}
	}
}
