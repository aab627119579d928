package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
)

var envCommand = &command{
	name:     "env",
	synopsis: "[-f cluster.hcl] [--state-dir DIR]",
	summary:  "print connection settings for the sandbox cluster (password kept in a 0600 file)",
	detail: `Prints how to connect to the sandbox cluster, as shell variables that psql and every
libpq client read: PGHOST and PGPORT list every node's HAProxy primary port (any of
them reaches the leader), PGUSER and PGDATABASE, and PGPASSFILE, a password file
(mode 0600) pghac writes into the state folder. The password itself is never
printed. PGHAC_PRIMARY_URL and PGHAC_REPLICAS_URL are connection URIs for the
primary and for the replicas.

  eval "$(pghac env)"; psql -c 'select 1'`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, false)
		return func(c *cli, _ []string) int {
			s, code, ok := c.sandboxSite("env", f)
			if !ok {
				return code
			}
			return c.env(s)
		}
	},
}

func (c *cli) env(s sandboxSite) int {
	cl, code, ok := c.loadQuiet("env", s.file)
	if !ok {
		return code
	}
	vars, err := infra.StringVars(s.secrets)
	if err != nil {
		fmt.Fprintf(c.stderr, "pghac env: no secrets: %v\nRun `pghac up` first.\n", err)
		return exitInvalid
	}
	password := vars[string(model.SecretSuperuserPassword)]
	if password == "" {
		fmt.Fprintf(c.stderr, "pghac env: %s holds no %s\n", s.secrets, model.SecretSuperuserPassword)
		return exitInvalid
	}
	if err := writePrivate(s.pgpass, pgpassFile(cl, password), true); err != nil {
		fmt.Fprintf(c.stderr, "pghac env: %v\n", err)
		return exitRuntime
	}
	printEnv(c.stdout, cl, s.pgpass)
	return exitOK
}

// pgpassFile is a libpq password file with the superuser's password for every port of every
// node that takes it: HAProxy's two, PgBouncer's and PostgreSQL's.
func pgpassFile(cl *model.Cluster, password string) []byte {
	var b strings.Builder
	b.WriteString("# Written by `pghac env`: the sandbox cluster's superuser password. Mode 0600.\n")
	for _, n := range cl.Nodes {
		for _, port := range []int{cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort, cl.PgBouncer.Port, cl.Postgres.Port} {
			fmt.Fprintf(&b, "%s:%d:*:%s:%s\n", n.Address, port, model.SuperuserName, password)
		}
	}
	return []byte(b.String())
}

// printEnv writes the connection settings as shell assignments.
func printEnv(w io.Writer, cl *model.Cluster, pgpass string) {
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
		return fmt.Sprintf("postgresql://%s@%s/%s?%s", model.SuperuserName, strings.Join(hp, ","), model.SuperuserName, attrs)
	}
	fmt.Fprintf(w, "# Cluster %s in the sandbox: HAProxy on every node routes %d to the leader and %d to the replicas.\n",
		cl.Name, cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort)
	fmt.Fprintln(w, "# The password is in PGPASSFILE, never here. Use: eval \"$(pghac env)\"")
	for _, kv := range [][2]string{
		{"PGHOST", strings.Join(hosts, ",")},
		{"PGPORT", strings.Join(ports, ",")},
		{"PGUSER", model.SuperuserName},
		{"PGDATABASE", model.SuperuserName},
		{"PGPASSFILE", pgpass},
		{"PGCONNECT_TIMEOUT", "3"},
		{"PGHAC_PRIMARY_URL", url(cl.HAProxy.PrimaryPort, "connect_timeout=3")},
		{"PGHAC_REPLICAS_URL", url(cl.HAProxy.ReplicaPort, "connect_timeout=3")},
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
