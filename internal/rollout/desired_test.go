package rollout

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/infra/infratest"
)

// userData is the repository's own sandbox user-data for node0: what the machines get.
func userData(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "sandbox", "nodes", "node0", "user-data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testVars gives every variable the user-data refers to a value of its own.
func testVars(t *testing.T, src []byte) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, m := range strings.Split(string(src), "${")[1:] {
		name, _, ok := strings.Cut(m, "}")
		if ok && !strings.ContainsAny(name, " .(") {
			vars[name] = "Value-of-" + name + "-x7"
		}
	}
	if len(vars) < 3 {
		t.Fatalf("the user-data refers to %d variables: %v", len(vars), vars)
	}
	return vars
}

// TestRenderTemplateAsTerraform: the real Terraform's templatefile() is the oracle.
func TestRenderTemplateAsTerraform(t *testing.T) {
	src := userData(t)
	// A literal ${...} must survive as Terraform keeps it: $${ in the template.
	src = append(src, []byte("# $${not_a_variable} and %%{ not a directive }\n")...)
	vars := testVars(t, src)
	got, err := RenderTemplate(src, "user-data.yaml", vars)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("user-data.yaml", src)
	write("main.tf", []byte(`variable "v" { type = map(string) }
output "ud" { value = templatefile("${path.module}/user-data.yaml", var.v) }
`))
	vj, _ := json.Marshal(map[string]any{"v": vars})
	write("v.tfvars.json", vj)
	tf := infratest.Terraform(t)
	for _, args := range [][]string{{"init", "-input=false"}, {"apply", "-input=false", "-auto-approve", "-var-file=v.tfvars.json"}} {
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
	}
	cmd := exec.Command(tf, "output", "-raw", "ud")
	cmd.Dir = dir
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("RenderTemplate differs from Terraform's templatefile (%d bytes, want %d)", len(got), len(want))
	}
	if !strings.Contains(string(got), "# ${not_a_variable} and %{ not a directive }\n") {
		t.Error("the escapes were not rendered as literals")
	}

	delete(vars, "patroni_restapi_password")
	if _, err := RenderTemplate(src, "user-data.yaml", vars); err == nil || !strings.Contains(err.Error(), `"patroni_restapi_password"`) {
		t.Errorf("a missing variable: %v", err)
	}
}

func TestManagedFiles(t *testing.T) {
	src := userData(t)
	vars := testVars(t, src)
	rendered, err := RenderTemplate(src, "user-data.yaml", vars)
	if err != nil {
		t.Fatal(err)
	}
	files, err := ManagedFiles(rendered)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	if _, ok := byPath["/usr/sbin/policy-rc.d"]; ok {
		t.Error("the install-time policy-rc.d counts as a managed file")
	}
	cfg, ok := byPath["/etc/patroni/config.yml"]
	if !ok || cfg.Owner != "postgres:postgres" || cfg.Mode != 0o600 ||
		!strings.Contains(string(cfg.Content), "password: 'Value-of-patroni_restapi_password-x7'") {
		t.Errorf("Patroni's config: %+v", cfg)
	}
	if ini, ok := byPath["/etc/pgbouncer/pgbouncer.ini"]; !ok || !strings.Contains(string(ini.Content), "[pgbouncer]") {
		t.Errorf("PgBouncer's config: %+v", ini)
	}

	if _, err := ManagedFiles([]byte("write_files:\n  - path: /x\n    defer: true\n    permissions: '0x644'\n")); err == nil {
		t.Error("bad permissions accepted")
	}
}

func TestRedact(t *testing.T) {
	secrets := map[string]string{"a": "secret", "b": "secret-longer", "empty": ""}
	got := Redact("x secret-longer y secret z", secrets)
	if want := "x ${b} y ${a} z"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

func TestFillSecrets(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	files := []File{
		{Path: "/etc/pghac/tls/node.pem", Content: []byte("${tls_node_node0}")},
		{Path: "/etc/x", Content: []byte("password: '${pw}' url: ${backend_artifact_url}\n")},
	}
	FillSecrets(files, map[string]string{"tls_node_node0": pem, "pw": "s3cr3t"})
	if got := string(files[0].Content); got != pem {
		t.Errorf("a value of several lines: %q, want %q", got, pem)
	}
	// A placeholder of no secret (a build not known yet) stays.
	if got, want := string(files[1].Content), "password: 's3cr3t' url: ${backend_artifact_url}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
