// Package pki makes a cluster's certificate authority and the certificates it signs: one per
// node, which the node's servers present and its clients (etcd peers, Patroni, replication)
// present too, and one per pghac operator. Keys are ECDSA P-256: every component pghac runs
// (PostgreSQL and PgBouncer through OpenSSL, etcd and the backend through Go, HAProxy, Patroni
// through Python's ssl) accepts them, and they sign and verify faster than RSA keys.
//
// The package only makes and reads certificates; where they are kept is package site's job,
// and how they reach the nodes is the secrets' path (Lockbox, filled in by the node).
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"
)

// backdate is how far before now a certificate's validity starts: a node whose clock runs a
// little behind the operator's must not reject a certificate made a moment ago.
const backdate = 5 * time.Minute

// Authority is a certificate authority: its certificate and its private key.
type Authority struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// CertPEM is Cert as PEM, what the nodes trust.
	CertPEM []byte
}

// NewAuthority makes a self-signed authority for cluster, valid from now for lifetime, and
// returns it with its private key as PEM.
func NewAuthority(cluster string, now time.Time, lifetime time.Duration) (Authority, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Authority{}, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return Authority{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// The date in the name tells an authority from the one a rotation replaces it with.
		Subject:               pkix.Name{CommonName: fmt.Sprintf("pghac %s CA %s", cluster, now.UTC().Format("2006-01-02T15:04:05Z")), Organization: []string{"pghac"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(lifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// It signs leaf certificates only.
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return Authority{}, nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return Authority{}, nil, err
	}
	a, err := ParseAuthority(encodeCert(der), keyPEM)
	return a, keyPEM, err
}

// ParseAuthority reads an authority from its private key and its certificate, both PEM,
// the certificate being the one among certPEM's that the key belongs to.
func ParseAuthority(certPEM, keyPEM []byte) (Authority, error) {
	certs, err := ParseCerts(certPEM)
	if err != nil {
		return Authority{}, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return Authority{}, err
	}
	// certPEM may be a trust bundle (an authority rotation trusts two): the authority is
	// the certificate the key belongs to.
	for _, cert := range certs {
		if !publicKeysEqual(cert.PublicKey, key.Public()) {
			continue
		}
		if !cert.IsCA {
			return Authority{}, errors.New("the certificate is not a certificate authority's")
		}
		return Authority{Cert: cert, Key: key, CertPEM: encodeCert(cert.Raw)}, nil
	}
	return Authority{}, errors.New("the private key does not belong to the certificate")
}

// Leaf says what a certificate is for: its name, the names and addresses it is valid for,
// and how long.
type Leaf struct {
	CommonName string
	DNSNames   []string
	IPs        []netip.Addr
	Lifetime   time.Duration
}

// Issue makes a key and a certificate for l signed by a, valid from now for l.Lifetime (at
// most until a's own end), for both server and client authentication: a node's etcd and
// PostgreSQL serve with it and its etcd peers, Patroni and replication log in with it.
// Both are returned as PEM.
func (a Authority) Issue(l Leaf, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(l.Lifetime)
	if notAfter.After(a.Cert.NotAfter) {
		notAfter = a.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: []string{"pghac"}},
		DNSNames:     l.DNSNames,
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, ip := range l.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, key.Public(), a.Key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// Verify checks that cert was signed by one of roots and is valid at now.
func Verify(cert *x509.Certificate, roots []*x509.Certificate, now time.Time) error {
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// Covers reports whether cert is valid for exactly the names and addresses of l.
func Covers(cert *x509.Certificate, l Leaf) bool {
	if cert.Subject.CommonName != l.CommonName || !slices.Equal(sorted(cert.DNSNames), sorted(l.DNSNames)) {
		return false
	}
	var have, want []string
	for _, ip := range cert.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			have = append(have, a.Unmap().String())
		}
	}
	for _, ip := range l.IPs {
		want = append(want, ip.Unmap().String())
	}
	return slices.Equal(sorted(have), sorted(want))
}

// ParseCert reads the first certificate in b, PEM (other blocks, a private key, are skipped).
func ParseCert(b []byte) (*x509.Certificate, error) {
	certs, err := ParseCerts(b)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// ParseCerts reads every certificate in b, PEM, in order; other blocks are skipped. No
// certificate at all is an error.
func ParseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// ReadRoots is a pool of the certificates in the PEM file at path: the authorities a client
// trusts (a cluster's ca.crt, a bundle during a rotation). A file without one is an error.
func ReadRoots(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

// KeyMatches reports whether keyPEM is the private key of cert.
func KeyMatches(cert *x509.Certificate, keyPEM []byte) bool {
	key, err := parseKey(keyPEM)
	return err == nil && publicKeysEqual(cert.PublicKey, key.Public())
}

func parseKey(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM private key")
		}
		if blk.Type != "PRIVATE KEY" {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T private key cannot sign", k)
		}
		return s, nil
	}
}

// encodeKey is key as PKCS #8 PEM, which OpenSSL, Go and Python all read.
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// newSerial is a random 128-bit serial number, as RFC 5280 allows (at most 20 octets).
func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// Bundle concatenates PEM certificates into one trust file, each ending in a newline.
func Bundle(certs ...[]byte) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		b.Write(bytes.TrimSpace(c))
		b.WriteByte('\n')
	}
	return b.Bytes()
}
