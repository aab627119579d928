package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/golden/realcheck"
)

// TestCertFile serves HTTPS from a CertFile: a client that verifies against the authority
// gets an answer, a plain HTTP request does not get the page, and after the file is replaced
// and reloaded new connections get the new certificate; a broken file keeps the old one.
func TestCertFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "service.pem")
	first := issueCert(t, path)
	cf, err := LoadCertFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret page") })}
	go srv.Serve(tls.NewListener(ln, cf.TLSConfig()))
	defer srv.Shutdown(context.Background())
	get := func(scheme string, roots *x509.CertPool) (string, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
		resp, err := c.Get(scheme + "://" + ln.Addr().String() + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get("https", first); err != nil || body != "secret page" {
		t.Fatalf("https, verified: %q %v", body, err)
	}
	if body, _ := get("http", nil); strings.Contains(body, "secret page") {
		t.Errorf("plain HTTP got the page: %q", body)
	}

	second := issueCert(t, path)
	if _, err := get("https", second); err == nil {
		t.Fatal("the replaced certificate is served before Reload")
	}
	if err := cf.Reload(); err != nil {
		t.Fatal(err)
	}
	if body, err := get("https", second); err != nil || body != "secret page" {
		t.Errorf("after Reload, verified against the new authority: %q %v", body, err)
	}
	var unknown x509.UnknownAuthorityError
	if _, err := get("https", first); !errors.As(err, &unknown) {
		t.Errorf("after Reload, against the old authority: %v; want an unknown authority", err)
	}

	if err := os.WriteFile(path, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cf.Reload(); err == nil {
		t.Error("Reload of a broken file: no error")
	}
	if body, err := get("https", second); err != nil || body != "secret page" {
		t.Errorf("after a failed Reload, the certificate before: %q %v", body, err)
	}
}

// issueCert writes a service certificate for 127.0.0.1 from a new authority to path and
// returns the authority to verify it with.
func issueCert(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	roots, err := realcheck.NewServiceCert(t.TempDir(), path)
	if err != nil {
		t.Fatal(err)
	}
	return roots
}
