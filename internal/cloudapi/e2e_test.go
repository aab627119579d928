package cloudapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/lockbox"
)

// fromHeader is a test-only wrapper: httptest servers listen on 127.0.0.1, so a request
// that should come from another machine names its address in this header.
const fromHeader = "X-Test-From"

func asMachine(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get(fromHeader); a != "" {
			r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(a), 40000).String()
		}
		h.ServeHTTP(w, r)
	})
}

type fromTransport struct{ addr string }

func (f fromTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(fromHeader, f.addr)
	return http.DefaultTransport.RoundTrip(r)
}

// The internal/lockbox client against this server over real HTTP: the operator writes,
// the node reads what its machine may read, with a token it got from the metadata service.
func TestClientEndToEnd(t *testing.T) {
	s, dir := newServer(t)
	srv := httptest.NewServer(asMachine(s.Handler()))
	defer srv.Close()
	ctx := context.Background()
	loopback := netip.MustParseAddr("127.0.0.1")
	if err := RegisterMachine(dir, loopback, map[string]string{SecretIDAttribute: secretA}); err != nil {
		t.Fatal(err)
	}

	opTok, err := OperatorToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	operator := &lockbox.Client{APIEndpoint: srv.URL, HTTP: srv.Client(), Token: lockbox.StaticToken(opTok)}
	want := map[string]string{"postgres-password": password, "replication-password": "r3pl1cat0r"}
	vid, err := operator.AddVersion(ctx, secretA, want, "pghac test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := operator.AddVersion(ctx, secretB, map[string]string{"x": "y"}, ""); err != nil {
		t.Fatal(err)
	}
	got, gotVer, err := operator.Payload(ctx, secretA)
	if err != nil || gotVer != vid || len(got) != 2 || got["postgres-password"] != password {
		t.Fatalf("operator payload: %d entries, version %q (want %q), %v", len(got), gotVer, vid, err)
	}

	// The node, as its boot script does: the secret id from an attribute, a token from
	// the metadata service, then the payload.
	id, err := lockbox.MetadataAttribute(ctx, srv.Client(), srv.URL, SecretIDAttribute)
	if err != nil || id != secretA {
		t.Fatalf("attribute: %q, %v", id, err)
	}
	node := &lockbox.Client{APIEndpoint: srv.URL, HTTP: srv.Client(), Token: lockbox.MetadataTokenFunc(srv.Client(), srv.URL)}
	got, _, err = node.Payload(ctx, id)
	if err != nil || got["replication-password"] != "r3pl1cat0r" {
		t.Fatalf("node payload: %d entries, %v", len(got), err)
	}
	if _, _, err := node.Payload(ctx, secretB); !lockbox.IsPermissionDenied(err) {
		t.Errorf("node reads another secret: %v, want permission denied", err)
	}
	if _, err := node.AddVersion(ctx, secretA, map[string]string{"postgres-password": "mine"}, ""); !lockbox.IsPermissionDenied(err) {
		t.Errorf("node writes: %v, want permission denied", err)
	}
	if _, _, err := operator.Payload(ctx, "e6qneverwritten"); !lockbox.IsNotFound(err) {
		t.Errorf("a secret with no version: %v, want not found", err)
	}

	// The node's token, copied to another machine that may read the same secret, is refused there.
	tok, _, err := lockbox.MetadataToken(ctx, srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	other := "10.77.0.99"
	if err := RegisterMachine(dir, netip.MustParseAddr(other), map[string]string{SecretIDAttribute: secretA}); err != nil {
		t.Fatal(err)
	}
	thief := &lockbox.Client{APIEndpoint: srv.URL, HTTP: &http.Client{Transport: fromTransport{other}}, Token: lockbox.StaticToken(tok)}
	_, _, err = thief.Payload(ctx, secretA)
	var ae *lockbox.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != lockbox.CodeUnauthenticated {
		t.Errorf("copied token: %v, want 401 UNAUTHENTICATED", err)
	}
	assertNoSecret(t, err, tok, password)
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error %q leaks a secret", err)
		}
	}
}
