package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/golden/realcheck"
	"github.com/pghac/pghac/infra/infratest"
)

// These tests run the real terraform against the offline provider, which serves the schema
// of the real Yandex provider: what terraform core checks from a schema alone (names, types,
// nesting, required blocks) is checked here for the module built from the repository's
// cluster.hcl. They need the whole pipeline, so they live here rather than in emit/terraform.

const (
	testSSHKey      = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPghacTestKeyPghacTestKeyPghacTestKey0 test@pghac"
	testOperatorKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPghacOperatorKeyPghacOperatorKey0000 pghac-operator@yandex"
)

// rootModule builds the repository's cluster.hcl and writes the whole deploy tree (the .tf
// files and the user-data they read) into a temporary directory.
func rootModule(t *testing.T) (string, *artifact.Set) {
	t.Helper()
	set, _, diags, err := Build(rootFile)
	if err != nil || diags.HasErrors() {
		t.Fatalf("building cluster.hcl: %v %v", err, diags)
	}
	dir := filepath.Join(t.TempDir(), "yandex")
	if err := artifact.WriteDir(dir, set); err != nil {
		t.Fatal(err)
	}
	return dir, set
}

var variableRE = regexp.MustCompile(`(?m)^variable "([a-z0-9_]+)"`)

// varFile writes test values for every variable of set's module without a default, mode 0600
// outside the module (secrets never go on a command line), with secret overridden as given.
func varFile(t *testing.T, set *artifact.Set, override map[model.Secret]string) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "cloud_id = %q\nfolder_id = %q\nssh_public_key = %q\n%s = %q\n", "b1gtestcloud", "b1gtestfolder", testSSHKey,
		model.OperatorKeyVar, testOperatorKey)
	vars, ok := set.Get("variables.tf")
	if !ok {
		t.Fatal("no variables.tf")
	}
	for _, m := range variableRE.FindAllStringSubmatch(string(vars.Bytes), -1) {
		s := model.Secret(m[1])
		if !model.IsSecretName(m[1]) {
			continue
		}
		v := realcheck.TestSecret(s)
		if o, ok := override[s]; ok {
			v = o
		}
		fmt.Fprintf(&b, "%s = %q\n", s, v)
	}
	p := filepath.Join(t.TempDir(), "secrets.tfvars")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tfPlan is the part of `terraform show -json <plan>` the tests read.
type tfPlan struct {
	ResourceChanges []struct {
		Address string `json:"address"`
		Mode    string `json:"mode"`
		Change  struct {
			Actions []string       `json:"actions"`
			After   map[string]any `json:"after"`
		} `json:"change"`
	} `json:"resource_changes"`
	PlannedValues struct {
		Outputs map[string]struct {
			Value any `json:"value"`
		} `json:"outputs"`
	} `json:"planned_values"`
}

// actions maps each managed resource's address to its actions, comma-joined.
func (p *tfPlan) actions() map[string]string {
	out := map[string]string{}
	for _, rc := range p.ResourceChanges {
		if rc.Mode == "managed" {
			out[rc.Address] = strings.Join(rc.Change.Actions, ",")
		}
	}
	return out
}

func (p *tfPlan) after(t *testing.T, address string) map[string]any {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == address {
			return rc.Change.After
		}
	}
	t.Fatalf("no change for %s", address)
	return nil
}

func showPlan(t *testing.T, env infratest.Env, dir, file string) *tfPlan {
	t.Helper()
	var p tfPlan
	if err := json.Unmarshal([]byte(env.Run(t, dir, "show", "-json", file)), &p); err != nil {
		t.Fatalf("show -json %s: %v", file, err)
	}
	return &p
}

