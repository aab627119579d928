package sandboxtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/golden/realcheck"
	"github.com/pghac/pghac/internal/pki"
)

// caPath is the cluster's authority's certificate, which clients verify the servers against.
func (c *Cluster) caPath() string { return filepath.Join(c.Config.StateDir, "tls", "ca.crt") }

// httpsClient verifies the nodes' HTTPS (HAProxy's statistics, the backend) against the
// cluster's authority.
func (c *Cluster) httpsClient(t *testing.T, timeout time.Duration) *http.Client {
	t.Helper()
	roots, err := pki.ReadRoots(c.caPath())
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

// checkTLS: every node's PostgreSQL serves the certificate pghac issued it from the cluster's
// authority, and refuses a client that asks for no TLS. A client that verifies it
// (sslmode=verify-full, as libpq users should) gets a TLS session; one that trusts another
// authority refuses the server. PgBouncer, on its own port and behind HAProxy's on every
// node, serves the cluster's service certificate, valid at whichever node's address the
// client dialled, refuses a client that asks for no TLS, and reaches PostgreSQL over TLS. The replicas stream over TLS, and pghac
// status shows each certificate's end.
func checkTLS(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	cl := c.Model
	tlsDir := filepath.Join(c.Config.StateDir, "tls")
	ca := c.caPath()
	superuser := c.secret(t, model.SecretSuperuserPassword)
	app := c.secret(t, model.RolePassword(appRole))
	const inTLS = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
	other, err := realcheck.WriteTLS(t.TempDir(), cl.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Addresses() {
		conn := dsn(a, cl.Postgres.Port, model.SuperuserName, model.SuperuserName, "sslmode=verify-full", "sslrootcert="+ca)
		if out, err := psqlAs(ctx, conn, superuser, inTLS); err != nil || out != "t" {
			t.Errorf("%s:%d with sslmode=verify-full: %q %v; want a TLS session", a, cl.Postgres.Port, out, err)
		}
		conn = dsn(a, cl.Postgres.Port, model.SuperuserName, model.SuperuserName, "sslmode=verify-full", "sslrootcert="+other.CA)
		if out, err := psqlAs(ctx, conn, superuser, inTLS); err == nil || !strings.Contains(out, "certificate verify failed") {
			t.Errorf("%s:%d trusting another authority: %q %v; want certificate verify failed", a, cl.Postgres.Port, out, err)
		}
		conn = dsn(a, cl.Postgres.Port, model.SuperuserName, model.SuperuserName, "sslmode=disable")
		if out, err := psqlAs(ctx, conn, superuser, "SELECT 1"); err == nil || !strings.Contains(out, "no encryption") {
			t.Errorf("%s:%d without TLS: %q %v; want no pg_hba.conf entry ... no encryption", a, cl.Postgres.Port, out, err)
		}
		for _, port := range []int{cl.PgBouncer.Port, cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort} {
			conn := dsn(a, port, appRole, appRole, "sslmode=verify-full", "sslrootcert="+ca)
			// What pg_stat_ssl shows is PgBouncer's own connection to PostgreSQL.
			if out, err := psqlAs(ctx, conn, app, inTLS); err != nil || out != "t" {
				t.Errorf("%s:%d with sslmode=verify-full: %q %v; want TLS to PgBouncer and from it to PostgreSQL", a, port, out, err)
			}
			conn = dsn(a, port, appRole, appRole, "sslmode=verify-full", "sslrootcert="+other.CA)
			if out, err := psqlAs(ctx, conn, app, "SELECT 1"); err == nil || !strings.Contains(out, "certificate verify failed") {
				t.Errorf("%s:%d trusting another authority: %q %v; want certificate verify failed", a, port, out, err)
			}
			// PgBouncer requires TLS, and HAProxy passes the client's refusal through.
			conn = dsn(a, port, appRole, appRole, "sslmode=disable")
			if out, err := psqlAs(ctx, conn, app, "SELECT 1"); err == nil || !strings.Contains(out, "SSL required") {
				t.Errorf("%s:%d without TLS: %q %v; want SSL required", a, port, out, err)
			}
		}
	}
	want := fmt.Sprintf("%d/%d", len(cl.Nodes)-1, len(cl.Nodes)-1)
	const replicas = "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"
	if out, err := psqlAs(ctx, c.adminDSN(model.SuperuserName), superuser, replicas); err != nil || out != want {
		t.Errorf("replication connections over TLS / all: %q %v; want %s", out, err, want)
	}

	out, err := c.Run(ctx, "status")
	if err != nil || !strings.Contains(out, "CERT UNTIL") {
		t.Fatalf("pghac status: %v\n%s", err, out)
	}
	for _, n := range cl.Nodes {
		b, err := os.ReadFile(filepath.Join(tlsDir, "nodes", n.Name+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := pki.ParseCert(b)
		if err != nil {
			t.Fatal(err)
		}
		until := cert.NotAfter.UTC().Format(time.DateOnly)
		line := lineOf(out, n.Name+" ")
		if !strings.Contains(line, until) || strings.Contains(line, "TLS off") || strings.Contains(line, "unknown") || strings.Contains(line, "invalid") {
			t.Errorf("pghac status: %s's line does not show its certificates' ends (%s for PostgreSQL's):\n%s", n.Name, until, out)
		}
	}
}

// lineOf is the first line of out that starts with prefix, "" for none.
func lineOf(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
