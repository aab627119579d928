package health

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/pki"
)

// sslServer answers PostgreSQL's SSLRequest as PostgreSQL does: 'N', or 'S' and a TLS
// handshake with certPEM+keyPEM. It returns the port.
func sslServer(t *testing.T, certPEM, keyPEM []byte) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var cfg *tls.Config
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{pair}}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var req [8]byte
				if _, err := io.ReadFull(c, req[:]); err != nil || binary.BigEndian.Uint32(req[4:]) != sslRequestCode {
					return
				}
				if cfg == nil {
					c.Write([]byte{'N'})
					return
				}
				c.Write([]byte{'S'})
				tls.Server(c, cfg).Handshake()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestServerCert(t *testing.T) {
	now := time.Now()
	ca, _, err := pki.NewAuthority("main", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := pki.NewAuthority("other", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pki.Leaf{CommonName: "node0", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Lifetime: time.Hour}
	good, goodKey, _ := ca.Issue(leaf, now)
	foreign, foreignKey, _ := other.Issue(leaf, now)
	expired, expiredKey, _ := ca.Issue(leaf, now.Add(-2*time.Hour))
	elsewhere := leaf
	elsewhere.IPs = []netip.Addr{netip.MustParseAddr("10.213.0.11")}
	wrongAddr, wrongAddrKey, _ := ca.Issue(elsewhere, now)

	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string // Member.TLS's start
		problem   bool
	}{
		{"verified", good, goodKey, TLSVerified, false},
		{"no TLS", nil, nil, TLSOff, false},
		{"another authority", foreign, foreignKey, "certificate invalid: x509: certificate signed by unknown authority", true},
		{"expired", expired, expiredKey, "certificate invalid: x509: certificate has expired", true},
		{"another address", wrongAddr, wrongAddrKey, "certificate invalid: x509: certificate is valid for 10.213.0.11, not 127.0.0.1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := sslServer(t, tc.cert, tc.key)
			cl := &model.Cluster{Postgres: model.Postgres{Port: port}}
			p := NewProber(cl, "", 0)
			if err := p.UseRoots(ca.CertPEM); err != nil {
				t.Fatal(err)
			}
			a := p.serverCert(context.Background(), model.Node{Name: "node0", Address: netip.MustParseAddr("127.0.0.1")}, port)
			got, problem := a.verdict()
			if !strings.HasPrefix(got, tc.want) || problem != tc.problem {
				t.Errorf("verdict %q, problem %v; want %q..., problem %v", got, problem, tc.want, tc.problem)
			}
			if tc.cert != nil && (a.notAfter() == nil || !a.notAfter().After(now.Add(-3*time.Hour))) {
				t.Errorf("certificate %v: want the one served, with its end", a.cert)
			}
		})
	}
	if err := NewProber(&model.Cluster{}, "", 0).UseRoots([]byte("no PEM")); err == nil {
		t.Error("UseRoots without a certificate: no error")
	}
}
