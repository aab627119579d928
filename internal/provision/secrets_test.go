package provision

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/cloudapi"
	"github.com/pghac/pghac/internal/lockbox"
	"github.com/pghac/pghac/internal/site"
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

// TestJumpHostFromBastion: without network.jump_host, pghac goes through the bastion at the
// address pghac apply recorded, and says what to do before there is one.
func TestJumpHostFromBastion(t *testing.T) {
	dir := t.TempDir()
	s := site.New(filepath.Join(dir, "cluster.hcl"), filepath.Join(dir, "deploy"), "", model.TargetYandex)
	if err := s.MakeStateDir(); err != nil {
		t.Fatal(err)
	}
	cl := &model.Cluster{Bastion: &model.Bastion{Name: "bastion"}}
	if j, err := jumpHost(s, cl); err == nil || !strings.Contains(err.Error(), "pghac apply") {
		t.Errorf("before apply: %v, %v; want an error naming pghac apply", j, err)
	}
	if err := os.WriteFile(outputsFile(s), []byte(`{"lockbox_secret_id":"e6q1","bastion_public_address":"198.51.100.7"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if j, err := jumpHost(s, cl); err != nil || j == nil || j.Addr() != "198.51.100.7:22" {
		t.Errorf("after apply: %v, %v; want 198.51.100.7:22", j, err)
	}
	cl.Network.JumpHost = &model.JumpHost{Host: "203.0.113.10", Port: 2222}
	if j, err := jumpHost(s, cl); err != nil || j.Addr() != "203.0.113.10:2222" {
		t.Errorf("with network.jump_host: %v, %v; want it", j, err)
	}
	if id := recorded(s).SecretID; id != "e6q1" {
		t.Errorf("recorded secret id %q", id)
	}
}