// TestOfflinePlan: init, validate, plan, apply and an empty replan of the module of
// cluster.hcl; the plan renders each node's user-data with the secrets; a newer image in the
// family replaces no VM.
func TestOfflinePlan(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir, set := rootModule(t)
	vars := "-var-file=" + varFile(t, set, nil)

	env.Run(t, dir, "init", "-input=false", "-no-color")
	var valid struct {
		Valid        bool `json:"valid"`
		WarningCount int  `json:"warning_count"`
	}
	if err := json.Unmarshal([]byte(env.Run(t, dir, "validate", "-json")), &valid); err != nil {
		t.Fatal(err)
	}
	if !valid.Valid || valid.WarningCount != 0 {
		t.Errorf("validate: %+v, want valid without warnings", valid)
	}

	env.Run(t, dir, "plan", "-input=false", "-no-color", vars, "-out=create.tfplan")
	plan := showPlan(t, env, dir, "create.tfplan")
	want := map[string]string{
		"yandex_vpc_network.cluster":              "create",
		"yandex_vpc_subnet.ru-central1-a":         "create",
		"yandex_vpc_subnet.ru-central1-b":         "create",
		"yandex_vpc_subnet.ru-central1-d":         "create",
		"yandex_vpc_security_group.nodes":         "create",
		"yandex_vpc_security_group.loadgen":       "create",
		"yandex_compute_instance.node0":           "create",
		"yandex_compute_instance.node1":           "create",
		"yandex_compute_instance.node2":           "create",
		"yandex_compute_instance.loadgen":         "create",
		"yandex_lb_target_group.nodes":            "create",
		"yandex_lb_network_load_balancer.primary": "create",
		// The backup repository: KMS key, bucket, service account with its two grants, and
		// its static key written to Lockbox.
		"yandex_kms_symmetric_key.backup":                     "create",
		"yandex_kms_symmetric_key_iam_member.backup":          "create",
		"yandex_storage_bucket.backup":                        "create",
		"yandex_storage_bucket_iam_binding.backup":            "create",
		"yandex_iam_service_account.backup":                   "create",
		"yandex_iam_service_account_static_access_key.backup": "create",
		"yandex_lockbox_secret.backup_s3_key":                 "create",
	}
	if diff := cmp.Diff(want, plan.actions()); diff != "" {
		t.Errorf("plan actions (-want +got):\n%s", diff)
	}
	for _, node := range []string{"node0", "node1", "node2"} {
		ud, ok := set.Get("nodes/" + node + "/user-data.yaml")
		if !ok {
			t.Fatalf("no user-data for %s", node)
		}
		md, _ := plan.after(t, "yandex_compute_instance."+node)["metadata"].(map[string]any)
		if got, _ := md["user-data"].(string); got != string(realcheck.Render(ud.Bytes)) {
			t.Errorf("%s: planned user-data is not the node's user-data with the secrets filled in (%d bytes, want %d)",
				node, len(got), len(realcheck.Render(ud.Bytes)))
		}
		if got := md["ssh-keys"]; got != "debian:"+testOperatorKey+"\ndebian:"+testSSHKey {
			t.Errorf("%s: ssh-keys = %q, want the operator key's line and the SSH key's", node, got)
		}
	}
	lgUD, _ := set.Get("loadgen/user-data.yaml")
	if md := plan.after(t, "yandex_compute_instance.loadgen")["metadata"]; !cmp.Equal(md, map[string]any{"ssh-keys": "debian:" + testOperatorKey + "\ndebian:" + testSSHKey, "user-data": string(lgUD.Bytes)}) {
		t.Errorf("load generator metadata: %d keys, want the SSH keys and its user-data file as it is", len(md.(map[string]any)))
	}
	if got := plan.PlannedValues.Outputs["primary_endpoints"].Value; !cmp.Equal(got, []any{"10.128.0.16:5000", "10.129.0.14:5000", "10.130.0.28:5000"}) {
		t.Errorf("primary_endpoints = %v", got)
	}

	apply := env.Run(t, dir, "apply", "-input=false", "-no-color", "create.tfplan")
	if !strings.Contains(apply, "Apply complete! Resources: 19 added, 0 changed, 0 destroyed.") {
		t.Errorf("apply:\n%s", apply)
	}
	var outputs map[string]struct{ Value any }
	if err := json.Unmarshal([]byte(env.Run(t, dir, "output", "-json")), &outputs); err != nil {
		t.Fatal(err)
	}
	if addr, _ := outputs["load_balancer_address"].Value.(string); addr == "" {
		t.Errorf("load_balancer_address = %v, want the listener's address", outputs["load_balancer_address"].Value)
	}
	if ep, _ := outputs["load_balancer_endpoint"].Value.(string); !strings.HasSuffix(ep, ":5432") {
		t.Errorf("load_balancer_endpoint = %v", outputs["load_balancer_endpoint"].Value)
	}
	if out, err := env.Try(dir, "plan", "-input=false", "-no-color", "-detailed-exitcode", vars); err != nil {
		t.Fatalf("replan after apply is not empty: %v\n%s", err, out)
	}

	// A newer image in the family: the data source reads another id, which every VM ignores.
	nodesTF := filepath.Join(dir, "nodes.tf")
	src, err := os.ReadFile(nodesTF)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nodesTF, bytes.Replace(src, []byte(`family = "debian-12"`), []byte(`family = "debian-12-newer"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := env.Try(dir, "plan", "-input=false", "-no-color", "-detailed-exitcode", vars); err != nil {
		t.Errorf("a newer image in the family changes the plan: %v\n%s", err, out)
	}

	// Without a public key, every VM keeps only the operator key: an in-place update.
	env.Run(t, dir, "plan", "-input=false", "-no-color", vars, "-var=ssh_public_key=", "-out=nokey.tfplan")
	nokey := showPlan(t, env, dir, "nokey.tfplan")
	for _, vm := range []string{"node0", "node1", "node2", "loadgen"} {
		address := "yandex_compute_instance." + vm
		if got := nokey.actions()[address]; got != "update" {
			t.Errorf("%s: %s, want update", address, got)
		}
		md, _ := nokey.after(t, address)["metadata"].(map[string]any)
		if got := md["ssh-keys"]; got != "debian:"+testOperatorKey {
			t.Errorf("%s: ssh-keys without a public key: %q, want the operator key's line only", address, got)
		}
		if _, ok := md["user-data"]; !ok {
			t.Errorf("%s: metadata without user-data", address)
		}
	}
}

// TestOfflinePrivateVMs: VMs without public addresses (vm { public_ip = false }) get a NAT
// gateway, shared by the subnets through one route table, and no one-to-one NAT of their own.
func TestOfflinePrivateVMs(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	src, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte("  vm {\n"), []byte("  vm {\n    public_ip = false\n"), 1)
	set, _, diags, err := BuildSource(src, "cluster.hcl", model.TargetYandex)
	if err != nil || diags.HasErrors() {
		t.Fatalf("building cluster.hcl with public_ip = false: %v %v", err, diags)
	}
	dir := filepath.Join(t.TempDir(), "yandex")
	if err := artifact.WriteDir(dir, set); err != nil {
		t.Fatal(err)
	}
	env.Run(t, dir, "init", "-input=false", "-no-color")
	env.Run(t, dir, "validate", "-no-color")
	env.Run(t, dir, "plan", "-input=false", "-no-color", "-var-file="+varFile(t, set, nil), "-out=create.tfplan")
	plan := showPlan(t, env, dir, "create.tfplan")
	for _, a := range []string{"yandex_vpc_gateway.egress", "yandex_vpc_route_table.egress"} {
		if got := plan.actions()[a]; got != "create" {
			t.Errorf("%s: %q, want create", a, got)
		}
	}
	routes, _ := plan.after(t, "yandex_vpc_route_table.egress")["static_route"].([]any)
	if len(routes) != 1 || routes[0].(map[string]any)["destination_prefix"] != "0.0.0.0/0" {
		t.Errorf("route table's static routes: %v, want one default route", routes)
	}
	for _, vm := range []string{"node0", "loadgen"} {
		nics, _ := plan.after(t, "yandex_compute_instance."+vm)["network_interface"].([]any)
		if len(nics) != 1 || nics[0].(map[string]any)["nat"] != false {
			t.Errorf("%s: network interfaces %v, want one without NAT", vm, nics)
		}
	}
	// The repository's cluster.hcl keeps public addresses, and needs no gateway.
	dir, _ = rootModule(t)
	if _, err := os.Stat(filepath.Join(dir, "network.tf")); err != nil {
		t.Fatal(err)
	}
	if nt, _ := os.ReadFile(filepath.Join(dir, "network.tf")); bytes.Contains(nt, []byte("yandex_vpc_gateway")) {
		t.Errorf("network.tf has a NAT gateway though every VM has a public address")
	}
}

// TestOfflineValidateFails: terraform validate rejects a misspelled attribute and a missing
// required block in a copy of the module (the test of the test: the schema is really checked).
func TestOfflineValidateFails(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	tests := []struct {
		name   string
		break_ func(t *testing.T, f *hclwrite.File)
		want   string // a diagnostic's summary
	}{
		{
			name: "misspelled attribute",
			break_: func(t *testing.T, f *hclwrite.File) {
				body := instance(t, f, "node1").Body()
				attr := body.GetAttribute("platform_id")
				body.SetAttributeRaw("platfrom_id", attr.Expr().BuildTokens(nil))
				body.RemoveAttribute("platform_id")
			},
			want: "Unsupported argument",
		},
		{
			name: "missing resources block",
			break_: func(t *testing.T, f *hclwrite.File) {
				body := instance(t, f, "node1").Body()
				if !body.RemoveBlock(body.FirstMatchingBlock("resources", nil)) {
					t.Fatal("node1 has no resources block")
				}
			},
			want: "Insufficient resources blocks",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := rootModule(t)
			p := filepath.Join(dir, "nodes.tf")
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f, diags := hclwrite.ParseConfig(src, p, hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			tt.break_(t, f)
			if err := os.WriteFile(p, f.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			env.Run(t, dir, "init", "-input=false", "-no-color")
			out, err := env.Try(dir, "validate", "-json")
			var exit *infratest.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("validate: %v, want exit status 1", err)
			}
			var res struct {
				Valid       bool `json:"valid"`
				Diagnostics []struct {
					Severity string `json:"severity"`
					Summary  string `json:"summary"`
					Range    struct {
						Filename string `json:"filename"`
					} `json:"range"`
				} `json:"diagnostics"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("validate -json: %v\n%s", err, out)
			}
			var errs []string
			for _, d := range res.Diagnostics {
				if d.Severity == "error" {
					errs = append(errs, d.Range.Filename+": "+d.Summary)
				}
			}
			if res.Valid || !cmp.Equal(errs, []string{"nodes.tf: " + tt.want}) {
				t.Errorf("validate errors %q, want only %q in nodes.tf", errs, tt.want)
			}
		})
	}
}

