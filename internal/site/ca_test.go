package site

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/internal/pki"
)

// TestRotateCA takes the three steps of an authority rotation and checks after each what a
// node or client would: which authorities ca.crt trusts, who signed the certificates, and
// that every certificate verifies against ca.crt at every step (nothing that verifies fails
// midway). A step that stopped midway is found again by NextCAStep.
func TestRotateCA(t *testing.T) {
	dir := t.TempDir()
	s := New(filepath.Join(dir, "cluster.hcl"), dir, "", model.TargetSandbox)
	cl := modeltest.Cluster()
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	if _, err := s.NextCAStep(cl, now); err == nil {
		t.Error("NextCAStep without an authority: no error")
	}
	if _, err := s.EnsureTLS(cl, now); err != nil {
		t.Fatal(err)
	}
	old, err := s.authority()
	if err != nil {
		t.Fatal(err)
	}
	step := func(want CAStep) {
		t.Helper()
		if got, err := s.NextCAStep(cl, now); err != nil || got != want {
			t.Fatalf("NextCAStep: %v %v; want %v", got, err, want)
		}
	}
	// every leaf verifies against what ca.crt trusts, and signer signed them all.
	check := func(when string, trusted int, signer *x509.Certificate) {
		t.Helper()
		roots, err := s.trusted()
		if err != nil || len(roots) != trusted {
			t.Fatalf("%s: ca.crt trusts %d authorities (%v); want %d", when, len(roots), err, trusted)
		}
		for _, f := range []string{s.nodePEM(cl.Nodes[0].Name), s.nodePEM(cl.Nodes[2].Name), s.servicePEM()} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := pki.ParseCert(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := pki.Verify(cert, roots, now); err != nil {
				t.Errorf("%s: %s does not verify against ca.crt: %v", when, filepath.Base(f), err)
			}
			if err := pki.Verify(cert, []*x509.Certificate{signer}, now); err != nil {
				t.Errorf("%s: %s not signed by the authority expected: %v", when, filepath.Base(f), err)
			}
		}
	}

	step(CATrust)
	if s.RotatingCA() {
		t.Error("RotatingCA before the rotation: true")
	}
	if err := s.RetireOldCA(cl, now); err != nil {
		t.Fatal(err) // with one authority, retiring changes nothing
	}
	if err := s.TrustNewCA(cl, now); err != nil {
		t.Fatal(err)
	}
	check("after step 1", 2, old.Cert)
	if !s.RotatingCA() {
		t.Error("RotatingCA after step 1: false")
	}
	next, err := s.nextAuthority()
	if err != nil {
		t.Fatal(err)
	}
	// A stop after ca-next.pem, before ca.crt: step 1 again, with the same authority.
	one, err := os.ReadFile(s.CACert())
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePrivate(s.CACert(), old.CertPEM, true); err != nil {
		t.Fatal(err)
	}
	step(CATrust)
	if err := s.TrustNewCA(cl, now); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(s.CACert()); string(again) != string(one) {
		t.Errorf("step 1 resumed: ca.crt\n%s\nwant\n%s", again, one)
	}
	step(CASign)
	if err := s.RetireOldCA(cl, now); err == nil {
		t.Error("step 3 before step 2: no error")
	}

	ch, err := s.SignWithNewCA(cl, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Issued) != len(cl.Nodes)+1 {
		t.Errorf("step 2 issued %q; want every node's and the service's", ch.Issued)
	}
	check("after step 2", 2, next.Cert)
	if _, err := os.Stat(s.caNext()); !os.IsNotExist(err) {
		t.Errorf("ca-next.pem after step 2: %v; want it gone", err)
	}
	if ca, err := s.authority(); err != nil || !ca.Cert.Equal(next.Cert) {
		t.Errorf("the signing authority after step 2: %v; want the new one", err)
	}
	// A stop after ca.key, before the certificates: step 2 again.
	b, err := os.ReadFile(s.servicePEM())
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := old.Issue(ServiceLeaf(cl), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePrivate(s.servicePEM(), append(cert, key...), true); err != nil {
		t.Fatal(err)
	}
	step(CASign)
	if err := WritePrivate(s.servicePEM(), b, true); err != nil {
		t.Fatal(err)
	}

	step(CARetire)
	if err := s.RetireOldCA(cl, now); err != nil {
		t.Fatal(err)
	}
	check("after step 3", 1, next.Cert)
	if s.RotatingCA() {
		t.Error("RotatingCA after step 3: true")
	}
	if roots, _ := s.trusted(); !roots[0].Equal(next.Cert) {
		t.Error("after step 3, ca.crt trusts the old authority")
	}
	step(CATrust) // the next rotation
}
