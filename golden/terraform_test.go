package golden

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/terraform"
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
// outside the module. None is a secret: the module declares none (TestOfflineNoSecrets).
func varFile(t *testing.T, set *artifact.Set) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "cloud_id = %q\nfolder_id = %q\nssh_public_key = %q\n%s = %q\n", "b1gtestcloud", "b1gtestfolder", testSSHKey,
		model.OperatorKeyVar, testOperatorKey)
	// The local builds the module uploads: a file each, and its checksum.
	dir := t.TempDir()
	if f, ok := set.Get("artifacts.tf"); ok {
		for _, m := range variableRE.FindAllSubmatch(f.Bytes, -1) {
			name := string(m[1])
			if sha := terraform.BuildSHA256Var(name); sha != "" {
				file := filepath.Join(dir, name)
				if err := os.WriteFile(file, []byte("a build of "+name), 0o755); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s = %q\n%s = %q\n", name, file, sha, testBuildSHA256(name))
			}
		}
	}
	p := filepath.Join(dir, "test.tfvars")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// artifactsURL is where the VMs of the module varFile plans download pghac's builds.
const artifactsURL = "https://storage.yandexcloud.net/main-artifacts-b1gtestfolder"

// testBuildSHA256 is the checksum varFile gives the build of pathVar.
func testBuildSHA256(pathVar string) string {
	sum := sha256.Sum256([]byte("a build of " + pathVar))
	return hex.EncodeToString(sum[:])
}

