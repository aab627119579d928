package realcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validPatroni is a complete Patroni 3.0 configuration, in the shape pghac emits, on addresses
// this host does not have.
const validPatroni = `scope: main
name: node0
restapi:
  listen: 10.128.0.16:8008
  connect_address: 10.128.0.16:8008
etcd3:
  hosts:
    - 10.128.0.16:2379
    - 10.129.0.14:2379
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 4
  initdb:
    - encoding: UTF8
  pg_hba:
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 10.128.0.16,127.0.0.1:5432
  connect_address: 10.128.0.16:5432
  data_dir: /var/lib/postgresql/99/main
  bin_dir: /usr/lib/postgresql/99/bin
  authentication:
    superuser: {username: postgres, password: a}
    replication: {username: replicator, password: b}
    rewind: {username: rewinder, password: c}
`

func TestPatroni(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string // empty: must pass
	}{
		{
			// Names a PostgreSQL version this host lacks and addresses it does not have.
			name: "valid",
			src:  validPatroni,
		},
		{
			name:    "wrong type",
			src:     strings.Replace(validPatroni, "ttl: 20", "ttl: abc", 1),
			wantErr: "bootstrap.dcs.ttl abc is not and integer",
		},
		{
			name:    "missing section",
			src:     strings.Replace(validPatroni, "    rewind: {username: rewinder, password: c}\n", "", 1),
			wantErr: "postgresql.authentication.rewind  is not defined.",
		},
		{
			name:    "loopback connect address",
			src:     strings.Replace(validPatroni, "connect_address: 10.128.0.16:8008", "connect_address: 127.0.0.1:8008", 1),
			wantErr: `restapi.connect_address 127.0.0.1:8008 didn't pass validation: 'must not contain "127.0.0.1"`,
		},
		{
			name:    "not YAML",
			src:     "scope: main\n  name: [\n",
			wantErr: "mapping values are not allowed here",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yml")
			if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			err := Patroni(context.Background(), path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Patroni: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Patroni accepted the config, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Patroni error:\n%v\nwant it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPatroniMissingFile(t *testing.T) {
	if err := Patroni(context.Background(), filepath.Join(t.TempDir(), "none.yml")); err == nil {
		t.Fatal("Patroni accepted a missing file")
	}
}

func TestPatroniHostVerdicts(t *testing.T) {
	for line, want := range map[string]bool{
		"restapi.listen 10.128.0.16:8008 didn't pass validation: 'Port 8008 is already in use.'":                                       true,
		"etcd3.hosts 10.129.0.14:2379 didn't pass validation: 10.129.0.14:2379 is not reachable":                                       true,
		"etcd3.hosts node1:2379 didn't pass validation: [Errno -2] Name or service not known":                                          true,
		"postgresql.bin_dir /usr/lib/postgresql/16/bin didn't pass validation: Directory '/usr/lib/postgresql/16/bin' does not exist.": true,
		"bootstrap.dcs.ttl abc is not and integer":                                                                                     false,
		"postgresql.data_dir  is an empty string":                                                                                      false,
		"restapi.connect_address 127.0.0.1:8008 didn't pass validation: must not contain \"127.0.0.1\", \"0.0.0.0\"":                   false,
		// The same message about a path that is not the host's.
		"postgresql.authentication.rewind Directory 'x' does not exist.": false,
	} {
		if got := isPatroniHostVerdict(line); got != want {
			t.Errorf("isPatroniHostVerdict(%q) = %v, want %v", line, got, want)
		}
	}
}
