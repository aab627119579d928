package provision

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/sandboxtf"
	"github.com/pghac/pghac/internal/site"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVarFiles(t *testing.T) {
	dir := t.TempDir()
	s := site.New(filepath.Join(dir, "cluster.hcl"), filepath.Join(dir, "deploy"), "", model.TargetYandex)
	extra := filepath.Join(dir, "cloud.tfvars")
	write(t, extra, "cloud_id = \"x\"\n")
	// Without secrets the nodes would have nothing to read: refused, var files or not.
	var none *NoSecretsError
	for _, files := range [][]string{nil, {extra}} {
		if _, err := VarFiles(s, files); !errors.As(err, &none) || none.Path != s.Secrets() {
			t.Errorf("no secrets, var files %v: %v", files, err)
		}
	}
	if err := s.WriteSecrets([]model.Secret{model.SecretSuperuserPassword}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := VarFiles(s, []string{filepath.Join(dir, "missing.tfvars")}); err == nil || !strings.HasPrefix(err.Error(), "--var-file: ") {
		t.Errorf("missing var file: %v", err)
	}
	// The secrets go to Lockbox, never to Terraform.
	if got, err := VarFiles(s, []string{extra}); err != nil || len(got) != 1 || got[0] != extra {
		t.Errorf("with secrets: %v, %v; want the var file alone", got, err)
	}
}

func TestPrepareOffline(t *testing.T) {
	dir := t.TempDir()
	s := site.New(filepath.Join(dir, "cluster.hcl"), filepath.Join(dir, "deploy"), "", model.TargetYandex)
	write(t, filepath.Join(s.Deploy, "variables.tf"), `
variable "folder_id" { type = string }
variable "db_password" {
  type      = string
  sensitive = true
}
variable "zone" {
  type    = string
  default = "ru-central1-a"
}
`)
	// A leftover of an earlier offline plan must not survive.
	write(t, filepath.Join(s.Offline(), "terraform", "terraform.tfstate"), "{}")
	o, err := PrepareOffline(s, "/usr/bin/pghac", "__provider")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(o.Work, "terraform.tfstate")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old working directory survived: %v", err)
	}
	b, err := os.ReadFile(o.VarFile)
	if err != nil {
		t.Fatal(err)
	}
	want := "db_password = \"" + FakeSecret + "\"\nfolder_id = \"offline-fake-folder-id\"\n"
	if got := string(b); !strings.HasSuffix(got, want) || strings.Contains(got, "zone") {
		t.Errorf("fake vars:\n%s\nwant them to end with\n%s", got, want)
	}
	if len(o.Env) == 0 {
		t.Error("no Terraform environment for the mirror")
	}
	wrapper, err := os.ReadFile(filepath.Join(s.Offline(), "provider", "terraform-provider-yandex.sh"))
	if err != nil || !strings.Contains(string(wrapper), "__provider") {
		t.Errorf("provider wrapper: %q, %v", wrapper, err)
	}
}

func TestFailedProvisioners(t *testing.T) {
	dir := t.TempDir()
	s, err := site.Sandbox(filepath.Join(dir, "cluster.hcl"), filepath.Join(dir, "deploy"), "", filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	cl := &model.Cluster{Sandbox: &model.Sandbox{Bridge: "pghac0"}, Nodes: []model.Node{{Name: "node0"}, {Name: "node1"}}}
	sb := &Sandbox{Fleet: Fleet{Site: s, Cluster: cl}}
	write(t, s.ProvisionerLog("pghac0", sandboxtf.NetUp), "starting\npghac __sandbox net-up pghac0: done\n")
	write(t, s.ProvisionerLog("node1", sandboxtf.MachineUp), "booting\nno space left on device\n")
	logs := sb.FailedProvisioners()
	if len(logs) != 1 || !strings.HasPrefix(logs[0].Title, sandboxtf.MachineUp+" node1 (") || !strings.Contains(logs[0].Text, "no space left") {
		t.Errorf("failed provisioners: %+v", logs)
	}
	if missing, err := sb.Stale(); err != nil || missing != nil {
		t.Errorf("no state, nothing stale: %v, %v", missing, err)
	}
}

func TestTail(t *testing.T) {
	if got := Tail("a\nb\nc\n", 2); got != "  b\n  c\n" {
		t.Errorf("Tail = %q", got)
	}
	if got := Indent(""); got != "" {
		t.Errorf("Indent of nothing = %q", got)
	}
}
