package backend

import (
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pghac/pghac/internal/pki"
)

func TestRootCertFile(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://notes@127.0.0.1:5000/notes?sslmode=verify-full&sslrootcert=/etc/pghac/tls/ca.crt": "/etc/pghac/tls/ca.crt",
		"host=127.0.0.1 sslmode=verify-full sslrootcert='/tmp/ca.pem' user=notes":                     "/tmp/ca.pem",
		"postgres://notes@127.0.0.1:5000/notes?sslmode=prefer":                                        "",
		"host=127.0.0.1 user=notes": "",
	} {
		if got := rootCertFile(dsn); got != want {
			t.Errorf("rootCertFile(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// TestRereadRoots: a verify-full connection config reads its sslrootcert at every new
// connection, as libpq does, so that an authority rotation reaches a running backend: a
// server certificate of a new authority is refused until the file trusts that authority too,
// then taken without parsing the connection string again. pgx's own config (the control)
// goes on refusing it.
func TestRereadRoots(t *testing.T) {
	now := time.Now()
	leaf := pki.Leaf{CommonName: "service", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Lifetime: time.Hour}
	var served atomic.Pointer[tls.Certificate]
	authority := func(name string) pki.Authority {
		ca, _, err := pki.NewAuthority(name, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	serve := func(ca pki.Authority, leaf pki.Leaf) {
		certPEM, keyPEM, err := ca.Issue(leaf, now)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		served.Store(&cert)
	}
	old, next := authority("old"), authority("next")
	serve(old, leaf)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return served.Load(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	roots := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(roots, old.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := "postgres://notes@127.0.0.1:5000/notes?sslmode=verify-full&sslrootcert=" + roots
	parse := func() *pgconn.Config {
		cc, err := pgconn.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return cc
	}
	control, cc := parse(), parse()
	rereadRoots(cc, rootCertFile(dsn))
	handshake := func(cfg *tls.Config) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := handshake(cc.TLSConfig); err != nil {
		t.Fatalf("the old authority's certificate, trusted: %v", err)
	}
	serve(next, leaf)
	if err := handshake(cc.TLSConfig); err == nil {
		t.Fatal("the new authority's certificate before the file trusts it: no error")
	}
	if err := os.WriteFile(roots, pki.Bundle(old.CertPEM, next.CertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := handshake(cc.TLSConfig); err != nil {
		t.Errorf("the new authority's certificate once the file trusts both: %v", err)
	}
	if err := handshake(control.TLSConfig); err == nil {
		t.Error("control: pgx's own config took the new authority: the test cannot tell")
	}
	// The name is still checked: a certificate for another address is refused.
	other := leaf
	other.IPs = []netip.Addr{netip.MustParseAddr("127.0.0.2")}
	serve(next, other)
	if err := handshake(cc.TLSConfig); err == nil {
		t.Error("a certificate for another address: no error")
	}
}
