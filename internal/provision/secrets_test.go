package provision

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/internal/cloudapi"
	"github.com/pghac/pghac/internal/lockbox"
)

// TestPushSecrets writes against the sandbox's stand-in for Lockbox: a first version, none
// when nothing changed, and a new one that changes a value and drops an entry no longer wanted.
func TestPushSecrets(t *testing.T) {
	dir := t.TempDir()
	srv, err := cloudapi.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Lockbox())
	defer hs.Close()
	token, err := cloudapi.OperatorToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := SecretStore{Client: &lockbox.Client{APIEndpoint: hs.URL, Token: lockbox.StaticToken(token)}, SecretID: "sandbox-main-secrets"}
	ctx := context.Background()
	push := func(values map[string]string, wantAdded bool) string {
		t.Helper()
		v, added, err := PushSecrets(ctx, st, values)
		if err != nil || added != wantAdded || v == "" {
			t.Fatalf("PushSecrets(%d values) = %q, %v, %v; want added %v", len(values), v, added, err, wantAdded)
		}
		got, gotV, err := st.Client.Payload(ctx, st.SecretID)
		if err != nil || gotV != v {
			t.Fatalf("payload: version %q, %v; want %q", gotV, err, v)
		}
		if diff := cmp.Diff(values, got); diff != "" {
			t.Errorf("payload (-want +got):\n%s", diff)
		}
		return v
	}
	first := map[string]string{"postgres_superuser_password": "aaaaaaaaaaaaaaaaaaaa", "role_old_password": "bbbbbbbbbbbbbbbbbbbb"}
	v1 := push(first, true)
	if v := push(first, false); v != v1 {
		t.Errorf("an unchanged push moved the version from %s to %s", v1, v)
	}
	if v := push(map[string]string{"postgres_superuser_password": "cccccccccccccccccccc"}, true); v == v1 {
		t.Errorf("a changed push kept version %s", v1)
	}
}
