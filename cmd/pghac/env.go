package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
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

func (c *cli) env(s sandboxSite, role string) int {
	cl, code, ok := c.loadQuiet("env", s.file)
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
			return c.usageError(lookup("env"), fmt.Sprintf("--role %s: %s declares no such role (role blocks: %s)", role, s.file, strings.Join(names, ", ")))
		}
		user = role
	}
	vars, err := infra.StringVars(s.secrets)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac env: no secrets: %v\nRun `pghac up` first.\n", err)
		return exitInvalid
	}
	passwords := map[string]string{model.SuperuserName: vars[string(model.SecretSuperuserPassword)]}
	for _, r := range cl.Roles {
		passwords[r.Name] = vars[string(model.RolePassword(r.Name))]
	}
	if passwords[user] == "" {
		fmt.Fprintf(c.stderr, "pghac env: %s holds no password for %s\nRun `pghac up` first.\n", s.secrets, user)
		return exitInvalid
	}
	if err := writePrivate(s.pgpass, pgpassFile(cl, passwords), true); err != nil {
		fmt.Fprintf(c.stderr, "pghac env: %v\n", err)
		return exitRuntime
	}
	printEnv(c.stdout, cl, s.pgpass, user, database)
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

// pgpassFile is a libpq password file with the password of each user (the superuser and the
// roles with one) for every port of every node that takes it: HAProxy's two, PgBouncer's and
// PostgreSQL's.
func pgpassFile(cl *model.Cluster, passwords map[string]string) []byte {
	users := []string{model.SuperuserName}
	for _, r := range cl.Roles {
		users = append(users, r.Name)
	}
	var b strings.Builder
	b.WriteString("# Written by `pghac env`: passwords of the sandbox cluster's roles. Mode 0600.\n")
	for _, u := range users {
		if passwords[u] == "" {
			continue
		}
		for _, n := range cl.Nodes {
			for _, port := range []int{cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort, cl.PgBouncer.Port, cl.Postgres.Port} {
				fmt.Fprintf(&b, "%s:%d:*:%s:%s\n", n.Address, port, u, passwords[u])
			}
		}
	}
	return []byte(b.String())
}

// printEnv writes the connection settings as shell assignments.
func printEnv(w io.Writer, cl *model.Cluster, pgpass, user, database string) {
	hosts := make([]string, len(cl.Nodes))
	ports := make([]string, len(cl.Nodes))
	for i, n := range cl.Nodes {
		hosts[i] = n.Address.String()
		ports[i] = strconv.Itoa(cl.HAProxy.PrimaryPort)
	}
	url := func(port int, attrs string) string {
		hp := make([]string, len(cl.Nodes))
		for i, n := range cl.Nodes {
			hp[i] = hostPort(n.Address, port)
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
		fmt.Fprintf(w, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.:/_-=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
