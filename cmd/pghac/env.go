package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var envCommand = &command{
	name:     "env",
	synopsis: "[-f cluster.hcl] [--state-dir DIR] [--role NAME]",
	summary:  "print connection settings for the sandbox cluster (passwords kept in a 0600 file)",
	detail: `Prints how to connect to the sandbox cluster, as shell variables that psql and every
libpq client read: PGHOST and PGPORT list every node's HAProxy primary port (any of
them reaches the leader), PGTARGETSESSIONATTRS=read-write makes libpq skip a node
that does not answer as the primary, PGSSLMODE=verify-full and PGSSLROOTCERT, the
cluster's certificate authority, so that libpq talks TLS and checks whom it talks
to, PGUSER and PGDATABASE, and PGPASSFILE, a
password file (mode 0600) pghac writes into the state folder with the passwords of
the superuser and of every role block. No password is ever printed. The role is the
first role block that owns a database: the superuser cannot log in through PgBouncer
(so neither through HAProxy); it reaches PostgreSQL itself (port 5432) from the nodes
and from the admin path, which in the sandbox is this host.
PGHAC_PRIMARY_URL and PGHAC_REPLICAS_URL are connection URIs for the primary
(target_session_attrs=read-write) and for the replicas (read-only).

--role NAME connects as another role block's role, to the first database it owns.

PGTARGETSESSIONATTRS applies to any host and port given on the command line too:
for a replica port use PGHAC_REPLICAS_URL, or target_session_attrs=read-only.

  eval "$(pghac env)"; psql -c 'select 1'`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, false)
		role := fs.String("role", "", "connect as the role block `NAME` instead of the first that owns a database")
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
	cl, code, ok := c.loadQuiet("env", s)
	if !ok {
		return code
	}
	user, database, found := cl.ClientRole()
	if role != "" {
		user = role
		database, found = cl.RoleDatabase(role)
	}
	if !found {
		names := make([]string, 0, len(cl.Roles))
		for _, r := range cl.Roles {
			names = append(names, r.Name)
		}
		if role != "" {
			if len(names) == 0 {
				names = []string{"none"}
			}
			return c.usageError(lookup("env"), fmt.Sprintf("--role %s: %s declares no such role (role blocks: %s)", role, s.File, strings.Join(names, ", ")))
		}
		fmt.Fprintf(c.stderr, "pghac env: %s: %v, or name a role with --role\n", s.File, model.ErrNoClientRole)
		return exitInvalid
	}
	vars, err := s.ReadSecrets()
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac env: no secrets: %v\nRun `pghac up` first.\n", err)
		return exitInvalid
	}
	secret := model.RolePassword(user)
	if vars[string(secret)] == "" {
		fmt.Fprintf(c.stderr, "pghac env: %s holds no password for %s\nRun `pghac up` first.\n", s.Secrets(), user)
		return exitInvalid
	}
	if !s.HasCA() {
		fmt.Fprintf(c.stderr, "pghac env: no certificate authority (%s) to verify the cluster with\nRun `pghac up` first.\n", s.CACert())
		return exitInvalid
	}
	if err := s.WritePgpass(cl, vars); err != nil {
		return c.fail("env", err)
	}
	if err := view.Env(c.stdout, cl, s.Pgpass(), s.CACert(), user, database); err != nil {
		return c.fail("env", err)
	}
	return exitOK
}
