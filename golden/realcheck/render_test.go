package realcheck

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
)

func TestTestSecret(t *testing.T) {
	c := &model.Cluster{Roles: []model.Role{{Name: "app"}}}
	seen := map[string]bool{}
	for _, s := range c.Secrets() {
		v := TestSecret(s)
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
	in := []byte("a: '${postgres_superuser_password}'\nb: ${haproxy_stats_password} ${haproxy_stats_password}\nc: ${unknown}\nd: ${role_app_password}\n")
	want := "a: 'test-postgres_superuser_password-9f3a'\nb: test-haproxy_stats_password-9f3a test-haproxy_stats_password-9f3a\nc: ${unknown}\nd: test-role_app_password-9f3a\n"
	orig := bytes.Clone(in)
	if got := string(Render(in)); got != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
	if !bytes.Equal(in, orig) {
		t.Errorf("Render modified its input")
	}
}
