package pgbouncer

import (
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"text/template"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

const (
	// ConfigPath is the file Debian's pgbouncer.service runs PgBouncer with.
	ConfigPath = "/etc/pgbouncer/pgbouncer.ini"
	// UserlistPath is PgBouncer's auth_file.
	UserlistPath = "/etc/pgbouncer/userlist.txt"
	// SocketDir is PostgreSQL's socket directory too: psql -p <port> finds both there.
	SocketDir = "/var/run/postgresql"
)

// AuthQuery is PgBouncer's auth_query: the SCRAM secret of a login role that is not in its
// auth_file, looked up as model.PgBouncerAuthUser with the function Patroni's post_bootstrap
// script creates.
const AuthQuery = "SELECT username, password FROM " + model.PgBouncerAuthFunction + "($1)"

// unit is PgBouncer's systemd unit as Debian's package ships it.
const unit = "pgbouncer"

//go:embed templates/pgbouncer.ini.tmpl
var iniText string

var iniTmpl = template.Must(template.New("pgbouncer.ini").Option("missingkey=error").Parse(iniText))

type iniData struct {
	Node             string
	PostgresPort     int
	ListenAddr       string
	Port             int
	SocketDir        string
	AuthFile         string
	AdminUser        string
	AuthUser         string
	AuthQuery        string
	Databases        []model.Database // those with a pool mode of their own
	PoolMode         string
	DefaultPoolSize  int
	MaxClientConn    int
	ServerLoginRetry string
	QueryWaitTimeout string
	ServiceCert      string
	CACert           string
}

// NodePart returns PgBouncer's part of node n: its files, in path order, and the boot lines
// that enable and start it.
func NodePart(c *model.Cluster, n model.Node) (artifact.NodePart, error) {
	p := c.PgBouncer
	if err := checkPoolMode(p.PoolMode); err != nil {
		return artifact.NodePart{}, err
	}
	var dbs []model.Database
	for _, db := range c.Databases {
		if db.PoolMode == "" {
			continue
		}
		if err := checkPoolMode(db.PoolMode); err != nil {
			return artifact.NodePart{}, err
		}
		dbs = append(dbs, db)
	}
	d := iniData{
		Node:         n.Name,
		PostgresPort: c.Postgres.Port,
		// The node address for HAProxy on every node; loopback for clients on this one.
		ListenAddr:       n.Address.String() + ",127.0.0.1",
		Port:             p.Port,
		SocketDir:        SocketDir,
		AuthFile:         UserlistPath,
		AdminUser:        model.PgBouncerAdminUser,
		AuthUser:         model.PgBouncerAuthUser,
		AuthQuery:        AuthQuery,
		Databases:        dbs,
		PoolMode:         p.PoolMode,
		DefaultPoolSize:  p.DefaultPoolSize,
		MaxClientConn:    p.MaxClientConn,
		ServerLoginRetry: seconds(p.ServerLoginRetry),
		QueryWaitTimeout: seconds(p.QueryWaitTimeout),
		ServiceCert:      model.TLSServicePath,
		CACert:           model.TLSCAPath,
	}
	var ini bytes.Buffer
	if err := iniTmpl.Execute(&ini, d); err != nil {
		return artifact.NodePart{}, fmt.Errorf("pgbouncer: %s: %w", ConfigPath, err)
	}
	// PgBouncer keeps these plain passwords and answers SCRAM with them both ways: to clients
	// and to PostgreSQL. Every other role comes from auth_query, which finds no superuser:
	// the superuser is not in here either, so no client port lets it in. Rendered, a line is
	// `"user" "<password>"`, so generated passwords carry no double quote.
	var userlist string
	for _, u := range []struct {
		name   string
		secret model.Secret
	}{
		{model.PgBouncerAdminUser, model.SecretPgBouncerAdminPassword},
		{model.PgBouncerAuthUser, model.SecretPgBouncerAuthPassword},
	} {
		userlist += `"` + u.name + `" "` + u.secret.Placeholder() + `"` + "\n"
	}
	return artifact.NodePart{
		Files: []artifact.NodeFile{
			// PgBouncer runs as postgres. The ini holds no secret, but nothing outside the
			// group needs to read it.
			{Path: ConfigPath, Owner: "postgres:postgres", Mode: 0o640, Bytes: ini.Bytes()},
			{Path: UserlistPath, Owner: "postgres:postgres", Mode: 0o600, Bytes: []byte(userlist)},
		},
		// Restart, so that a PgBouncer the image already runs reads the config; and wait for
		// it, so that a bad config fails the boot where it shows.
		Boot: []string{"systemctl enable " + unit, "systemctl restart " + unit},
	}, nil
}

func checkPoolMode(mode string) error {
	switch mode {
	case model.PoolSession, model.PoolTransaction, model.PoolStatement:
		return nil
	}
	return fmt.Errorf("pgbouncer: %s: unknown pool_mode %q", ConfigPath, mode)
}

// seconds formats d as PgBouncer's time settings take it: seconds, fractions allowed.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
