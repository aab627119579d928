package schema

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func summaries(t *testing.T, src string) []string {
	t.Helper()
	f, diags := Decode([]byte(src), "cluster.hcl")
	if f == nil || f.HCL == nil {
		t.Fatal("Decode must always return the parsed file for snippets")
	}
	var out []string
	for _, d := range diags {
		if d.Subject == nil {
			t.Errorf("diagnostic %q has no source range", d.Summary)
		}
		out = append(out, d.Summary)
	}
	return out
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"empty", "", []string{"Missing cluster block"}},
		{"two clusters", "cluster \"a\" {}\ncluster \"b\" {}\n", []string{"Duplicate cluster block"}},
		{"list of numbers", "cluster \"a\" {\n network {\n admin_cidrs = [1, true] \n}\n}\n", nil},
		{"not a list", "cluster \"a\" {\n network {\n admin_cidrs = \"10.0.0.0/8\"\n}\n}\n", []string{"Invalid list"}},
		{"list of objects", "cluster \"a\" {\n network {\n admin_cidrs = [{}]\n}\n}\n", []string{"Unsuitable value type"}},
		{"duplicate block", "cluster \"a\" {\n patroni {}\n patroni {}\n}\n", []string{"Duplicate patroni block"}},
		{"missing label", "cluster {}\n", []string{"Missing name for cluster"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summaries(t, tt.src)); diff != "" {
				t.Errorf("summaries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeListsKeepRanges(t *testing.T) {
	src := "cluster \"a\" {\n  network {\n    admin_cidrs = [\n      \"10.0.0.0/8\",\n      \"192.168.0.0/16\",\n    ]\n  }\n}\n"
	f, diags := Decode([]byte(src), "cluster.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := f.Cluster.Network.AdminCIDRs
	if len(got) != 2 || got[0].Value != "10.0.0.0/8" || got[1].Range.Start.Line != 5 {
		t.Errorf("AdminCIDRs = %+v, want two values, the second on line 5", got)
	}
	if f.Cluster.Network.ClientCIDRs != nil {
		t.Errorf("an absent list must decode to nil, got %+v", f.Cluster.Network.ClientCIDRs)
	}
}

func TestWriteDiagnosticsLocations(t *testing.T) {
	f, diags := Decode([]byte("cluster \"a\" {\n  vm {\n    cores = \"x\"\n  }\n}\n"), "c.hcl")
	var b strings.Builder
	if err := WriteDiagnostics(&b, diags, f.Files(), 80, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"   3:     cores = \"x\"\n", "\nc.hcl:3:14: error: Unsuitable value type\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
