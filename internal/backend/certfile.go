package backend

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync/atomic"
)

// CertFile is a certificate and its private key read from one PEM file (the cluster's
// service certificate, model.TLSServicePath), read again on Reload: a rotated certificate
// is served to new connections without a restart, while open ones go on.
type CertFile struct {
	path string
	cert atomic.Pointer[tls.Certificate]
}

// LoadCertFile reads the certificate and key in the file at path.
func LoadCertFile(path string) (*CertFile, error) {
	c := &CertFile{path: path}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the file again. On an error the certificate read before stays in use.
func (c *CertFile) Reload() error {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("the TLS certificate: %w", err)
	}
	// X509KeyPair takes the CERTIFICATE blocks of its first argument and the key of its
	// second: one file serves both. Its errors never quote the key.
	cert, err := tls.X509KeyPair(b, b)
	if err != nil {
		return fmt.Errorf("the TLS certificate %s: %w", c.path, err)
	}
	c.cert.Store(&cert)
	return nil
}

// TLSConfig serves the certificate last read to every client.
func (c *CertFile) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cert.Load(), nil },
	}
}
