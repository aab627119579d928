package site

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/pki"
)

// CALifetime is the authority's lifetime; the certificates' are the cluster's (model.TLS).
const CALifetime = 10 * 365 * 24 * time.Hour

// TLSDir holds the cluster's certificate authority (ca.crt, and ca.key, which never leaves
// this machine) and each node's certificate followed by its key (nodes/<node>.pem).
func (s Site) TLSDir() string { return filepath.Join(s.Dir, "tls") }

// CACert is the authority's certificate: what clients of the cluster trust (PGSSLROOTCERT).
func (s Site) CACert() string { return filepath.Join(s.TLSDir(), "ca.crt") }

// HasCA reports whether the cluster's certificate authority exists (EnsureTLS made it).
func (s Site) HasCA() bool {
	_, err := os.Stat(s.CACert())
	return err == nil
}

func (s Site) caKey() string { return filepath.Join(s.TLSDir(), "ca.key") }

func (s Site) nodePEM(node string) string {
	return filepath.Join(s.TLSDir(), "nodes", node+".pem")
}

// NodeCert is the certificate issued to node.
func (s Site) NodeCert(node string) (*x509.Certificate, error) {
	b, err := os.ReadFile(s.nodePEM(node))
	if err != nil {
		return nil, err
	}
	return pki.ParseCert(b)
}

// servicePEM is the service certificate followed by its key.
func (s Site) servicePEM() string { return filepath.Join(s.TLSDir(), "service.pem") }

// NodeLeaf is what node n of cl has a certificate for: its name and address, and the
// loopback names its own clients dial.
func NodeLeaf(cl *model.Cluster, n model.Node) pki.Leaf {
	return pki.Leaf{
		CommonName: n.Name,
		DNSNames:   []string{n.Name, "localhost"},
		IPs:        []netip.Addr{n.Address, netip.MustParseAddr("127.0.0.1")},
		Lifetime:   cl.TLS.Lifetime,
	}
}

// ServiceLeaf is what the cluster's service certificate is valid for: every name and address
// a client dials to reach PgBouncer (HAProxy on any node may pass it to any other's, the load
// balancer to the primary's), the extra names of cluster.hcl, and the loopback names a node's
// own clients dial.
func ServiceLeaf(cl *model.Cluster) pki.Leaf {
	// Not the cluster's name (the authority has it): a rename, which up refuses, must not
	// issue a certificate.
	leaf := pki.Leaf{CommonName: ServiceCommonName, Lifetime: cl.TLS.Lifetime}
	for _, n := range cl.Nodes {
		leaf.DNSNames = append(leaf.DNSNames, n.Name)
		leaf.IPs = append(leaf.IPs, n.Address)
	}
	if lb := cl.LoadBalancer; lb != nil && lb.Address.IsValid() {
		leaf.IPs = append(leaf.IPs, lb.Address)
	}
	leaf.DNSNames = append(append(leaf.DNSNames, cl.TLS.ExtraDNSNames...), "localhost")
	leaf.IPs = append(append(leaf.IPs, cl.TLS.ExtraIPs...), netip.MustParseAddr("127.0.0.1"))
	return leaf
}

// ServiceCommonName is the service certificate's subject.
const ServiceCommonName = "pghac service"

// serviceName names the service certificate in TLSChange.Issued.
const serviceName = "the service"

// TLSChange is what EnsureTLS made.
type TLSChange struct {
	MadeCA bool
	// Issued are the nodes that got a new certificate, and the service when it did, each
	// with why.
	Issued []string
}

// EnsureTLS makes the cluster's certificate authority if there is none, and a certificate
// for every node of cl, and the service certificate, that has none, or one that its
// authority did not sign, that is not valid for exactly its names and addresses (a node
// added or removed changes the service's), or that ends within RenewBefore of now. Every
// file is written atomically with mode 0600; one that exists is never half replaced.
func (s Site) EnsureTLS(cl *model.Cluster, now time.Time) (TLSChange, error) {
	return s.ensureTLS(cl, now, false)
}

// RotateTLS issues every node's certificate and the service certificate again, with new
// keys, from the same authority (which the nodes keep trusting, so a node not changed yet
// and one changed already verify each other). It makes no authority: without one it is an
// error.
func (s Site) RotateTLS(cl *model.Cluster, now time.Time) (TLSChange, error) {
	if !s.HasCA() {
		return TLSChange{}, fmt.Errorf("no certificate authority in %s: `pghac up` or `pghac secrets init` makes it", s.TLSDir())
	}
	return s.ensureTLS(cl, now, true)
}

