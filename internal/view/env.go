package view

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/pghac/pghac/compiler/model"
)

// Env writes the settings that connect libpq clients to cl as user to database, as shell
// assignments quoted for a POSIX shell where they need it: over TLS, verifying the server's
// certificate against caCert for the address dialled. The password stays in pgpass.
func Env(w io.Writer, cl *model.Cluster, pgpass, caCert, user, database string) error {
	hosts := make([]string, len(cl.Nodes))
	ports := make([]string, len(cl.Nodes))
	for i, n := range cl.Nodes {
		hosts[i] = n.Address.String()
		ports[i] = strconv.Itoa(cl.HAProxy.PrimaryPort)
	}
	uri := func(port int, attrs string) string {
		hp := make([]string, len(cl.Nodes))
		for i, n := range cl.Nodes {
			hp[i] = n.AddrPort(port).String()
		}
		q := url.Values{"sslmode": {"verify-full"}, "sslrootcert": {caCert}}
		return fmt.Sprintf("postgresql://%s@%s/%s?%s&%s", user, strings.Join(hp, ","), database, attrs, q.Encode())
	}
	fmt.Fprintf(w, "# Cluster %s in the sandbox: HAProxy on every node routes %d to the leader and %d to the replicas.\n",
		cl.Name, cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort)
	fmt.Fprintln(w, "# libpq tries the nodes in turn and keeps the first that is what target_session_attrs asks for.")
	fmt.Fprintln(w, "# The password is in PGPASSFILE, never here. Use: eval \"$(pghac env)\"")
	for _, kv := range [][2]string{
		{"PGHOST", strings.Join(hosts, ",")},
		{"PGPORT", strings.Join(ports, ",")},
		{"PGUSER", user},
		{"PGDATABASE", database},
		{"PGPASSFILE", pgpass},
		{"PGCONNECT_TIMEOUT", "3"},
		{"PGTARGETSESSIONATTRS", "read-write"},
		{"PGSSLMODE", "verify-full"},
		{"PGSSLROOTCERT", caCert},
		{"PGHAC_PRIMARY_URL", uri(cl.HAProxy.PrimaryPort, "connect_timeout=3&target_session_attrs=read-write")},
		{"PGHAC_REPLICAS_URL", uri(cl.HAProxy.ReplicaPort, "connect_timeout=3&target_session_attrs=read-only")},
	} {
		q, err := syntax.Quote(kv[1], syntax.LangPOSIX)
		if err != nil { // a NUL byte, which no shell variable can hold
			return fmt.Errorf("%s: %w", kv[0], err)
		}
		fmt.Fprintf(w, "export %s=%s\n", kv[0], q)
	}
	return nil
}
