package sandboxtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
)

// adminDSN is the superuser's way in from the admin path (in the sandbox, this host) to
// database: straight to PostgreSQL, every node listed, libpq keeping the primary.
func (c *Cluster) adminDSN(database string) string {
	hosts := make([]string, 0, len(c.Model.Nodes))
	ports := make([]string, 0, len(c.Model.Nodes))
	for _, a := range c.Addresses() {
		hosts = append(hosts, a.String())
		ports = append(ports, fmt.Sprint(c.Model.Postgres.Port))
	}
	return fmt.Sprintf("host=%s port=%s user=%s dbname=%s connect_timeout=5 target_session_attrs=read-write",
		strings.Join(hosts, ","), strings.Join(ports, ","), model.SuperuserName, database)
}

// checkAccess: who may log in where, each with its right password. The superuser: from the
// admin path straight to PostgreSQL, never through HAProxy or PgBouncer. The replication and
// rewind roles: from the nodes' own addresses alone, so not from this host. The client role:
// through HAProxy and PgBouncer, not straight to PostgreSQL.
func checkAccess(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	cl := c.Model
	superuser := c.secret(t, model.SecretSuperuserPassword)
	if out, err := psqlAs(ctx, c.adminDSN(model.SuperuserName), superuser, "SELECT current_user || ' ' || pg_is_in_recovery()"); err != nil || out != "postgres false" {
		t.Errorf("the superuser from the admin path to PostgreSQL's primary: %q, %v", out, err)
	}
	// PgBouncer finds the superuser neither in its auth_file nor through auth_query: to
	// PgBouncer 1.18 there is no such user.
	refusedAuth := func(out string) bool { return strings.Contains(out, "FATAL:  no such user") }
	noEntry := func(out string) bool { return strings.Contains(out, "no pg_hba.conf entry") }
	for _, a := range c.Addresses() {
		for _, port := range []int{cl.HAProxy.PrimaryPort, cl.HAProxy.ReplicaPort, cl.PgBouncer.Port} {
			if out, err := psqlAs(ctx, dsn(a, port, model.SuperuserName, model.SuperuserName), superuser, "SELECT 1"); err == nil || !refusedAuth(out) {
				t.Errorf("the superuser through %s:%d: %v %s; want refused", a, port, err, out)
			}
		}
		for _, try := range []struct {
			who, conn string
			secret    model.Secret
		}{
			{"the replication role", dsn(a, cl.Postgres.Port, model.ReplicationUser, "replication", "replication=true"), model.SecretReplicationPassword},
			{"the rewind role", dsn(a, cl.Postgres.Port, model.RewindUser, model.SuperuserName), model.SecretRewindPassword},
			{"the client role", dsn(a, cl.Postgres.Port, appRole, appRole), model.RolePassword(appRole)},
		} {
			if out, err := psqlAs(ctx, try.conn, c.secret(t, try.secret), "SELECT 1"); err == nil || !noEntry(out) {
				t.Errorf("%s from this host (not a node) to %s:%d: %v %s; want no pg_hba.conf entry", try.who, a, cl.Postgres.Port, err, out)
			}
		}
	}
}
