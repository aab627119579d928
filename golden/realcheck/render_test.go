package realcheck

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
)

func TestTestSecrets(t *testing.T) {
	if len(TestSecrets) != len(model.Secrets) {
		t.Errorf("%d test secrets for %d secrets", len(TestSecrets), len(model.Secrets))
	}
	seen := map[string]bool{}
	for _, s := range model.Secrets {
		v, ok := TestSecrets[s]
		if !ok {
			t.Errorf("no test value for %s", s)
			continue
		}
		if seen[v] {
			t.Errorf("%s: value %q used twice", s, v)
		}
		seen[v] = true
		// Characters that some emitted format would need to quote or escape.
		if strings.ContainsAny(v, " \t\n'\"\\#:;{}$%=,") {
			t.Errorf("%s: %q holds a character some format would have to quote", s, v)
		}
	}
}

func TestRender(t *testing.T) {
	in := []byte("a: '${postgres_superuser_password}'\nb: ${haproxy_stats_password} ${haproxy_stats_password}\nc: ${unknown}\n")
	want := "a: 'test-postgres_superuser_password-9f3a'\nb: test-haproxy_stats_password-9f3a test-haproxy_stats_password-9f3a\nc: ${unknown}\n"
	orig := bytes.Clone(in)
	if got := string(Render(in)); got != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
	if !bytes.Equal(in, orig) {
		t.Errorf("Render modified its input")
	}
}
