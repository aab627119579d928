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
	"github.com/pghac/pghac/emit/roles"
)

const (
	// ConfigPath is the file Debian's pgbouncer.service runs PgBouncer with.
	ConfigPath = "/etc/pgbouncer/pgbouncer.ini"
	// UserlistPath is PgBouncer's auth_file.
	UserlistPath = "/etc/pgbouncer/userlist.txt"
	// SocketDir is PostgreSQL's socket directory too: psql -p <port> finds both there.
	SocketDir = "/var/run/postgresql"
)

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
}

// Files returns node n's PgBouncer files, in path order.
func Files(c *model.Cluster, n model.Node) ([]artifact.NodeFile, error) {
	p := c.PgBouncer
	if err := checkPoolMode(p.PoolMode); err != nil {
		return nil, err
	}
	var dbs []model.Database
	for _, db := range c.Databases {
		if db.PoolMode == "" {
			continue
		}
		if err := checkPoolMode(db.PoolMode); err != nil {
			return nil, err
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
		AuthQuery:        roles.AuthQuery,
		Databases:        dbs,
		PoolMode:         p.PoolMode,
		DefaultPoolSize:  p.DefaultPoolSize,
		MaxClientConn:    p.MaxClientConn,
		ServerLoginRetry: seconds(p.ServerLoginRetry),
		QueryWaitTimeout: seconds(p.QueryWaitTimeout),
	}
	var ini bytes.Buffer
	if err := iniTmpl.Execute(&ini, d); err != nil {
		return nil, fmt.Errorf("pgbouncer: %s: %w", ConfigPath, err)
	}
	// PgBouncer keeps these plain passwords and answers SCRAM with them both ways: to clients
	// and to PostgreSQL. Every other role comes from auth_query. Rendered, a line is
	// `"user" "<password>"`, so generated passwords carry no double quote.
	var userlist string
	for _, u := range []struct {
		name   string
		secret model.Secret
	}{
		{model.SuperuserName, model.SecretSuperuserPassword},
		{model.PgBouncerAdminUser, model.SecretPgBouncerAdminPassword},
		{model.PgBouncerAuthUser, model.SecretPgBouncerAuthPassword},
	} {
		userlist += `"` + u.name + `" "` + u.secret.Placeholder() + `"` + "\n"
	}
	return []artifact.NodeFile{
		// PgBouncer runs as postgres. The ini holds no secret, but nothing outside the group
		// needs to read it.
		{Path: ConfigPath, Owner: "postgres:postgres", Mode: 0o640, Bytes: ini.Bytes()},
		{Path: UserlistPath, Owner: "postgres:postgres", Mode: 0o600, Bytes: []byte(userlist)},
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
