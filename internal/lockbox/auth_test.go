package lockbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// metadataServer answers like the metadata service: 403 without the header.
func metadataServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(MetadataFlavorHeader) != MetadataFlavor {
			http.Error(w, "Missing Metadata-Flavor:Google header "+testToken, http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case MetadataTokenPath:
			writeJSON(w, 200, ServiceAccountToken{AccessToken: testToken, ExpiresIn: 43199, TokenType: "Bearer"})
		case MetadataAttributePath + "pghac-lockbox-secret-id":
			io.WriteString(w, testSecret)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMetadataToken(t *testing.T) {
	srv := metadataServer(t)
	tok, ttl, err := MetadataToken(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if tok != testToken || ttl != 43199*time.Second {
		t.Errorf("got %q for %v", tok, ttl)
	}
	v, err := MetadataAttribute(context.Background(), srv.Client(), srv.URL+"/", "pghac-lockbox-secret-id")
	if err != nil || v != testSecret {
		t.Errorf("attribute = %q, %v", v, err)
	}
	_, err = MetadataAttribute(context.Background(), srv.Client(), srv.URL, "absent")
	if !IsNotFound(err) {
		t.Errorf("absent attribute: error %v, want not found", err)
	}
}

// Without the header the service answers 403; the client always sends it, so check the
// fake answers 403 and that the error does not quote its body.
func TestMetadataHeaderRequired(t *testing.T) {
	srv := metadataServer(t)
	resp, err := srv.Client().Get(srv.URL + MetadataTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without the header: HTTP %d, want 403", resp.StatusCode)
	}
	hc := &http.Client{Transport: stripHeader{MetadataFlavorHeader}}
	_, _, err = MetadataToken(context.Background(), hc, srv.URL)
	if !IsPermissionDenied(err) {
		t.Errorf("error %v, want permission denied", err)
	}
	assertClean(t, err, testToken)
}

type stripHeader struct{ name string }

func (s stripHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del(s.name)
	return http.DefaultTransport.RoundTrip(r)
}

func TestIAMToken(t *testing.T) {
	const oauth = "y0_AgAAAAoauth-token-value"
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		var req struct {
			OAuth string `json:"yandexPassportOauthToken"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/iam/v1/tokens" || json.NewDecoder(r.Body).Decode(&req) != nil {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if req.OAuth != oauth {
			writeJSON(w, 401, Status{Code: 16, Message: "invalid OAuth token " + req.OAuth})
			return
		}
		writeJSON(w, 200, map[string]string{"iamToken": testToken, "expiresAt": "2030-01-01T00:00:00Z"})
	}))
	defer srv.Close()

	got, err := IAMToken(context.Background(), srv.Client(), srv.URL, "  "+testToken+"\n")
	if err != nil || got != testToken || calls != 0 {
		t.Errorf("IAM token: got %q, %v after %d calls; want it as is, without a call", got, err, calls)
	}
	got, err = IAMToken(context.Background(), srv.Client(), srv.URL, oauth)
	if err != nil || got != testToken {
		t.Errorf("OAuth token: got %q, %v", got, err)
	}
	_, err = IAMToken(context.Background(), srv.Client(), srv.URL, "y0_wrong-oauth-token")
	assertClean(t, err, "y0_wrong-oauth-token")
	if !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Errorf("error %q does not say why", err)
	}
	if _, err := IAMToken(context.Background(), srv.Client(), srv.URL, " "); err == nil {
		t.Error("an empty token was accepted")
	}
}
