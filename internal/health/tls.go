package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/pghac/pghac/compiler/model"
)

// Member.TLS for a node whose PostgreSQL's certificate verifies, and for one that offers no TLS.
const (
	TLSVerified = "verified"
	TLSOff      = "off"
)

// sslRequestCode is the PostgreSQL protocol's SSLRequest: a client asks for TLS before its
// startup packet, and the server answers 'S' (TLS follows) or 'N'.
const sslRequestCode = 80877103

// UseRoots has p check the certificates each node's PostgreSQL and PgBouncer serve against
// the authorities in pemCerts (the cluster's ca.crt): Member.TLS and Member.CertNotAfter,
// Member.PgBouncerTLS and Member.ServiceCertNotAfter, and a problem for a certificate that
// does not verify.
func (p *Prober) UseRoots(pemCerts []byte) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCerts) {
		return errors.New("no PEM certificate among the trusted authorities")
	}
	p.roots = pool
	p.secure()
	return nil
}

// certAnswer is what serverCert found: the certificate served (nil for no TLS), whether it
// verifies, and why it could not be asked.
type certAnswer struct {
	cert        *x509.Certificate
	verify, err error
}

// serverCert asks the PostgreSQL protocol's server on n's port (PostgreSQL's, PgBouncer's)
// for TLS and returns the certificate it presents, and whether it verifies against p.roots
// for n's address; nil and no error when it offers no TLS.
func (p *Prober) serverCert(ctx context.Context, n model.Node, port int) certAnswer {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := p.dial(ctx, n.AddrPort(port).String())
	if err != nil {
		return certAnswer{err: err}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var req [8]byte
	binary.BigEndian.PutUint32(req[0:4], 8)
	binary.BigEndian.PutUint32(req[4:8], sslRequestCode)
	if _, err := conn.Write(req[:]); err != nil {
		return certAnswer{err: err}
	}
	var answer [1]byte
	if _, err := io.ReadFull(conn, answer[:]); err != nil {
		return certAnswer{err: err}
	}
	switch answer[0] {
	case 'N':
		return certAnswer{}
	case 'S':
	default:
		return certAnswer{err: fmt.Errorf("the TLS request was answered with %q", answer[0])}
	}
	// The handshake takes any certificate so that a wrong one is shown with its dates; it
	// is verified below, against the cluster's authorities, for the node's address.
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err := tc.HandshakeContext(ctx); err != nil {
		return certAnswer{err: fmt.Errorf("TLS handshake: %w", err)}
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return certAnswer{err: errors.New("TLS handshake: no certificate")}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, verr := certs[0].Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inter, DNSName: n.Address.String()})
	return certAnswer{cert: certs[0], verify: verr}
}

// verdict is Member.TLS (or PgBouncerTLS) for a, and whether it is a problem.
func (a certAnswer) verdict() (string, bool) {
	switch {
	case a.err != nil:
		return "unreachable: " + a.err.Error(), false // the server's own check says why
	case a.cert == nil:
		return TLSOff, false
	case a.verify != nil:
		return "certificate invalid: " + a.verify.Error(), true
	}
	return TLSVerified, false
}

// notAfter is the served certificate's end, nil when none was served.
func (a certAnswer) notAfter() *time.Time {
	if a.cert == nil {
		return nil
	}
	return &a.cert.NotAfter
}

// dial connects to addr as p's HTTP requests do: through the jump host when there is one.
func (p *Prober) dial(ctx context.Context, addr string) (net.Conn, error) {
	if t, ok := p.http.Transport.(*http.Transport); ok && t.DialContext != nil {
		return t.DialContext(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
