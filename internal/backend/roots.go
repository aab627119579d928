package backend

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pghac/pghac/internal/pki"
)

// rootCertFile is the sslrootcert a connection string names, "" when it names none. pgx
// reads the file once, when the string is parsed; the backend reads it at every connection.
func rootCertFile(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return ""
		}
		return u.Query().Get("sslrootcert")
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "sslrootcert="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// rereadRoots makes cc's verify-full TLS (and its fallbacks') verify the server against the
// authorities in file as it is at each new connection, as libpq does: an authority rotation
// (a new authority added to the file, then the old one removed) reaches a running backend
// without a restart. Other sslmodes are left as pgx made them.
func rereadRoots(cc *pgconn.Config, file string) {
	if file == "" {
		return
	}
	cc.TLSConfig = rereadingTLS(cc.TLSConfig, file)
	for _, fb := range cc.Fallbacks {
		fb.TLSConfig = rereadingTLS(fb.TLSConfig, file)
	}
}

func rereadingTLS(base *tls.Config, file string) *tls.Config {
	if base == nil || base.InsecureSkipVerify || base.RootCAs == nil {
		return base // no TLS, or not verify-full
	}
	t := base.Clone()
	name := t.ServerName
	// Go's own verification would use the authorities read at parse time: the callback
	// below verifies instead, with the same checks (chain and the name dialled).
	t.InsecureSkipVerify, t.RootCAs = true, nil
	t.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		roots, err := pki.ReadRoots(file)
		if err != nil {
			return fmt.Errorf("the trusted authorities: %w", err)
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
		return err
	}
	return t
}
