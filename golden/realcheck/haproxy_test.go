package realcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validHAProxy binds addresses this host does not have, which `haproxy -c` allows.
const validHAProxy = `global
    user haproxy
    group haproxy
defaults
    mode tcp
    timeout connect 4s
    timeout client 30m
    timeout server 30m
listen stats
    mode http
    bind 10.128.0.16:7000
    stats enable
    stats auth stats:test-secret
listen primary
    bind 10.128.0.16:5000
    option httpchk OPTIONS /primary
    default-server inter 1s fall 2 rise 1
    server node0 10.128.0.16:6432 check port 8008
`

func TestHAProxy(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string // empty: must pass
	}{
		{name: "valid", src: validHAProxy},
		{
			name:    "bad duration",
			src:     strings.Replace(validHAProxy, "inter 1s", "inter 1x", 1),
			wantErr: "unexpected character 'x'",
		},
		{
			name:    "unresolvable server",
			src:     strings.Replace(validHAProxy, "server node0 10.128.0.16:6432", "server node0 node0.invalid:6432", 1),
			wantErr: "could not resolve address 'node0.invalid'",
		},
		{
			name:    "unrendered placeholder",
			src:     strings.Replace(validHAProxy, "stats:test-secret", "stats:${haproxy_stats_password}", 1),
			wantErr: ":13: unrendered placeholder",
		},
		{
			name:    "warning",
			src:     validHAProxy + "    option httplog\n",
			wantErr: "[WARNING]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "haproxy.cfg")
			if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			err := HAProxy(context.Background(), path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("HAProxy: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("HAProxy accepted the config, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("HAProxy error:\n%v\nwant it to contain %q", err, tt.wantErr)
			}
		})
	}
}
