package site

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/internal/pki"
)

func TestEnsureTLS(t *testing.T) {
	dir := t.TempDir()
	s := New(filepath.Join(dir, "cluster.hcl"), dir, "", model.TargetSandbox)
	cl := modeltest.Cluster()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

	ch, err := s.EnsureTLS(cl, now)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.MadeCA || len(ch.Issued) != len(cl.Nodes)+1 {
		t.Fatalf("first run: %+v, want an authority and %d certificates", ch, len(cl.Nodes)+1)
	}
	for _, p := range []string{s.CACert(), s.caKey(), s.nodePEM(cl.Nodes[0].Name), s.servicePEM()} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", p, fi.Mode(), err)
		}
	}

	// What the nodes read: the authority, and each node's certificate for its own names, with
	// its key, signed by the authority.
	vars, err := s.ReadSecrets()
	if err == nil {
		t.Fatal("ReadSecrets without a secrets file: no error")
	}
	if err := s.WriteSecrets(cl.Passwords(), false); err != nil {
		t.Fatal(err)
	}
	if vars, err = s.ReadSecrets(); err != nil {
		t.Fatal(err)
	}
	for _, sec := range cl.Secrets() {
		if vars[string(sec)] == "" {
			t.Errorf("ReadSecrets lacks %s", sec)
		}
	}
	roots, err := pki.ParseCerts([]byte(vars[string(model.SecretTLSCA)]))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cl.Nodes {
		v := vars[string(model.NodeTLSSecret(n.Name))]
		cert, err := pki.ParseCert([]byte(v))
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if err := pki.Verify(cert, roots, now); err != nil || !pki.Covers(cert, NodeLeaf(cl, n)) || !pki.KeyMatches(cert, []byte(v)) {
			t.Errorf("%s: certificate %v for %v (%v)", n.Name, cert.Subject, cert.IPAddresses, err)
		}
		if strings.HasSuffix(v, "\n") {
			t.Errorf("%s: the value ends in a newline; the node's file adds its own", n.Name)
		}
	}
	// The service certificate is valid at every node's name and address.
	sv := vars[string(model.SecretTLSService)]
	service, err := pki.ParseCert([]byte(sv))
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Verify(service, roots, now); err != nil || !pki.KeyMatches(service, []byte(sv)) {
		t.Errorf("service certificate: %v", err)
	}
	for _, n := range cl.Nodes {
		if err := service.VerifyHostname(n.Address.String()); err != nil {
			t.Errorf("service certificate at %s: %v", n.Name, err)
		}
		if err := service.VerifyHostname(n.Name); err != nil {
			t.Errorf("service certificate at %s: %v", n.Name, err)
		}
	}

	// Nothing to do the second time; a node that moved gets a new certificate, and the service.
	if ch, err := s.EnsureTLS(cl, now.Add(time.Hour)); err != nil || ch.MadeCA || len(ch.Issued) > 0 {
		t.Errorf("second run: %+v %v, want nothing made", ch, err)
	}
	cl.Nodes[1].Address = netip.MustParseAddr("10.213.0.99")
	moved := []string{cl.Nodes[1].Name + " (names or addresses changed)", "the service (names or addresses changed)"}
	if ch, err := s.EnsureTLS(cl, now.Add(time.Hour)); err != nil || ch.MadeCA || !slices.Equal(ch.Issued, moved) {
		t.Errorf("after a move: %+v %v, want %q", ch, err, moved)
	}
	// A node removed: the service's certificate only.
	cl.Nodes = cl.Nodes[:len(cl.Nodes)-1]
	if ch, err := s.EnsureTLS(cl, now.Add(time.Hour)); err != nil || ch.MadeCA || !slices.Equal(ch.Issued, moved[1:]) {
		t.Errorf("after a removal: %+v %v, want %q", ch, err, moved[1:])
	}
	// Close to their end, all are made again; the authority stays.
	if ch, err := s.EnsureTLS(cl, now.Add(cl.TLS.Lifetime-cl.TLS.RenewBefore+2*time.Hour)); err != nil || ch.MadeCA || len(ch.Issued) != len(cl.Nodes)+1 ||
		!strings.Contains(ch.Issued[0], "expires") {
		t.Errorf("near the end: %+v %v", ch, err)
	}

	// A rotation issues every certificate again, from the same authority.
	caBefore, err := os.ReadFile(s.CACert())
	if err != nil {
		t.Fatal(err)
	}
	nodeBefore, err := os.ReadFile(s.nodePEM(cl.Nodes[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	// (After the certificates made near the end above, which are valid from then on.)
	if ch, err := s.RotateTLS(cl, now.Add(cl.TLS.Lifetime-cl.TLS.RenewBefore+3*time.Hour)); err != nil || ch.MadeCA || len(ch.Issued) != len(cl.Nodes)+1 || !strings.HasSuffix(ch.Issued[0], "(rotated)") {
		t.Errorf("rotation: %+v %v, want every certificate rotated", ch, err)
	}
	caAfter, _ := os.ReadFile(s.CACert())
	nodeAfter, _ := os.ReadFile(s.nodePEM(cl.Nodes[0].Name))
	if string(caAfter) != string(caBefore) || string(nodeAfter) == string(nodeBefore) {
		t.Error("rotation: want the same authority and a new node certificate")
	}
	if cert, err := s.NodeCert(cl.Nodes[0].Name); err != nil || !pki.KeyMatches(cert, nodeAfter) || pki.KeyMatches(cert, nodeBefore) {
		t.Errorf("rotation: the node's certificate with a new key: %v", err)
	}
	if _, err := New(filepath.Join(dir, "cluster.hcl"), dir, t.TempDir(), model.TargetSandbox).RotateTLS(cl, now); err == nil || !strings.Contains(err.Error(), "no certificate authority") {
		t.Errorf("rotation without an authority: %v", err)
	}

	// A lost authority certificate is never silently replaced: the nodes trust only it.
	if err := os.Remove(s.CACert()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureTLS(cl, now); err == nil || !strings.Contains(err.Error(), "restore it") {
		t.Errorf("without ca.crt: %v, want an error saying to restore it", err)
	}
}

// TestServiceLeaf: the service certificate is valid wherever clients dial PgBouncer: every
// node, the load balancer's fixed address, the extra names of cluster.hcl, and loopback.
func TestServiceLeaf(t *testing.T) {
	cl := modeltest.Cluster()
	cl.LoadBalancer = &model.LoadBalancer{Type: "internal", Port: 5432, Zone: "ru-central1-a", Address: netip.MustParseAddr("10.128.0.100")}
	cl.TLS.ExtraDNSNames = []string{"db.example.com"}
	cl.TLS.ExtraIPs = []netip.Addr{netip.MustParseAddr("198.51.100.20")}
	cl.TLS.Lifetime = 90 * 24 * time.Hour
	leaf := ServiceLeaf(cl)
	wantDNS := []string{"node0", "node1", "node2", "db.example.com", "localhost"}
	wantIPs := []string{"10.128.0.16", "10.129.0.14", "10.130.0.28", "10.128.0.100", "198.51.100.20", "127.0.0.1"}
	var ips []string
	for _, a := range leaf.IPs {
		ips = append(ips, a.String())
	}
	if !slices.Equal(leaf.DNSNames, wantDNS) || !slices.Equal(ips, wantIPs) || leaf.Lifetime != cl.TLS.Lifetime || leaf.CommonName != ServiceCommonName {
		t.Errorf("ServiceLeaf = %+v\nwant names %q, addresses %q, lifetime %s", leaf, wantDNS, wantIPs, cl.TLS.Lifetime)
	}
	// The cluster's name is none of it: a rename (which up refuses) issues nothing.
	renamed := *cl
	renamed.Name = "billing"
	if !slices.Equal(ServiceLeaf(&renamed).DNSNames, leaf.DNSNames) || ServiceLeaf(&renamed).CommonName != leaf.CommonName {
		t.Error("the service certificate depends on the cluster's name")
	}
	// Without a fixed address (the cloud picks one), none is in it.
	cl.LoadBalancer.Address = netip.Addr{}
	if n := len(ServiceLeaf(cl).IPs); n != len(wantIPs)-1 {
		t.Errorf("without the load balancer's address: %d addresses, want %d", n, len(wantIPs)-1)
	}
}
