package site

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/pki"
)

// CAStep is a step of the rotation of the cluster's certificate authority. Each is rolled
// out to every node before the next is taken, so that nothing that verifies ever meets a
// certificate it does not trust: the new authority is trusted everywhere before anything is
// signed by it, and the old one is trusted until nothing signed by it is left.
type CAStep int

const (
	// CATrust makes a new authority and trusts it beside the current one (ca.crt holds
	// both); nothing is signed by it yet.
	CATrust CAStep = iota + 1
	// CASign makes the new authority the one that signs, and issues every node's
	// certificate and the service certificate again with it.
	CASign
	// CARetire trusts the new authority alone.
	CARetire
)

func (s CAStep) String() string {
	switch s {
	case CATrust:
		return "step 1 of 3: a new authority, trusted beside the current one"
	case CASign:
		return "step 2 of 3: every certificate issued again by the new authority"
	case CARetire:
		return "step 3 of 3: the old authority no longer trusted"
	}
	return fmt.Sprintf("CAStep(%d)", int(s))
}

// caNext holds the new authority's certificate and key between CATrust and CASign.
func (s Site) caNext() string { return filepath.Join(s.TLSDir(), "ca-next.pem") }

// RotatingCA reports whether an authority rotation is under way: a new authority waits for
// its step 2, or ca.crt trusts more than one.
func (s Site) RotatingCA() bool {
	if _, err := os.Stat(s.caNext()); err == nil {
		return true
	}
	trusted, err := s.trusted()
	return err == nil && len(trusted) > 1
}

// NextCAStep is the authority rotation's step to take next, as the files in TLSDir say: a
// rotation is a state of those files, so a step that stopped midway is taken again.
func (s Site) NextCAStep(cl *model.Cluster, now time.Time) (CAStep, error) {
	trusted, err := s.trusted()
	if err != nil {
		return 0, err
	}
	next, err := s.nextAuthority()
	switch {
	case err == nil:
		if !slices.ContainsFunc(trusted, next.Cert.Equal) {
			return CATrust, nil // made, not yet in ca.crt
		}
		return CASign, nil
	case !errors.Is(err, fs.ErrNotExist):
		return 0, err
	case len(trusted) > 1:
		ca, err := s.authority()
		if err != nil {
			return 0, err
		}
		if stale := s.notSignedBy(cl, ca, now); len(stale) > 0 {
			return CASign, nil // the signing step stopped before it issued them all
		}
		return CARetire, nil
	}
	return CATrust, nil
}

// TrustNewCA takes CATrust: a new authority, its certificate added to ca.crt. Its
// certificate and key wait in ca-next.pem (written first, so that a stop between the two
// files is resumed with the same authority).
func (s Site) TrustNewCA(cl *model.Cluster, now time.Time) error {
	next, err := s.nextAuthority()
	if errors.Is(err, fs.ErrNotExist) {
		var key []byte
		if next, key, err = pki.NewAuthority(cl.Name, now, CALifetime); err != nil {
			return err
		}
		if err := WritePrivate(s.caNext(), append(bytes.Clone(next.CertPEM), key...), false); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	b, err := os.ReadFile(s.CACert())
	if err != nil {
		return err
	}
	trusted, err := s.trusted()
	if err != nil {
		return err
	}
	if slices.ContainsFunc(trusted, next.Cert.Equal) {
		return nil
	}
	return WritePrivate(s.CACert(), pki.Bundle(b, next.CertPEM), true)
}

// SignWithNewCA takes CASign: the new authority's key becomes ca.key (the old one is
// gone), and every node's certificate and the service certificate are issued again by it.
// ca.crt keeps trusting both, so a node not changed yet and one changed already verify
// each other.
func (s Site) SignWithNewCA(cl *model.Cluster, now time.Time) (TLSChange, error) {
	b, err := os.ReadFile(s.caNext())
	switch {
	case err == nil:
		next, err := pki.ParseAuthority(b, b)
		if err != nil {
			return TLSChange{}, fmt.Errorf("%s: %w", s.caNext(), err)
		}
		trusted, err := s.trusted()
		if err != nil {
			return TLSChange{}, err
		}
		if !slices.ContainsFunc(trusted, next.Cert.Equal) {
			return TLSChange{}, fmt.Errorf("the new authority in %s is not trusted in %s yet (step 1 of 3 first)", s.caNext(), s.CACert())
		}
		// The key alone, as ca.key always is; then the waiting file goes.
		key := b[bytes.Index(b, []byte("-----BEGIN PRIVATE KEY-----")):]
		if err := WritePrivate(s.caKey(), key, true); err != nil {
			return TLSChange{}, err
		}
		if err := os.Remove(s.caNext()); err != nil {
			return TLSChange{}, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return TLSChange{}, err
	}
	return s.ensureTLS(cl, now, true)
}

// RetireOldCA takes CARetire: ca.crt trusts the authority that signs, alone. Every
// certificate must be signed by it already, and no new authority wait for its step 2.
func (s Site) RetireOldCA(cl *model.Cluster, now time.Time) error {
	if _, err := os.Stat(s.caNext()); err == nil {
		return fmt.Errorf("the new authority in %s signs nothing yet (step 2 of 3 first)", s.caNext())
	}
	ca, err := s.authority()
	if err != nil {
		return err
	}
	if stale := s.notSignedBy(cl, ca, now); len(stale) > 0 {
		return fmt.Errorf("%s not signed by the new authority yet (step 2 of 3 first)", stale[0])
	}
	return WritePrivate(s.CACert(), pki.Bundle(ca.CertPEM), true)
}

// trusted are the authorities in ca.crt.
func (s Site) trusted() ([]*x509.Certificate, error) {
	b, err := os.ReadFile(s.CACert())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no certificate authority in %s: `pghac up` or `pghac secrets init` makes it", s.TLSDir())
	} else if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCerts(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.CACert(), err)
	}
	return certs, nil
}

// nextAuthority is the authority CATrust made, waiting in ca-next.pem; an error wrapping
// fs.ErrNotExist when there is none.
func (s Site) nextAuthority() (pki.Authority, error) {
	b, err := os.ReadFile(s.caNext())
	if err != nil {
		return pki.Authority{}, err
	}
	a, err := pki.ParseAuthority(b, b)
	if err != nil {
		return pki.Authority{}, fmt.Errorf("%s: %w", s.caNext(), err)
	}
	return a, nil
}

// notSignedBy names the certificates of cl's nodes and the service certificate that ca did
// not sign (or that cannot be read).
func (s Site) notSignedBy(cl *model.Cluster, ca pki.Authority, now time.Time) []string {
	type leaf struct{ name, file string }
	var leaves []leaf
	for _, n := range cl.Nodes {
		leaves = append(leaves, leaf{n.Name + "'s certificate", s.nodePEM(n.Name)})
	}
	leaves = append(leaves, leaf{"the service certificate", s.servicePEM()})
	var out []string
	for _, l := range leaves {
		b, err := os.ReadFile(l.file)
		if err != nil {
			out = append(out, l.name)
			continue
		}
		cert, err := pki.ParseCert(b)
		if err != nil || pki.Verify(cert, []*x509.Certificate{ca.Cert}, now) != nil {
			out = append(out, l.name)
		}
	}
	return out
}