// TestOfflineSecretValidation: plan refuses a secret that could break a configuration file,
// and names the variable.
func TestOfflineSecretValidation(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir, set := rootModule(t)
	vars := varFile(t, set, map[model.Secret]string{model.SecretStatsPassword: "has a space and a 'quote'"})
	env.Run(t, dir, "init", "-input=false", "-no-color")
	_, err := env.Try(dir, "plan", "-input=false", "-no-color", "-var-file="+vars)
	var exit *infratest.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("plan with an invalid secret: %v, want it to fail", err)
	}
	if !regexp.MustCompile(`Invalid value for variable[\s\S]*var\.haproxy_stats_password`).MatchString(exit.Stderr) {
		t.Errorf("plan error does not name the variable:\n%s", exit.Stderr)
	}
	// Terraform prints the rejected value (and the var file's line) in this error, sensitive
	// or not: a rejected value is never used, so it should not be a real password either.
}

// instance returns the yandex_compute_instance block of node in f.
func instance(t *testing.T, f *hclwrite.File, node string) *hclwrite.Block {
	t.Helper()
	b := f.Body().FirstMatchingBlock("resource", []string{"yandex_compute_instance", node})
	if b == nil {
		t.Fatalf("no instance %s", node)
	}
	return b
}

// TestFmtRoot runs the real `terraform fmt -check` over the deploy tree of the repository's
// cluster.hcl; emit/terraform's TestFmt covers modules of other shapes.
func TestFmtRoot(t *testing.T) {
	bin := realcheck.TerraformBinary(t)
	root, _ := rootModule(t)
	out, err := realcheck.TerraformCmd(t, bin, root, "fmt", "-check", "-diff", "-recursive").CombinedOutput()
	if err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out)
	}
}
