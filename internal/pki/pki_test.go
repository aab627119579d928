package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func authority(t *testing.T, name string) (Authority, []byte) {
	t.Helper()
	a, key, err := NewAuthority(name, now, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return a, key
}

func node0() Leaf {
	return Leaf{CommonName: "node0", DNSNames: []string{"node0", "localhost"},
		IPs: []netip.Addr{netip.MustParseAddr("10.213.0.10"), netip.MustParseAddr("127.0.0.1")}, Lifetime: 365 * 24 * time.Hour}
}

// handshake runs a real TLS handshake over loopback TCP: the server presents certPEM+keyPEM,
// the client trusts roots and dials serverName. It returns the client's error.
func handshake(t *testing.T, certPEM, keyPEM []byte, roots []byte, serverName string) error {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(roots) {
		t.Fatal("no root in the bundle")
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, Time: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.(*tls.Conn).Handshake()
	}()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: serverName, Time: func() time.Time { return now.Add(time.Hour) }})
	if err != nil {
		return err
	}
	return c.Close()
}

func TestIssueVerifiesForItsNamesOnly(t *testing.T) {
	a, _ := authority(t, "main")
	certPEM, keyPEM, err := a.Issue(node0(), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node0", "localhost", "10.213.0.10", "127.0.0.1"} {
		if err := handshake(t, certPEM, keyPEM, a.CertPEM, name); err != nil {
			t.Errorf("dialing %s: %v", name, err)
		}
	}
	if err := handshake(t, certPEM, keyPEM, a.CertPEM, "node1"); err == nil {
		t.Error("dialing node1 with node0's certificate: verified")
	}
	other, _ := authority(t, "other")
	if err := handshake(t, certPEM, keyPEM, other.CertPEM, "node0"); err == nil {
		t.Error("a client that trusts another authority verified the server")
	}
	// During a rotation the nodes trust both authorities: either one's leaf verifies.
	if err := handshake(t, certPEM, keyPEM, Bundle(other.CertPEM, a.CertPEM), "node0"); err != nil {
		t.Errorf("a bundle of both authorities: %v", err)
	}
}

func TestIssueIsForServersAndClients(t *testing.T) {
	a, _ := authority(t, "main")
	certPEM, keyPEM, err := a.Issue(node0(), now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		pool := x509.NewCertPool()
		pool.AddCert(a.Cert)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %v: %v", usage, err)
		}
	}
	if !KeyMatches(cert, keyPEM) {
		t.Error("KeyMatches: the issued key does not match its certificate")
	}
	_, otherKey, _ := a.Issue(node0(), now)
	if KeyMatches(cert, otherKey) {
		t.Error("KeyMatches: another key matches")
	}
	// The certificate followed by its key in one file, as a node gets it.
	if c, err := ParseCert(append(append([]byte{}, certPEM...), keyPEM...)); err != nil || !c.Equal(cert) {
		t.Errorf("ParseCert of certificate+key: %v", err)
	}
	if !KeyMatches(cert, append(append([]byte{}, certPEM...), keyPEM...)) {
		t.Error("KeyMatches of certificate+key: the key is not found")
	}
}

func TestLifetimes(t *testing.T) {
	a, _ := authority(t, "main")
	l := node0()
	certPEM, _, err := a.Issue(l, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := ParseCert(certPEM)
	if !cert.NotAfter.Equal(now.Add(l.Lifetime)) {
		t.Errorf("NotAfter = %v, want %v", cert.NotAfter, now.Add(l.Lifetime))
	}
	if !cert.NotBefore.Before(now) {
		t.Errorf("NotBefore = %v: a node whose clock is a little behind rejects it", cert.NotBefore)
	}
	if err := Verify(cert, []*x509.Certificate{a.Cert}, now.Add(l.Lifetime+time.Minute)); err == nil {
		t.Error("Verify after NotAfter: no error")
	}
	// No leaf outlives its authority.
	short, _, err := NewAuthority("short", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err = short.Issue(l, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = ParseCert(certPEM)
	if !cert.NotAfter.Equal(short.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want the authority's %v", cert.NotAfter, short.Cert.NotAfter)
	}
}

func TestCovers(t *testing.T) {
	a, _ := authority(t, "main")
	l := node0()
	certPEM, _, _ := a.Issue(l, now)
	cert, _ := ParseCert(certPEM)
	if !Covers(cert, l) {
		t.Error("Covers: false for the names it was issued for")
	}
	moved := node0()
	moved.IPs[0] = netip.MustParseAddr("10.213.0.20")
	if Covers(cert, moved) {
		t.Error("Covers: true after the node's address changed")
	}
	named := node0()
	named.DNSNames = append(named.DNSNames, "db.example.com")
	if Covers(cert, named) {
		t.Error("Covers: true with a name it lacks")
	}
}

func TestParseAuthority(t *testing.T) {
	a, key := authority(t, "main")
	got, err := ParseAuthority(a.CertPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(a.Cert) || !strings.Contains(got.Cert.Subject.CommonName, "main") {
		t.Errorf("ParseAuthority: %v", got.Cert.Subject)
	}
	other, otherKey := authority(t, "other")
	if _, err := ParseAuthority(a.CertPEM, otherKey); err == nil {
		t.Error("ParseAuthority with another authority's key: no error")
	}
	// In a trust bundle (a rotation), the key picks its own certificate, wherever it is.
	bundle := Bundle(a.CertPEM, other.CertPEM)
	for _, tt := range []struct {
		key  []byte
		want *x509.Certificate
	}{{key, a.Cert}, {otherKey, other.Cert}} {
		if got, err := ParseAuthority(bundle, tt.key); err != nil || !got.Cert.Equal(tt.want) {
			t.Errorf("ParseAuthority of a bundle: %v, %v; want %s", got.Cert, err, tt.want.Subject)
		}
	}
	leaf, leafKey, _ := a.Issue(node0(), now)
	if _, err := ParseAuthority(leaf, leafKey); err == nil {
		t.Error("ParseAuthority of a leaf: no error")
	}
	if _, err := ParseCerts([]byte("not PEM")); err == nil {
		t.Error("ParseCerts of no PEM: no error")
	}
}

func TestReadRoots(t *testing.T) {
	dir := t.TempDir()
	a, _ := authority(t, "main")
	b, _ := authority(t, "other")
	good, bad := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "key-only")
	if err := os.WriteFile(good, Bundle(a.CertPEM, b.CertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := ReadRoots(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{a.Cert, b.Cert} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
			t.Errorf("%s not in the pool: %v", c.Subject.CommonName, err)
		}
	}
	if _, err := ReadRoots(bad); err == nil || !strings.Contains(err.Error(), bad+": no PEM certificate") {
		t.Errorf("a file without a certificate: %v", err)
	}
	if _, err := ReadRoots(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
