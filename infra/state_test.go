package infra

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStateOutput(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "terraform.tfstate")
	if err := os.WriteFile(state, []byte(`{"version": 4, "outputs": {
		"addr": {"value": "203.0.113.7", "type": "string"},
		"empty": {"value": "", "type": "string"},
		"ports": {"value": [5000, 5001], "type": ["list", "number"]}
	}, "resources": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	garbled := filepath.Join(dir, "garbled.tfstate")
	if err := os.WriteFile(garbled, []byte(`{"outputs": `), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file, name string
		want       string
		ok         bool
	}{
		{state, "addr", "203.0.113.7", true},
		{state, "empty", "", false}, // an unset address is no address
		{state, "ports", "", false}, // not a string
		{state, "absent", "", false},
		{garbled, "addr", "", false},                            // not JSON
		{filepath.Join(dir, "none.tfstate"), "addr", "", false}, // no apply yet
	} {
		if got, ok := StateOutput(tt.file, tt.name); got != tt.want || ok != tt.ok {
			t.Errorf("StateOutput(%s, %q) = %q, %v; want %q, %v", filepath.Base(tt.file), tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
