package infra

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVariables(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "variables.tf", `
variable "folder_id" {
  type        = string
  description = "Folder"
}
variable "zone_count" {
  type    = number
  default = 3
}
variable "postgres_superuser_password" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.postgres_superuser_password) >= 32
    error_message = "Too short."
  }
}
`, 0o644)
	write(t, dir, "main.tf", `variable "admin" {
  sensitive = false
}
resource "x" "y" {}
`, 0o644)
	write(t, dir, "nodes/ignored.tf", `variable "nested" {}`, 0o644)
	got, err := Variables(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Variable{
		{Name: "admin", Required: true},
		{Name: "folder_id", Required: true},
		{Name: "postgres_superuser_password", Required: true, Sensitive: true},
		{Name: "zone_count"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Variables (-want +got):\n%s", diff)
	}

	write(t, dir, "broken.tf", `variable "x" {`, 0o644)
	if _, err := Variables(dir); err == nil {
		t.Error("Variables accepted a broken file")
	}
}

func TestStringVars(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.tfvars", "# comment\nfolder_id = \"b1g\"\ncount = 3\nsecret = \"s3cr3tValue123456\"\n", 0o600)
	write(t, dir, "b.tfvars.json", `{"secret": "fromJSON12345678", "list": ["x"]}`, 0o600)
	write(t, dir, "broken.tfvars", "secret = \"s3cr3tValue123456\n", 0o600)
	got, err := StringVars(dir + "/a.tfvars")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"folder_id": "b1g", "secret": "s3cr3tValue123456"}, got); diff != "" {
		t.Errorf("StringVars(a.tfvars) (-want +got):\n%s", diff)
	}
	got, err = StringVars(dir + "/b.tfvars.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"secret": "fromJSON12345678"}, got); diff != "" {
		t.Errorf("StringVars(b.tfvars.json) (-want +got):\n%s", diff)
	}
	_, err = StringVars(dir + "/broken.tfvars")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("StringVars(broken) error = %v, want one without the file's content", err)
	}
}

func TestRedactedErrors(t *testing.T) {
	r := newRedactor([]string{"s3cr3tValue123456", "short", ""})
	e := &TerraformError{Op: "plan", Detail: r.apply("Error: bad value s3cr3tValue123456 (short)"), err: errors.New("exit status 1")}
	if got, want := e.Error(), "terraform plan failed:\nError: bad value (redacted) (short)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.Interrupted() {
		t.Error("Interrupted() = true for a plain failure")
	}
}
