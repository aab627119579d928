package golden

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/golden/realcheck"
)

// compileRoot compiles the repository's cluster.hcl for target.
func compileRoot(t *testing.T, target model.Target) *model.Cluster {
	t.Helper()
	src, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	_, c, diags := compiler.CompileSource(src, "cluster.hcl", target)
	if diags.HasErrors() {
		t.Fatalf("compile for %s: %v", target, diags)
	}
	return c
}

// fakePghac logs every call's arguments to $FAKE_LOG, one line each, and the user-data and
// metadata it got to $FAKE_DIR/user-data-<machine> and $FAKE_DIR/metadata-<machine>.
const fakePghac = `#!/bin/sh
for last; do :; done
printf '%s\n' "$*" >> "$FAKE_LOG"
if [ -n "$PGHAC_USER_DATA" ]; then printf '%s' "$PGHAC_USER_DATA" > "$FAKE_DIR/user-data-$last"; fi
if [ -n "$PGHAC_METADATA" ]; then printf '%s' "$PGHAC_METADATA" > "$FAKE_DIR/metadata-$last"; fi
`

// TestSandboxTerraformApply runs the sandbox module of the repository's cluster.hcl with the
// real Terraform (no provider to download), with a stand-in for pghac: apply must start the
// network before the machines and hand each machine, in the environment, its user-data with
// the backend's location filled in and the secrets' placeholders left as they are, and the
// metadata naming the sandbox's Lockbox secret; destroy must stop the machines before the
// network, with what it kept in the state. The module's files hold nothing of the build
// machine or of the cloud, and no secret reaches Terraform, even handed pghac's secrets file.
func TestSandboxTerraformApply(t *testing.T) {
	bin := realcheck.TerraformBinary(t)
	c := compileRoot(t, model.TargetSandbox)
	set, err := emit.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range set.Files() {
		if filepath.Ext(f.Path) != ".tf" {
			continue
		}
		for _, bad := range []string{"/root", "/work", "/home", "/tmp", "yandex"} {
			if bytes.Contains(f.Bytes, []byte(bad)) {
				t.Errorf("%s contains %q", f.Path, bad)
			}
		}
		// A secret's placeholder appears only escaped ("$${name}"): Terraform interpolates no
		// secret.
		for _, s := range c.Secrets() {
			ph := []byte(s.Placeholder())
			if n, escaped := bytes.Count(f.Bytes, ph), bytes.Count(f.Bytes, append([]byte("$"), ph...)); n != escaped {
				t.Errorf("%s: %d of %d %s are not escaped", f.Path, n-escaped, n, ph)
			}
		}
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "deploy")
	if err := artifact.WriteDir(dir, set); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(tmp, "fake pghac") // a space: nothing may go through a shell
	if err := os.WriteFile(fake, []byte(fakePghac), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(tmp, "calls.log")
	secret := "SecretValueForTheTest0123456789"
	var vars strings.Builder
	backendURL := "http://10.213.0.1:8099/pghac-backend"
	for k, v := range map[string]string{"pghac": fake, "state_dir": tmp + "/state dir", "cache_dir": tmp + "/cache",
		model.BackendURLVar: backendURL, model.BackendSHA256Var: strings.Repeat("ab", 32)} {
		vars.WriteString(k + " = \"" + v + "\"\n")
	}
	// pghac's secrets file, as pghac once passed it to Terraform: the module must take nothing
	// from it (Terraform warns of the undeclared variables).
	for _, s := range c.Secrets() {
		vars.WriteString(string(s) + " = \"" + secret + string(s[:4]) + "\"\n")
	}
	varFile := filepath.Join(tmp, "vars.tfvars")
	if err := os.WriteFile(varFile, []byte(vars.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"FAKE_LOG=" + log, "FAKE_DIR=" + tmp}
	run := func(args ...string) string {
		t.Helper()
		cmd := realcheck.TerraformCmd(t, bin, dir, args...)
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if strings.Contains(string(out), secret) {
			t.Errorf("terraform %s printed a secret:\n%s", args[0], out)
		}
		return string(out)
	}
	run("init", "-input=false")
	run("validate")
	run("fmt", "-check", "-diff")
	run("apply", "-input=false", "-auto-approve", "-var-file="+varFile)

	calls := readLines(t, log)
	common := "__sandbox --state-dir " + tmp + "/state dir --cache-dir " + tmp + "/cache --bridge pghac0 --cidr 10.213.0.0/24"
	packages := " --packages " + strings.Join(c.OS.Packages, ",")
	if len(calls) != 4 || calls[0] != common+packages+" net-up pghac0" {
		t.Fatalf("apply: calls %q, want net-up first, then 3 machine-up", calls)
	}
	want := []string{common + packages + " net-up pghac0"}
	for _, n := range c.Nodes {
		want = append(want, common+packages+" --address "+n.Address.String()+" machine-up "+n.Name)
	}
	slices.Sort(calls[1:])
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("apply: calls (-want +got):\n%s", diff)
	}
	wantMetadata := map[string]string{
		"pghac-lockbox-secret-id":        "sandbox-" + c.Name + "-secrets",
		"pghac-lockbox-payload-endpoint": "https://" + c.Sandbox.HostAddress.String() + ":9444",
	}
	for _, n := range c.Nodes {
		got, err := os.ReadFile(filepath.Join(tmp, "user-data-"+n.Name))
		if err != nil {
			t.Fatal(err)
		}
		tmpl, _ := set.Get("nodes/" + n.Name + "/user-data.yaml")
		if !bytes.Contains(tmpl.Bytes, []byte(model.SecretSuperuserPassword.Placeholder())) ||
			!bytes.Contains(tmpl.Bytes, []byte("${"+model.BackendURLVar+"}")) {
			t.Fatalf("%s: the user-data holds no secret's placeholder or no backend location: the test proves little", n.Name)
		}
		rendered := string(tmpl.Bytes)
		rendered = strings.ReplaceAll(rendered, "${"+model.BackendURLVar+"}", backendURL)
		rendered = strings.ReplaceAll(rendered, "${"+model.BackendSHA256Var+"}", strings.Repeat("ab", 32))
		if string(got) != rendered {
			t.Errorf("%s: machine-up got user-data that is not its template with the backend's location filled in and the placeholders left:\n%s",
				n.Name, cmp.Diff(rendered, string(got)))
		}
		if strings.Contains(string(got), secret) {
			t.Errorf("%s: machine-up got a secret in its user-data", n.Name)
		}
		var md map[string]string
		if b, err := os.ReadFile(filepath.Join(tmp, "metadata-"+n.Name)); err != nil {
			t.Error(err)
		} else if err := json.Unmarshal(b, &md); err != nil {
			t.Errorf("%s: machine-up got metadata that is no JSON object of strings: %v\n%s", n.Name, err, b)
		}
		if diff := cmp.Diff(wantMetadata, md); diff != "" {
			t.Errorf("%s: machine-up metadata (-want +got):\n%s", n.Name, diff)
		}
	}
	if state, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate")); err != nil {
		t.Error(err)
	} else if !bytes.Contains(state, []byte("terraform_data")) || bytes.Contains(state, []byte(secret)) {
		t.Errorf("the state holds no machine, or a secret:\n%s", state)
	}

	// Nothing changed: no machine is replaced.
	if out := run("plan", "-input=false", "-detailed-exitcode", "-var-file="+varFile); !strings.Contains(out, "No changes") {
		t.Errorf("second plan is not empty:\n%s", out)
	}

	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	run("destroy", "-input=false", "-auto-approve", "-var-file="+varFile)
	calls = readLines(t, log)
	if len(calls) != 4 || calls[3] != common+" net-down pghac0" {
		t.Fatalf("destroy: calls %q, want 3 machine-down, then net-down", calls)
	}
	slices.Sort(calls[:3])
	for i, n := range c.Nodes {
		if calls[i] != common+" machine-down "+n.Name {
			t.Errorf("destroy call %d = %q, want machine-down %s", i, calls[i], n.Name)
		}
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
