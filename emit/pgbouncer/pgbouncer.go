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
	PoolMode         string
	DefaultPoolSize  int
	MaxClientConn    int
	ServerLoginRetry string
	QueryWaitTimeout string
}

// Files returns node n's PgBouncer files, in path order.
func Files(c *model.Cluster, n model.Node) ([]artifact.NodeFile, error) {
	p := c.PgBouncer
	switch p.PoolMode {
	case "session", "transaction", "statement":
	default:
		return nil, fmt.Errorf("pgbouncer: %s: unknown pool_mode %q", ConfigPath, p.PoolMode)
	}
	d := iniData{
		Node:         n.Name,
		PostgresPort: c.Postgres.Port,
		// The node address for HAProxy on every node; loopback for clients on this one.
		ListenAddr:       n.Address.String() + ",127.0.0.1",
		Port:             p.Port,
		SocketDir:        SocketDir,
		AuthFile:         UserlistPath,
		AdminUser:        model.SuperuserName,
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
	// PgBouncer keeps the plain password and answers SCRAM with it both ways: to clients and
	// to PostgreSQL. Rendered, the line is `"postgres" "<password>"`, so generated passwords
	// carry no double quote.
	userlist := `"` + model.SuperuserName + `" "` + model.SecretSuperuserPassword.Placeholder() + `"` + "\n"
	if b := c.Backend; b != nil {
		userlist += `"` + b.User + `" "` + model.SecretBackendPassword.Placeholder() + `"` + "\n"
	}
	return []artifact.NodeFile{
		// PgBouncer runs as postgres. The ini holds no secret, but nothing outside the group
		// needs to read it.
		{Path: ConfigPath, Owner: "postgres:postgres", Mode: 0o640, Bytes: ini.Bytes()},
		{Path: UserlistPath, Owner: "postgres:postgres", Mode: 0o600, Bytes: []byte(userlist)},
	}, nil
}

// seconds formats d as PgBouncer's time settings take it: seconds, fractions allowed.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
