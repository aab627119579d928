package realcheck

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCloudInit(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string // empty: must pass
	}{
		{
			name: "valid",
			src:  "#cloud-config\nhostname: node0\npackages: [haproxy]\nruncmd:\n  - systemctl daemon-reload\n",
		},
		{
			name:    "wrong type",
			src:     "#cloud-config\npackages: 5\n",
			wantErr: "packages: 5 is not of type 'array'",
		},
		{
			name:    "unknown top-level key",
			src:     "#cloud-config\nhostname: node0\nrun_cmd:\n  - 'true'\n",
			wantErr: `unknown top-level keys: "run_cmd" (line 3)`,
		},
		{
			name:    "known to cloud-init but not emitted by pghac",
			src:     "#cloud-config\napt_proxy: http://192.0.2.1:3142\n",
			wantErr: `unknown top-level keys: "apt_proxy"`,
		},
		{
			name:    "no header",
			src:     "hostname: node0\n",
			wantErr: `needs to begin with "#cloud-config"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "user-data.yaml")
			if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			err := CloudInit(context.Background(), path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CloudInit: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("CloudInit accepted %q, want error containing %q", tt.src, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("CloudInit error:\n%v\nwant it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestCloudInitKeysKnown pins the allow-list to the installed cloud-init: every key must be a
// property of its schema and none may be deprecated there.
func TestCloudInitKeysKnown(t *testing.T) {
	const schemaPath = "/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json"
	src, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("cloud-init's schema (Debian package cloud-init): %v", err)
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Deprecated bool `json:"deprecated"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(src, &schema); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(CloudInitKeys) {
		t.Errorf("CloudInitKeys not sorted: %q", CloudInitKeys)
	}
	for _, k := range CloudInitKeys {
		known := false
		for _, def := range schema.Defs {
			if p, ok := def.Properties[k]; ok {
				known = true
				if p.Deprecated {
					t.Errorf("%s is deprecated in cloud-init's schema", k)
				}
			}
		}
		if !known {
			t.Errorf("%s is not a cloud-init key", k)
		}
	}
}
