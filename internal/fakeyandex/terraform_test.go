package fakeyandex_test

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/infra/infratest"
	"github.com/pghac/pghac/internal/fakeyandex"
)

// These tests run the real terraform binary against the provider, installed
// through a filesystem mirror and `terraform init`, exactly as pghac's
// offline mode does.

// TestSchemaRoundTrip checks that what Terraform learns from the provider
// (`terraform providers schema -json`) is the embedded schema: every
// attribute with its type and flags, every block with its nesting and
// limits, for every resource and data source, and nothing else.
func TestSchemaRoundTrip(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir := infratest.CopyDir(t, "testdata/schema")
	env.Run(t, dir, "init", "-input=false", "-no-color")
	out := env.Run(t, dir, "providers", "schema", "-json")

	var got struct {
		ProviderSchemas map[string]struct {
			Provider          tfSchema            `json:"provider"`
			ResourceSchemas   map[string]tfSchema `json:"resource_schemas"`
			DataSourceSchemas map[string]tfSchema `json:"data_source_schemas"`
		} `json:"provider_schemas"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	ps, ok := got.ProviderSchemas["registry.terraform.io/"+fakeyandex.ProviderSource]
	if !ok || len(got.ProviderSchemas) != 1 {
		t.Fatalf("provider schemas: got %v, want only registry.terraform.io/%s", sortedKeys(got.ProviderSchemas), fakeyandex.ProviderSource)
	}

	src, err := os.ReadFile("yandex-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(src, &want); err != nil {
		t.Fatal(err)
	}
	var c counter
	var wantResources, wantData []string
	for _, key := range sortedKeys(want) {
		if strings.HasPrefix(key, "_") {
			continue
		}
		var jb jsonBlock
		if err := json.Unmarshal(want[key], &jb); err != nil {
			t.Fatal(err)
		}
		var gotSchema tfSchema
		var found bool
		switch {
		case jb.RemovedIn != "":
			if _, served := ps.ResourceSchemas[key]; served {
				t.Errorf("%s: removed in %s but served", key, jb.RemovedIn)
			}
			continue
		case key == "provider.yandex":
			gotSchema, found = ps.Provider, true
		case strings.HasPrefix(key, "data."):
			name := strings.TrimPrefix(key, "data.")
			wantData = append(wantData, name)
			gotSchema, found = ps.DataSourceSchemas[name]
		default:
			wantResources = append(wantResources, key)
			gotSchema, found = ps.ResourceSchemas[key]
		}
		if !found {
			t.Errorf("%s: not served", key)
			continue
		}
		c.compareBlock(t, key, &jb, &gotSchema.Block)
	}
	if diff := cmp.Diff(wantResources, sortedKeys(ps.ResourceSchemas)); diff != "" {
		t.Errorf("resource types (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantData, sortedKeys(ps.DataSourceSchemas)); diff != "" {
		t.Errorf("data sources (-want +got):\n%s", diff)
	}
	// Guards against comparing two empty trees.
	if c.attrs < 300 || c.blocks < 50 {
		t.Errorf("compared only %d attributes and %d blocks", c.attrs, c.blocks)
	}
	t.Logf("compared %d attributes and %d blocks of %d resource types and %d data sources",
		c.attrs, c.blocks, len(wantResources), len(wantData))
}

// jsonBlock is the input format (yandex-schema.json).
type jsonBlock struct {
	RemovedIn   string `json:"_removed_in"`
	Description string `json:"description"`
	Attributes  map[string]struct {
		Type        json.RawMessage `json:"type"`
		Required    bool            `json:"required"`
		Optional    bool            `json:"optional"`
		Computed    bool            `json:"computed"`
		Sensitive   bool            `json:"sensitive"`
		Deprecated  string          `json:"deprecated"`
		Description string          `json:"description"`
	} `json:"attributes"`
	Blocks map[string]struct {
		jsonBlock
		Nesting    string `json:"nesting"`
		MinItems   int64  `json:"min_items"`
		MaxItems   int64  `json:"max_items"`
		Deprecated string `json:"deprecated"`
	} `json:"blocks"`
}

// tfSchema and tfBlock are Terraform's format (providers schema -json).
type tfSchema struct {
	Block tfBlock `json:"block"`
}

type tfBlock struct {
	Attributes map[string]struct {
		Type        json.RawMessage `json:"type"`
		Required    bool            `json:"required"`
		Optional    bool            `json:"optional"`
		Computed    bool            `json:"computed"`
		Sensitive   bool            `json:"sensitive"`
		Deprecated  bool            `json:"deprecated"`
		Description string          `json:"description"`
	} `json:"attributes"`
	BlockTypes map[string]struct {
		NestingMode string  `json:"nesting_mode"`
		Block       tfBlock `json:"block"`
		MinItems    int64   `json:"min_items"`
		MaxItems    int64   `json:"max_items"`
	} `json:"block_types"`
	Description string `json:"description"`
	Deprecated  bool   `json:"deprecated"`
}

type counter struct{ attrs, blocks int }

func (c *counter) compareBlock(t *testing.T, path string, want *jsonBlock, got *tfBlock) {
	t.Helper()
	if diff := cmp.Diff(sortedKeys(want.Attributes), sortedKeys(got.Attributes)); diff != "" {
		t.Errorf("%s: attribute names (-want +got):\n%s", path, diff)
	}
	if diff := cmp.Diff(sortedKeys(want.Blocks), sortedKeys(got.BlockTypes)); diff != "" {
		t.Errorf("%s: block names (-want +got):\n%s", path, diff)
	}
	if want.Description != got.Description {
		t.Errorf("%s: description %q, want %q", path, got.Description, want.Description)
	}
	for name, wa := range want.Attributes {
		ga, ok := got.Attributes[name]
		if !ok {
			continue
		}
		c.attrs++
		p := path + "." + name
		if !jsonEqual(t, wa.Type, ga.Type) {
			t.Errorf("%s: type %s, want %s", p, ga.Type, wa.Type)
		}
		wf := [5]bool{wa.Required, wa.Optional, wa.Computed, wa.Sensitive, wa.Deprecated != ""}
		gf := [5]bool{ga.Required, ga.Optional, ga.Computed, ga.Sensitive, ga.Deprecated}
		if wf != gf {
			t.Errorf("%s: required/optional/computed/sensitive/deprecated %v, want %v", p, gf, wf)
		}
		if wa.Description != ga.Description {
			t.Errorf("%s: description %q, want %q", p, ga.Description, wa.Description)
		}
	}
	for name, wb := range want.Blocks {
		gb, ok := got.BlockTypes[name]
		if !ok {
			continue
		}
		c.blocks++
		p := path + "." + name
		if wb.Nesting != gb.NestingMode || wb.MinItems != gb.MinItems || wb.MaxItems != gb.MaxItems {
			t.Errorf("%s: nesting %s min %d max %d, want %s min %d max %d", p,
				gb.NestingMode, gb.MinItems, gb.MaxItems, wb.Nesting, wb.MinItems, wb.MaxItems)
		}
		if (wb.Deprecated != "") != gb.Block.Deprecated {
			t.Errorf("%s: deprecated %v, want %q", p, gb.Block.Deprecated, wb.Deprecated)
		}
		c.compareBlock(t, p, &wb.jsonBlock, &gb.Block)
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestLifecycle runs init, validate, plan, apply, an empty replan, a plan with
// an in-place update and a replacement, and destroy on a configuration in
// the shape pghac emits (network, subnet, security group with ingress and
// egress rules, an instance whose image comes from a data source by family
// and whose user-data templatefile() renders a sensitive variable, a target
// group and a network load balancer).
func TestLifecycle(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir := infratest.CopyDir(t, "testdata/basic")

	init := env.Run(t, dir, "init", "-input=false", "-no-color")
	if !strings.Contains(init, "Installed yandex-cloud/yandex v"+fakeyandex.ProviderVersion) {
		t.Errorf("init did not install the provider from the mirror:\n%s", init)
	}
	if lock, err := os.ReadFile(filepath.Join(dir, ".terraform.lock.hcl")); err != nil || !strings.Contains(string(lock), `version     = "`+fakeyandex.ProviderVersion+`"`) {
		t.Errorf("lock file: %v\n%s", err, lock)
	}

	var valid struct {
		Valid        bool `json:"valid"`
		WarningCount int  `json:"warning_count"`
	}
	decode(t, env.Run(t, dir, "validate", "-json"), &valid)
	if !valid.Valid || valid.WarningCount != 0 {
		t.Errorf("validate: %+v, want valid without warnings", valid)
	}

	env.Run(t, dir, "plan", "-input=false", "-no-color", "-out=create.tfplan")
	create := showPlan(t, env, dir, "create.tfplan")
	wantCreate := map[string]string{
		"yandex_vpc_network.net":             "create",
		"yandex_vpc_subnet.a":                "create",
		"yandex_vpc_security_group.db":       "create",
		"yandex_compute_instance.node0":      "create",
		"yandex_lb_target_group.db":          "create",
		"yandex_lb_network_load_balancer.db": "create",
	}
	if diff := cmp.Diff(wantCreate, create.actions()); diff != "" {
		t.Errorf("create plan actions (-want +got):\n%s", diff)
	}
	vm := create.change(t, "yandex_compute_instance.node0")
	// SDKv2 defaults are planned, computed attributes are unknown, the
	// user-data is sensitive because its template renders a sensitive var.
	if got := vm.After["network_acceleration_type"]; got != "standard" {
		t.Errorf("network_acceleration_type = %v, want the SDK default standard", got)
	}
	if vm.AfterUnknown["id"] != true || vm.AfterUnknown["fqdn"] != true {
		t.Errorf("id and fqdn should be known after apply: %v", vm.AfterUnknown)
	}
	if sens, _ := vm.AfterSensitive["metadata"].(map[string]any); sens["user-data"] != true {
		t.Errorf("metadata.user-data should be sensitive: %v", vm.AfterSensitive["metadata"])
	}
	imageID := create.PriorState.Values.RootModule.resource(t, "data.yandex_compute_image.os").Values["id"]
	bootDisk := vm.After["boot_disk"].([]any)[0].(map[string]any)
	if params := bootDisk["initialize_params"].([]any)[0].(map[string]any); params["image_id"] != imageID || !strings.HasPrefix(imageID.(string), "fake") {
		t.Errorf("boot disk image_id = %v, want the data source's fake id %v", params["image_id"], imageID)
	}

	apply := env.Run(t, dir, "apply", "-input=false", "-no-color", "create.tfplan")
	if !strings.Contains(apply, "Apply complete! Resources: 6 added, 0 changed, 0 destroyed.") {
		t.Errorf("apply:\n%s", apply)
	}
	var outputs map[string]struct{ Value any }
	decode(t, env.Run(t, dir, "output", "-json"), &outputs)
	if ip, _ := outputs["node0_nat_ip"].Value.(string); !strings.HasPrefix(ip, "192.0.2.") {
		t.Errorf("node0_nat_ip = %v, want a fake address from 192.0.2.0/24", outputs["node0_nat_ip"].Value)
	}
	if outputs["image_id"].Value != imageID {
		t.Errorf("image_id output %v, want the planned %v (data sources must be deterministic)", outputs["image_id"].Value, imageID)
	}

	// Set blocks with defaults and computed ids (the security group) and
	// the data source must not show up as changes once applied.
	if out, err := env.Try(dir, "plan", "-input=false", "-no-color", "-detailed-exitcode"); err != nil {
		t.Fatalf("replan after apply is not empty: %v\n%s", err, out)
	}

	env.Run(t, dir, "plan", "-input=false", "-no-color", "-out=change.tfplan",
		"-var=network_name=renamed", "-var=image_family=debian-11")
	change := showPlan(t, env, dir, "change.tfplan")
	wantChange := map[string]string{
		"yandex_vpc_network.net":        "update",
		"yandex_compute_instance.node0": "delete,create",
	}
	if diff := cmp.Diff(wantChange, change.actions()); diff != "" {
		t.Errorf("change plan actions (-want +got):\n%s", diff)
	}
	replace := change.change(t, "yandex_compute_instance.node0").ReplacePaths
	if diff := cmp.Diff([][]any{{"boot_disk", 0.0, "initialize_params", 0.0, "image_id"}}, replace); diff != "" {
		t.Errorf("replace paths (-want +got):\n%s", diff)
	}

	env.Run(t, dir, "plan", "-input=false", "-no-color", "-out=resize.tfplan", "-var=cores=4")
	if diff := cmp.Diff(map[string]string{"yandex_compute_instance.node0": "update"},
		showPlan(t, env, dir, "resize.tfplan").actions()); diff != "" {
		t.Errorf("resize plan actions (-want +got):\n%s", diff)
	}

	destroy := env.Run(t, dir, "destroy", "-auto-approve", "-input=false", "-no-color")
	if !strings.Contains(destroy, "Destroy complete! Resources: 6 destroyed.") {
		t.Errorf("destroy:\n%s", destroy)
	}
	if state := env.Run(t, dir, "state", "list"); state != "" {
		t.Errorf("state after destroy:\n%s", state)
	}
}

// plan is the part of `terraform show -json <plan>` the tests read.
type plan struct {
	ResourceChanges []struct {
		Address string `json:"address"`
		Mode    string `json:"mode"`
		Change  change `json:"change"`
	} `json:"resource_changes"`
	PriorState struct {
		Values struct {
			RootModule module `json:"root_module"`
		} `json:"values"`
	} `json:"prior_state"`
}

type change struct {
	Actions        []string       `json:"actions"`
	After          map[string]any `json:"after"`
	AfterUnknown   map[string]any `json:"after_unknown"`
	AfterSensitive map[string]any `json:"after_sensitive"`
	ReplacePaths   [][]any        `json:"replace_paths"`
}

type module struct {
	Resources []struct {
		Address string         `json:"address"`
		Values  map[string]any `json:"values"`
	} `json:"resources"`
}

func (m module) resource(t *testing.T, addr string) struct {
	Address string         `json:"address"`
	Values  map[string]any `json:"values"`
} {
	t.Helper()
	for _, r := range m.Resources {
		if r.Address == addr {
			return r
		}
	}
	t.Fatalf("no %s in the prior state", addr)
	return m.Resources[0]
}

func showPlan(t *testing.T, env infratest.Env, dir, file string) *plan {
	t.Helper()
	var p plan
	decode(t, env.Run(t, dir, "show", "-json", file), &p)
	return &p
}

// actions maps each managed resource that changes to its actions.
func (p *plan) actions() map[string]string {
	out := map[string]string{}
	for _, rc := range p.ResourceChanges {
		if rc.Mode != "managed" || slices.Equal(rc.Change.Actions, []string{"no-op"}) {
			continue
		}
		out[rc.Address] = strings.Join(rc.Change.Actions, ",")
	}
	return out
}

func (p *plan) change(t *testing.T, addr string) change {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == addr {
			return rc.Change
		}
	}
	t.Fatalf("no change for %s", addr)
	return change{}
}

// TestValidateCatchesSchemaErrors: a misspelled argument and a missing
// required block fail `terraform validate`, from the served schema alone.
func TestValidateCatchesSchemaErrors(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir := infratest.CopyDir(t, "testdata/invalid")
	env.Run(t, dir, "init", "-input=false", "-no-color")
	out, err := env.Try(dir, "validate", "-json")
	var ee *infratest.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("validate: %v, want exit status 1", err)
	}
	got := diagnostics(t, out)
	want := []string{
		`error: Insufficient resources blocks: At least 1 "resources" blocks are required.`,
		`error: Unsupported argument: An argument named "platfrom_id" is not expected here. Did you mean "platform_id"?`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestValidateProviderChecks: the checks the fake re-implements from the
// schema's validate, conflicts_with, exactly_one_of and deprecated keys,
// with unknown values (var.port) left alone like the SDK does, and the
// boot_disk conflicts_with that the real provider never enforces (its key
// has no list index) silent.
func TestValidateProviderChecks(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	dir := infratest.CopyDir(t, "testdata/provider-checks")
	env.Run(t, dir, "init", "-input=false", "-no-color")
	out, err := env.Try(dir, "validate", "-json")
	if err == nil {
		t.Fatal("validate succeeded, want errors")
	}
	got := diagnostics(t, out)
	want := []string{
		`error: Conflicting configuration arguments: "password_payload_specification.0.excluded_punctuation": conflicts with password_payload_specification.0.included_punctuation`,
		`error: Conflicting configuration arguments: "password_payload_specification.0.included_punctuation": conflicts with password_payload_specification.0.excluded_punctuation`,
		`error: Invalid combination of arguments: Exactly one of "image_id", "family", "name" must be set; 2 are. The real provider rejects this when it reads the object.`,
		`error: expected network_acceleration_type to be one of ["standard" "software_accelerated"], got fast: `,
		`error: expected port to be in the range (-1 - 65535), got 70000: `,
		`warning: Argument is deprecated: Use ` + "`yandex_storage_bucket_grant`" + ` instead.`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// diagnostics returns "severity: summary: detail" of `validate -json`, sorted.
func diagnostics(t *testing.T, out string) []string {
	t.Helper()
	var v struct {
		Diagnostics []struct{ Severity, Summary, Detail string }
	}
	decode(t, out, &v)
	var got []string
	for _, d := range v.Diagnostics {
		got = append(got, d.Severity+": "+d.Summary+": "+d.Detail)
	}
	sort.Strings(got)
	return got
}

// TestScriptExecutable: Terraform accepts a shell script that execs the
// provider as the mirror's executable (pghac's offline mode installs one
// that runs pghac itself). The lock file records the script's hash: the
// program it runs may change freely, the script may not.
func TestScriptExecutable(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	// A private copy stands for the pghac binary that gets rebuilt.
	bin := filepath.Join(t.TempDir(), "provider")
	data, err := os.ReadFile(env.ProviderBinary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "provider.sh")
	if err := os.WriteFile(script, fakeyandex.ShellWrapper(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	mirrorDir := t.TempDir()
	cli, err := fakeyandex.WriteMirror(mirrorDir, script)
	if err != nil {
		t.Fatal(err)
	}
	env.CLIConfig, env.Vars = cli, fakeyandex.TerraformEnv(cli)

	dir := infratest.CopyDir(t, "testdata/basic")
	env.Run(t, dir, "init", "-input=false", "-no-color")
	env.Run(t, dir, "plan", "-input=false", "-no-color")

	// The program behind the script changes: the lock file still holds.
	if err := os.WriteFile(bin, append(data, "rebuilt"...), 0o755); err != nil {
		t.Fatal(err)
	}
	env.Run(t, dir, "plan", "-input=false", "-no-color")

	// The script changes: the working directory no longer plans.
	if _, err := fakeyandex.WriteMirror(mirrorDir, writeScript(t, fakeyandex.ShellWrapper(bin, "--moved"))); err != nil {
		t.Fatal(err)
	}
	_, err = env.Try(dir, "plan", "-input=false", "-no-color")
	var ee *infratest.ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.Stderr, "does not match any of the checksums recorded in the dependency lock file") {
		t.Errorf("plan after the script changed: %v, want a lock-file checksum error", err)
	}
}

func writeScript(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "provider.sh")
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