func (s Site) ensureTLS(cl *model.Cluster, now time.Time, rotate bool) (TLSChange, error) {
	var ch TLSChange
	if err := os.MkdirAll(filepath.Join(s.TLSDir(), "nodes"), 0o700); err != nil {
		return ch, err
	}
	ca, err := s.authority()
	if errors.Is(err, fs.ErrNotExist) {
		if _, kerr := os.Stat(s.caKey()); kerr == nil {
			return ch, fmt.Errorf("%s exists without %s: restore it from your backup (a new authority would not be trusted by the running nodes)", s.caKey(), s.CACert())
		}
		var key []byte
		if ca, key, err = pki.NewAuthority(cl.Name, now, CALifetime); err != nil {
			return ch, err
		}
		// The key first: a certificate without its key is the state that needs a restore.
		if err := WritePrivate(s.caKey(), key, false); err != nil {
			return ch, err
		}
		if err := WritePrivate(s.CACert(), ca.CertPEM, false); err != nil {
			return ch, err
		}
		ch.MadeCA = true
	} else if err != nil {
		return ch, err
	}
	type want struct {
		name, file string
		leaf       pki.Leaf
	}
	var wants []want
	for _, n := range cl.Nodes {
		wants = append(wants, want{n.Name, s.nodePEM(n.Name), NodeLeaf(cl, n)})
	}
	wants = append(wants, want{serviceName, s.servicePEM(), ServiceLeaf(cl)})
	for _, w := range wants {
		why := reissue(w.file, ca, w.leaf, now, cl.TLS.RenewBefore)
		if rotate && why == "" {
			why = "rotated"
		}
		if why == "" {
			continue
		}
		cert, key, err := ca.Issue(w.leaf, now)
		if err != nil {
			return ch, err
		}
		if err := WritePrivate(w.file, append(cert, key...), true); err != nil {
			return ch, err
		}
		ch.Issued = append(ch.Issued, w.name+" ("+why+")")
	}
	return ch, nil
}

// reissue says why the certificate in file must be made again, "" if it must not.
func reissue(file string, ca pki.Authority, leaf pki.Leaf, now time.Time, renewBefore time.Duration) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "none yet"
	}
	cert, err := pki.ParseCert(b)
	switch {
	case err != nil || !pki.KeyMatches(cert, b):
		return "unreadable"
	case pki.Verify(cert, []*x509.Certificate{ca.Cert}, now) != nil:
		return "not signed by the current authority"
	case !pki.Covers(cert, leaf):
		return "names or addresses changed"
	case cert.NotAfter.Sub(now) < renewBefore:
		return "expires " + cert.NotAfter.UTC().Format(time.DateOnly)
	}
	return ""
}

// authority reads the certificate authority; an error wrapping fs.ErrNotExist when there is
// none.
func (s Site) authority() (pki.Authority, error) {
	cert, err := os.ReadFile(s.CACert())
	if err != nil {
		return pki.Authority{}, err
	}
	key, err := os.ReadFile(s.caKey())
	if err != nil {
		return pki.Authority{}, err
	}
	ca, err := pki.ParseAuthority(cert, key)
	if err != nil {
		return pki.Authority{}, fmt.Errorf("%s: %w", s.CACert(), err)
	}
	return ca, nil
}

// readTLS returns the TLS material the nodes read, by secret name: the authority's
// certificate and every node's certificate and key. None when there is no authority yet.
func (s Site) readTLS() (map[string]string, error) {
	ca, err := os.ReadFile(s.CACert())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	// Without the final newline: the nodes' files add their own.
	out := map[string]string{string(model.SecretTLSCA): strings.TrimSpace(string(ca))}
	if b, err := os.ReadFile(s.servicePEM()); err == nil {
		out[string(model.SecretTLSService)] = strings.TrimSpace(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.TLSDir(), "nodes"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		node, ok := strings.CutSuffix(e.Name(), ".pem")
		if !ok || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.TLSDir(), "nodes", e.Name()))
		if err != nil {
			return nil, err
		}
		out[string(model.NodeTLSSecret(node))] = strings.TrimSpace(string(b))
	}
	return out, nil
}