// secretsFile writes pghac's secrets file of cluster c, a var file as `pghac secrets init`
// writes it, with the fake values of realcheck.TestSecret, mode 0600 outside the module.
func secretsFile(t *testing.T, c *model.Cluster) string {
	t.Helper()
	var b bytes.Buffer
	for _, s := range c.Secrets() {
		fmt.Fprintf(&b, "%s = %q\n", s, realcheck.TestSecret(s))
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
			Actions      []string       `json:"actions"`
			After        map[string]any `json:"after"`
			AfterUnknown map[string]any `json:"after_unknown"`
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

// afterUnknown is what of address's planned values is known after apply only.
func (p *tfPlan) afterUnknown(t *testing.T, address string) map[string]any {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == address {
			return rc.Change.AfterUnknown
		}
	}
	t.Fatalf("no change for %s", address)
	return nil
}

// tfState is the part of `terraform show -json` (the state) the tests read: each resource's
// values by address.
type tfState struct {
	Values struct {
		RootModule struct {
			Resources []struct {
				Address string         `json:"address"`
				Values  map[string]any `json:"values"`
			} `json:"resources"`
		} `json:"root_module"`
	} `json:"values"`
}

func (s *tfState) values(t *testing.T, address string) map[string]any {
	t.Helper()
	for _, r := range s.Values.RootModule.Resources {
		if r.Address == address {
			return r.Values
		}
	}
	t.Fatalf("no %s in the state", address)
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
// cluster.hcl; the plan hands each node its user-data as it is, placeholders and all, with the
// Lockbox secret it fills them in from and the service account it reads that secret as; a
// newer image in the family replaces no VM.
func TestOfflinePlan(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir, set := rootModule(t)
	vars := "-var-file=" + varFile(t, set)

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
		// The cluster's secrets: a Lockbox secret with its KMS key, and the account the nodes
		// read it as, with one grant on each.
		"yandex_kms_symmetric_key.secrets":          "create",
		"yandex_lockbox_secret.secrets":             "create",
		"yandex_iam_service_account.nodes":          "create",
		"yandex_lockbox_secret_iam_member.nodes":    "create",
		"yandex_kms_symmetric_key_iam_member.nodes": "create",
		// The database nodes have no public address: a bastion is the way in, and a NAT
		// gateway with its route table the way out.
		"yandex_compute_instance.bastion":   "create",
		"yandex_vpc_security_group.bastion": "create",
		"yandex_vpc_gateway.egress":         "create",
		"yandex_vpc_route_table.egress":     "create",
		// pghac's own builds: a bucket, the backend and pghac in it, the load generator's
		// account, and the read grant of both accounts.
		"yandex_storage_bucket.artifacts":             "create",
		"yandex_storage_object.backend":               "create",
		"yandex_storage_object.pghac":                 "create",
		"yandex_iam_service_account.loadgen":          "create",
		"yandex_storage_bucket_iam_binding.artifacts": "create",
	}
	if diff := cmp.Diff(want, plan.actions()); diff != "" {
		t.Errorf("plan actions (-want +got):\n%s", diff)
	}
	for _, node := range []string{"node0", "node1", "node2"} {
		ud, ok := set.Get("nodes/" + node + "/user-data.yaml")
		if !ok {
			t.Fatalf("no user-data for %s", node)
		}
		if !bytes.Contains(ud.Bytes, []byte(model.SecretSuperuserPassword.Placeholder())) {
			t.Fatalf("%s: the user-data holds no placeholder: the test proves little", node)
		}
		address := "yandex_compute_instance." + node
		md, _ := plan.after(t, address)["metadata"].(map[string]any)
		// The secrets stay placeholders; the backend's location is filled in.
		want := strings.NewReplacer("${"+model.BackendURLVar+"}", artifactsURL+"/pghac-backend",
			"${"+model.BackendSHA256Var+"}", testBuildSHA256(terraform.VarBackendArtifactPath)).Replace(string(ud.Bytes))
		if want == string(ud.Bytes) {
			t.Fatalf("%s: the user-data has no backend location to fill in", node)
		}
		if got, _ := md["user-data"].(string); got != want {
			t.Errorf("%s: planned user-data is not the node's user-data with the backend's location filled in, placeholders and all (%d bytes, want %d)",
				node, len(got), len(want))
		}
		if got := md["ssh-keys"]; got != "debian:"+testOperatorKey+"\ndebian:"+testSSHKey {
			t.Errorf("%s: ssh-keys = %q, want the operator key's line and the SSH key's", node, got)
		}
		if got := md["pghac-lockbox-payload-endpoint"]; got != "https://payload.lockbox.api.cloud.yandex.net" {
			t.Errorf("%s: pghac-lockbox-payload-endpoint = %v, want Lockbox's payload API", node, got)
		}
		// The secret's id and the account's are known once they are made.
		unknown := plan.afterUnknown(t, address)
		if mdu, _ := unknown["metadata"].(map[string]any); mdu["pghac-lockbox-secret-id"] != true || unknown["service_account_id"] != true {
			t.Errorf("%s: the secret's id and the service account are not planned from resources yet to be made: %v", node, unknown)
		}
	}
	lgUD, _ := set.Get("loadgen/user-data.yaml")
	lgWant := strings.NewReplacer("${"+model.PghacURLVar+"}", artifactsURL+"/pghac",
		"${"+model.PghacSHA256Var+"}", testBuildSHA256(terraform.VarPghacArtifactPath)).Replace(string(lgUD.Bytes))
	if md := plan.after(t, "yandex_compute_instance.loadgen")["metadata"]; lgWant == string(lgUD.Bytes) ||
		!cmp.Equal(md, map[string]any{"ssh-keys": "debian:" + testOperatorKey + "\ndebian:" + testSSHKey, "user-data": lgWant}) {
		t.Errorf("load generator metadata: %d keys, want the SSH keys and its user-data with its pghac's location filled in", len(md.(map[string]any)))
	}
	for name, pathVar := range map[string]string{"backend": terraform.VarBackendArtifactPath, "pghac": terraform.VarPghacArtifactPath} {
		o := plan.after(t, "yandex_storage_object."+name)
		if o["bucket"] != "main-artifacts-b1gtestfolder" || o["source_hash"] != testBuildSHA256(pathVar) || !strings.HasSuffix(o["source"].(string), "/"+pathVar) {
			t.Errorf("object %s: bucket %v, source %v, source_hash %v; want the build of %s in the artifacts bucket", name, o["bucket"], o["source"], o["source_hash"], pathVar)
		}
	}
	if got := plan.PlannedValues.Outputs["primary_endpoints"].Value; !cmp.Equal(got, []any{"10.128.0.16:5000", "10.129.0.14:5000", "10.130.0.28:5000"}) {
		t.Errorf("primary_endpoints = %v", got)
	}

	apply := env.Run(t, dir, "apply", "-input=false", "-no-color", "create.tfplan")
	if !strings.Contains(apply, "Apply complete! Resources: 33 added, 0 changed, 0 destroyed.") {
		t.Errorf("apply:\n%s", apply)
	}
	// Every node names the secret Terraform made and runs as the account that may read it,
	// and only it: the payload of that secret, decrypted with that secret's key.
	var state tfState
	if err := json.Unmarshal([]byte(env.Run(t, dir, "show", "-json")), &state); err != nil {
		t.Fatal(err)
	}
	id := func(address string) string {
		t.Helper()
		v, _ := state.values(t, address)["id"].(string)
		if v == "" {
			t.Fatalf("%s has no id", address)
		}
		return v
	}
	secretID, keyID, account := id("yandex_lockbox_secret.secrets"), id("yandex_kms_symmetric_key.secrets"), id("yandex_iam_service_account.nodes")
	if got := state.values(t, "yandex_lockbox_secret.secrets")["kms_key_id"]; got != keyID {
		t.Errorf("the Lockbox secret's KMS key is %v, want the secrets key %s", got, keyID)
	}
	for _, g := range []struct{ address, object, id, role string }{
		{"yandex_lockbox_secret_iam_member.nodes", "secret_id", secretID, "lockbox.payloadViewer"},
		{"yandex_kms_symmetric_key_iam_member.nodes", "symmetric_key_id", keyID, "kms.keys.decrypter"},
	} {
		v := state.values(t, g.address)
		if v[g.object] != g.id || v["role"] != g.role || v["member"] != "serviceAccount:"+account {
			t.Errorf("%s: %s %v, role %v, member %v; want %s %s to serviceAccount:%s", g.address, g.object, v[g.object], v["role"], v["member"], g.role, g.id, account)
		}
	}
	for _, node := range []string{"node0", "node1", "node2"} {
		v := state.values(t, "yandex_compute_instance."+node)
		md, _ := v["metadata"].(map[string]any)
		if md["pghac-lockbox-secret-id"] != secretID || v["service_account_id"] != account {
			t.Errorf("%s: pghac-lockbox-secret-id %v, service account %v; want %s and %s", node, md["pghac-lockbox-secret-id"], v["service_account_id"], secretID, account)
		}
	}
	// The load generator runs as an account of its own, which may read the builds and no secret;
	// the nodes' account may read them too.
	lgAccount := id("yandex_iam_service_account.loadgen")
	if v := state.values(t, "yandex_compute_instance.loadgen"); v["service_account_id"] != lgAccount {
		t.Errorf("the load generator runs as service account %v, want its own %s", v["service_account_id"], lgAccount)
	}
	if v := state.values(t, "yandex_storage_bucket_iam_binding.artifacts"); v["role"] != "storage.viewer" ||
		!cmp.Equal(v["members"], []any{"serviceAccount:" + account, "serviceAccount:" + lgAccount}, cmpopts.SortSlices(func(a, b any) bool { return a.(string) < b.(string) })) {
		t.Errorf("artifacts bucket's binding: role %v, members %v; want storage.viewer for the nodes' and the load generator's accounts", v["role"], v["members"])
	}
	var outputs map[string]struct{ Value any }
	if err := json.Unmarshal([]byte(env.Run(t, dir, "output", "-json")), &outputs); err != nil {
		t.Fatal(err)
	}
	if got := outputs["lockbox_secret_id"].Value; got != secretID {
		t.Errorf("lockbox_secret_id = %v, want %s", got, secretID)
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
	for _, vm := range []string{"node0", "node1", "node2", "loadgen", "bastion"} {
		address := "yandex_compute_instance." + vm
		if got := nokey.actions()[address]; got != "update" {
			t.Errorf("%s: %s, want update", address, got)
		}
		md, _ := nokey.after(t, address)["metadata"].(map[string]any)
		if got := md["ssh-keys"]; got != "debian:"+testOperatorKey {
			t.Errorf("%s: ssh-keys without a public key: %q, want the operator key's line only", address, got)
		}
		// The bastion runs nothing of ours: it has no user-data.
		if _, ok := md["user-data"]; ok != (vm != "bastion") {
			t.Errorf("%s: user-data in its metadata: %v, want %v", address, ok, vm != "bastion")
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
	env.Run(t, dir, "plan", "-input=false", "-no-color", "-var-file="+varFile(t, set), "-out=create.tfplan")
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
	// The repository's cluster.hcl keeps its database nodes private behind a bastion: they
	// get the gateway too, and only the bastion and the load generator a public address.
	dir, set = rootModule(t)
	env.Run(t, dir, "init", "-input=false", "-no-color")
	env.Run(t, dir, "plan", "-input=false", "-no-color", "-var-file="+varFile(t, set), "-out=create.tfplan")
	plan = showPlan(t, env, dir, "create.tfplan")
	if got := plan.actions()["yandex_vpc_gateway.egress"]; got != "create" {
		t.Errorf("the repository's cluster.hcl: NAT gateway %q, want create", got)
	}
	for vm, wantNAT := range map[string]bool{"node0": false, "node1": false, "node2": false, "bastion": true, "loadgen": true} {
		nics, _ := plan.after(t, "yandex_compute_instance."+vm)["network_interface"].([]any)
		if len(nics) != 1 || nics[0].(map[string]any)["nat"] != wantNAT {
			t.Errorf("the repository's cluster.hcl: %s's network interfaces %v, want one with nat = %v", vm, nics, wantNAT)
		}
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

// TestOfflineNoSecrets: no secret goes through Terraform. The module declares no secret and
// nothing sensitive; handed pghac's secrets file all the same (as pghac once did), plan and
// apply take nothing from it: none of its values is in the plan, the state or anything
// Terraform prints.
func TestOfflineNoSecrets(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir, set := rootModule(t)
	c := compileRoot(t, model.TargetYandex)
	if c.Backup == nil || len(c.Secrets()) < 10 {
		t.Fatalf("cluster.hcl has %d secrets and backup %v: the test proves less than it should", len(c.Secrets()), c.Backup != nil)
	}

	vars, _ := set.Get("variables.tf")
	declared := variableRE.FindAllStringSubmatch(string(vars.Bytes), -1)
	if len(declared) == 0 {
		t.Fatal("variables.tf declares no variable: the scan proves nothing")
	}
	for _, m := range declared {
		if model.IsSecretName(m[1]) {
			t.Errorf("variables.tf declares secret %s", m[1])
		}
	}
	if regexp.MustCompile(`(?m)^\s*sensitive\s*=`).Match(vars.Bytes) {
		t.Errorf("variables.tf declares a sensitive variable:\n%s", vars.Bytes)
	}

	// Everything Terraform prints, and the plan and the state it writes.
	var seen strings.Builder
	run := func(args ...string) string {
		t.Helper()
		out, err := env.Command(dir, args...).CombinedOutput()
		seen.Write(out)
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("init", "-input=false", "-no-color")
	plan := run("plan", "-input=false", "-no-color", "-var-file="+varFile(t, set), "-var-file="+secretsFile(t, c), "-out=create.tfplan")
	// Terraform saw the values and ignored them: the test of the test.
	if !strings.Contains(plan, "undeclared variable") {
		t.Errorf("plan did not read the secrets file:\n%s", plan)
	}
	run("show", "-json", "create.tfplan")
	run("apply", "-input=false", "-no-color", "create.tfplan")
	run("show", "-json")
	run("output", "-json")
	state, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	seen.Write(state)

	all := seen.String()
	if !strings.Contains(all, `"pghac-lockbox-secret-id"`) {
		t.Fatal("the plan and state hold no node's metadata: the scan proves nothing")
	}
	for _, s := range c.Secrets() {
		if strings.Contains(all, realcheck.TestSecret(s)) {
			t.Errorf("the value of secret %s reaches Terraform's plan, state or output", s)
		}
	}
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
