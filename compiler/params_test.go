package compiler

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pghac/pghac/compiler/model"
)

func TestUserParametersOverrideDerived(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", `  postgres {
    parameters {
      work_mem = "64MB"
      jit      = false
      max_connections = 250
    }
  }
  network {`, 1)
	c, diags := compile(t, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]model.Parameter{}
	for i, p := range c.Postgres.Parameters {
		got[p.Name] = p
		if i > 0 && c.Postgres.Parameters[i-1].Name >= p.Name {
			t.Errorf("parameters not sorted at %s", p.Name)
		}
	}
	for name, want := range map[string]model.Parameter{
		"work_mem":        {Name: "work_mem", Value: "64MB", FromUser: true},
		"jit":             {Name: "jit", Value: "off", FromUser: true},
		"max_connections": {Name: "max_connections", Value: "250", FromUser: true},
		"shared_buffers":  {Name: "shared_buffers", Value: "1024MB"},
	} {
		if diff := cmp.Diff(want, got[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestDeriveParameters(t *testing.T) {
	vm := model.VM{Cores: 4, MemoryGB: 8, DiskSizeGB: 10, DiskType: "network-ssd"}
	small := vm
	small.MemoryGB = 4
	nodes := []model.Node{{VM: vm}, {VM: small}, {VM: vm}}
	got := map[string]string{}
	for _, p := range deriveParameters(nodes, 20) {
		got[p.Name] = p.Value
	}
	want := map[string]string{
		"shared_buffers":       "1024MB", // the smallest node decides
		"effective_cache_size": "3072MB",
		"maintenance_work_mem": "256MB",
		"max_connections":      "100",
		"work_mem":             "10485kB",
		"max_wal_size":         "1024MB",
		"min_wal_size":         "256MB",
		"wal_keep_size":        "512MB",
		"random_page_cost":     "1.1",
		"max_worker_processes": "8",
		"max_wal_senders":      "10",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
