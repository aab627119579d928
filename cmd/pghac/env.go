package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"mvdan.cc/sh/v3/syntax"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/site"
)

var envCommand = &command{
	name:     "env",
	synopsis: "[-f cluster.hcl] [--state-dir DIR] [--role NAME]",
	summary:  "print connection settings for the sandbox cluster (passwords kept in a 0600 file)",
	detail: `Prints how to connect to the sandbox cluster, as shell variables that psql and every
libpq client read: PGHOST and PGPORT list every node's HAProxy primary port (any of
them reaches the leader), PGTARGETSESSIONATTRS=read-write makes libpq skip a node
that does not answer as the primary, PGUSER and PGDATABASE, and PGPASSFILE, a
password file (mode 0600) pghac writes into the state folder with the passwords of
the superuser and of every role block. No password is ever printed.
PGHAC_PRIMARY_URL and PGHAC_REPLICAS_URL are connection URIs for the primary
(target_session_attrs=read-write) and for the replicas (read-only).

--role NAME connects as a role block's role, to the first database it owns.

PGTARGETSESSIONATTRS applies to any host and port given on the command line too:
for a replica port use PGHAC_REPLICAS_URL, or target_session_attrs=read-only.

  eval "$(pghac env)"; psql -c 'select 1'`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, false)
		role := fs.String("role", "", "connect as the role block `NAME` instead of the superuser")
		return func(c *cli, _ []string) int {
			s, code, ok := c.sandboxSite("env", f)
			if !ok {
				return code
			}
			return c.env(s, *role)
		}
	},
}

func (c *cli) env(s site.Site, role string) int {
	cl, code, ok := c.loadQuiet("env", s.File)
	if !ok {
		return code
	}
	user, database := model.SuperuserName, model.SuperuserName
	if role != "" {
		var found bool
		if database, found = roleDatabase(cl, role); !found {
			var names []string
			for _, r := range cl.Roles {
				names = append(names, r.Name)
			}
			if len(names) == 0 {
				names = []string{"none"}
			}
			return c.usageError(lookup("env"), fmt.Sprintf("--role %s: %s declares no such role (role blocks: %s)", role, s.File, strings.Join(names, ", ")))
		}
		user = role
	}
	vars, err := s.ReadSecrets()
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac env: no secrets: %v\nRun `pghac up` first.\n", err)
		return exitInvalid
	}
	secret := model.SecretSuperuserPassword
	if user != model.SuperuserName {
		secret = model.RolePassword(user)
	}
	if vars[string(secret)] == "" {
		fmt.Fprintf(c.stderr, "pghac env: %s holds no password for %s\nRun `pghac up` first.\n", s.Secrets(), user)
		return exitInvalid
	}
	if err := s.WritePgpass(cl, vars); err != nil {
		fmt.Fprintf(c.stderr, "pghac env: %v\n", err)
		return exitRuntime
	}
	if err := printEnv(c.stdout, cl, s.Pgpass(), user, database); err != nil {
		fmt.Fprintf(c.stderr, "pghac env: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// roleDatabase is the first database that role owns (postgres when it owns none), and whether
// the cluster declares role.
func roleDatabase(cl *model.Cluster, role string) (string, bool) {
	if !slices.ContainsFunc(cl.Roles, func(r model.Role) bool { return r.Name == role }) {
		return "", false
	}
	for _, db := range cl.Databases {
		if db.Owner == role {
			return db.Name, true
		}
	}
	return model.SuperuserName, true
}

// printEnv writes the connection settings as shell assignments, quoted for a POSIX shell
// where they need it.
func printEnv(w io.Writer, cl *model.Cluster, pgpass, user, database string) error {
	hosts := make([]string, len(cl.Nodes))
	ports := make([]string, len(cl.Nodes))
	for i, n := range cl.Nodes {
		hosts[i] = n.Address.String()
		ports[i] = strconv.Itoa(cl.HAProxy.PrimaryPort)
	}
	url := func(port int, attrs string) string {
		hp := make([]string, len(cl.Nodes))
		for i, n := range cl.Nodes {
			hp[i] = n.AddrPort(port).String()
		}
		return fmt.Sprintf("postgresql://%s@%s/%s?%s", user, strings.Join(hp, ","), database, attrs)
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
		{"PGHAC_PRIMARY_URL", url(cl.HAProxy.PrimaryPort, "connect_timeout=3&target_session_attrs=read-write")},
		{"PGHAC_REPLICAS_URL", url(cl.HAProxy.ReplicaPort, "connect_timeout=3&target_session_attrs=read-only")},
	} {
		q, err := syntax.Quote(kv[1], syntax.LangPOSIX)
		if err != nil { // a NUL byte, which no shell variable can hold
			return fmt.Errorf("%s: %w", kv[0], err)
		}
		fmt.Fprintf(w, "export %s=%s\n", kv[0], q)
	}
	return nil
}
