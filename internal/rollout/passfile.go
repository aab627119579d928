package rollout

import (
	"context"
	"strings"

	"gopkg.in/yaml.v3"
)

// Patroni keeps a replica's replication password in a passfile of its own (postgresql.pgpass),
// which primary_conninfo names. Patroni 3.0 rewrites it only when it writes the recovery
// configuration (a start, a new primary): a new replication password in its configuration
// file, reloaded, leaves the old one there while the WAL receiver streams, and the next
// reconnection (the primary restarting, a network blip) would fail to log in. So the survey
// checks the passfile too, and a stale password in it is a change like a managed file's.

// replicationAuth is what the passfile check needs from a node's Patroni configuration.
type replicationAuth struct {
	Passfile, User, Password string
}

// patroniReplicationAuth reads the passfile's path and the replication credentials from a
// rendered Patroni configuration; ok is false when it names no passfile or no replication
// user with a password.
func patroniReplicationAuth(patroniConfig []byte) (replicationAuth, bool) {
	var cfg struct {
		PostgreSQL struct {
			Pgpass         string `yaml:"pgpass"`
			Authentication struct {
				Replication struct {
					Username string `yaml:"username"`
					Password string `yaml:"password"`
				} `yaml:"replication"`
			} `yaml:"authentication"`
		} `yaml:"postgresql"`
	}
	if yaml.Unmarshal(patroniConfig, &cfg) != nil {
		return replicationAuth{}, false
	}
	pg := cfg.PostgreSQL
	a := replicationAuth{Passfile: pg.Pgpass, User: pg.Authentication.Replication.Username, Password: pg.Authentication.Replication.Password}
	return a, a.Passfile != "" && a.User != "" && a.Password != ""
}

// withPassword is the passfile content with the password of every line for user set to
// password, and whether that changed anything. A line is host:port:database:user:password,
// ':' and '\' escaped with '\' (libpq's format, as Patroni writes it).
func withPassword(content, user, password string) (string, bool) {
	lines := strings.Split(content, "\n")
	changed := false
	for i, line := range lines {
		fields := splitPassfileLine(line)
		if len(fields) != 5 || unescapePassfile(fields[3]) != user || unescapePassfile(fields[4]) == password {
			continue
		}
		fields[4] = escapePassfile(password)
		lines[i] = strings.Join(fields, ":")
		changed = true
	}
	return strings.Join(lines, "\n"), changed
}

// splitPassfileLine splits a passfile line at its unescaped colons, keeping the escapes.
func splitPassfileLine(line string) []string {
	var fields []string
	start, escaped := 0, false
	for i := 0; i < len(line); i++ {
		switch {
		case escaped:
			escaped = false
		case line[i] == '\\':
			escaped = true
		case line[i] == ':':
			fields = append(fields, line[start:i])
			start = i + 1
		}
	}
	return append(fields, line[start:])
}

func unescapePassfile(s string) string {
	return strings.NewReplacer(`\:`, ":", `\\`, `\`).Replace(s)
}

func escapePassfile(s string) string {
	return strings.NewReplacer(`\`, `\\`, ":", `\:`).Replace(s)
}

// surveyPassfile is the change node needs so that Patroni's passfile holds the replication
// password of its wanted Patroni configuration; ok is false when it needs none (no passfile
// yet, or the right password). Its content is never shown: the diff says what changed.
func surveyPassfile(ctx context.Context, r FileReader, patroniConfig []byte) (FileChange, bool, error) {
	a, ok := patroniReplicationAuth(patroniConfig)
	if !ok {
		return FileChange{}, false, nil
	}
	have, err := r.ReadFiles(ctx, []string{a.Passfile})
	if err != nil {
		return FileChange{}, false, err
	}
	h := have[a.Passfile]
	if !h.Exists {
		return FileChange{}, false, nil
	}
	content, changed := withPassword(string(h.Content), a.User, a.Password)
	if !changed {
		return FileChange{}, false, nil
	}
	return FileChange{
		File:    File{Path: a.Passfile, Content: []byte(content), Mode: h.Mode, Owner: h.Owner},
		Kind:    "changed",
		Diff:    "--- " + a.Passfile + " (Patroni's)\n+++ the replication password of Patroni's configuration\n(contents not shown)\n",
		Actions: []Action{ActionNone}, // libpq reads it at the next connection
	}, true, nil
}
