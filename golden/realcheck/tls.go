package realcheck

import (
	"bytes"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/pki"
)

// TLS are real TLS files for a test that runs a component: an authority, and a node
// certificate and a service certificate, each with its key, signed by it, in the layout the
// nodes have (model.TLSCAPath, model.TLSNodePath, model.TLSServicePath) but under a test's
// directory.
type TLS struct {
	CA      string // the authority's certificate
	Node    string // the node's certificate, then its key
	Service string // the service certificate (here for the one node), then its key
	// Authority signs more (a client's certificate).
	Authority pki.Authority
}

// WriteTLS writes TLS files for node n under dir/tls, mode 0600, both certificates valid for
// n's name, address, localhost and 127.0.0.1.
func WriteTLS(dir string, n model.Node) (TLS, error) {
	now := time.Now()
	ca, _, err := pki.NewAuthority("test", now, 24*time.Hour)
	if err != nil {
		return TLS{}, err
	}
	t := TLS{CA: filepath.Join(dir, "tls", "ca.crt"), Node: filepath.Join(dir, "tls", "node.pem"),
		Service: filepath.Join(dir, "tls", "service.pem"), Authority: ca}
	if err := os.MkdirAll(filepath.Dir(t.CA), 0o755); err != nil {
		return TLS{}, err
	}
	if err := os.WriteFile(t.CA, ca.CertPEM, 0o600); err != nil {
		return TLS{}, err
	}
	for _, file := range []string{t.Node, t.Service} {
		cert, key, err := ca.Issue(pki.Leaf{CommonName: n.Name, DNSNames: []string{n.Name, "localhost"},
			IPs: []netip.Addr{n.Address, netip.MustParseAddr("127.0.0.1")}, Lifetime: time.Hour}, now)
		if err != nil {
			return TLS{}, err
		}
		if err := os.WriteFile(file, append(cert, key...), 0o600); err != nil {
			return TLS{}, err
		}
	}
	return t, nil
}

// Paths returns b with the nodes' TLS paths replaced by t's.
func (t TLS) Paths(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte(model.TLSCAPath), []byte(t.CA))
	b = bytes.ReplaceAll(b, []byte(model.TLSServicePath), []byte(t.Service))
	return bytes.ReplaceAll(b, []byte(model.TLSNodePath), []byte(t.Node))
}

// Roots is a pool with t's authority, to verify the certificates it signed with.
func (t TLS) Roots() (*x509.CertPool, error) {
	return pki.ReadRoots(t.CA)
}

// ServiceTo writes t's service certificate and key to path (where a server reads them),
// and returns t's authority to verify it with.
func (t TLS) ServiceTo(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(t.Service)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return t.Roots()
}

// NewServiceCert writes a service certificate valid for 127.0.0.1 from a new authority (its
// files under dir), then its key, to path, where a server reads them; it returns the
// authority to verify it with.
func NewServiceCert(dir, path string) (*x509.CertPool, error) {
	t, err := WriteTLS(dir, model.Node{Name: "node", Address: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		return nil, err
	}
	return t.ServiceTo(path)
}
