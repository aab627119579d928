package fakeyandex

import (
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestLoadSchemas(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	wantResources := []string{
		"yandex_compute_disk", "yandex_compute_instance", "yandex_iam_service_account",
		"yandex_iam_service_account_static_access_key", "yandex_kms_symmetric_key",
		"yandex_kms_symmetric_key_iam_binding", "yandex_kms_symmetric_key_iam_member",
		"yandex_lb_network_load_balancer", "yandex_lb_target_group", "yandex_lockbox_secret",
		"yandex_lockbox_secret_iam_binding", "yandex_lockbox_secret_iam_member",
		"yandex_lockbox_secret_version", "yandex_resourcemanager_folder_iam_member",
		"yandex_storage_bucket", "yandex_storage_bucket_iam_binding", "yandex_storage_object",
		"yandex_vpc_address", "yandex_vpc_gateway", "yandex_vpc_network", "yandex_vpc_route_table",
		"yandex_vpc_security_group", "yandex_vpc_subnet",
	}
	if diff := cmp.Diff(wantResources, s.ResourceTypes()); diff != "" {
		t.Errorf("resource types (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"yandex_compute_image"}, s.DataSourceTypes()); diff != "" {
		t.Errorf("data sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"yandex_loadtesting_agent"}, s.Removed()); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	vm := s.resources["yandex_compute_instance"]
	if !vm.legacySDK || s.resources["yandex_lb_target_group"].legacySDK {
		t.Error("SDKv2/framework classification is wrong")
	}
	if a := findAttr(vm.block, "network_acceleration_type"); a.def == nil || !a.def.Equal(tftypes.NewValue(tftypes.String, "standard")) {
		t.Errorf("network_acceleration_type default = %v, want standard", a.def)
	}
	if fn := findAttr(s.resources["yandex_lb_target_group"].block, "folder_id").forceNew; fn != forceNewIfConfigured {
		t.Errorf("lb_target_group folder_id force_new = %v, want RequiresReplaceIfConfigured", fn)
	}
}

func TestParseTypeRejectsOptionalAttributes(t *testing.T) {
	// tftypes panics on such objects at apply time; they must fail at load.
	if _, err := parseType(json.RawMessage(`["object", {"a": "string"}, ["a"]]`)); err == nil {
		t.Error("object with optional attributes accepted")
	}
	typ, err := parseType(json.RawMessage(`["list", ["object", {"key": "string", "values": ["set", "number"]}]]`))
	if err != nil {
		t.Fatal(err)
	}
	want := tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"key": tftypes.String, "values": tftypes.Set{ElementType: tftypes.Number},
	}}}
	if !typ.Equal(want) {
		t.Errorf("got %s, want %s", typ, want)
	}
}

// TestValidatorCoverage pins which of the schema's validators the fake
// enforces, so that doc.go's list of unchecked ones stays true.
func TestValidatorCoverage(t *testing.T) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(schemaJSON, &top); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var b struct {
			RemovedIn  string                               `json:"_removed_in"`
			Attributes map[string]struct{ Validate string } `json:"attributes"`
			Blocks     map[string]json.RawMessage           `json:"blocks"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || b.RemovedIn != "" {
			return
		}
		for _, a := range b.Attributes {
			if a.Validate != "" {
				seen[a.Validate] = parseCheck(a.Validate) != nil
			}
		}
		for _, nb := range b.Blocks {
			walk(nb)
		}
	}
	for k, raw := range top {
		if !strings.HasPrefix(k, "_") {
			walk(raw)
		}
	}
	var unchecked []string
	checked := 0
	for _, src := range sortedKeys(seen) {
		if seen[src] {
			checked++
		} else {
			unchecked = append(unchecked, src)
		}
	}
	want := []string{
		"keys ^([a-z][-_0-9a-z]*)$ len 0-63; values ^([-_0-9a-z]*)$ len 0-63",
		"keys ^([a-z][-_0-9a-z]*)$ len 1-63; values ^([-_0-9a-z]*)$ len 0-63",
		"stringvalidator.OneOf(converter.MapKeys(kms.SymmetricAlgorithm_value)...)",
		"stringvalidator.OneOf(converter.MapKeys(kms.SymmetricKey_Status_value)...)",
		"validateParsableValue(parseComputePCITopology)",
		"validateS3BucketLifecycleTimestamp",
		"validateStringIsJSON",
		"validation.All( validation.StringLenBetween(1, 256), validation.StringMatch(regexp.MustCompile(`^[-_./\\\\@0-9a-zA-Z]+$`), \"\"), )",
		"validation.All(validation.StringMatch(regexp.MustCompile(`^([-_./\\\\@0-9a-zA-Z]+)$`), \"\"), validation.StringLenBetween(0, 256))",
		"validation.IsRFC3339Time",
		"validation.StringInSlice( s3.ObjectLockRetentionModeValues, false, )",
		"validation.StringInSlice([]string{ s3.ServerSideEncryptionAwsKms, }, false)",
		"validation.StringInSlice([]string{ s3.TypeCanonicalUser, s3.TypeGroup, }, false)",
		"validation.StringInSlice(bucketACLAllowedValues, false)",
		"validation.StringInSlice(s3.ObjectLockEnabledValues, false)",
		"validation.StringInSlice(s3.ObjectLockLegalHoldStatusValues, false)",
		"validation.StringInSlice(s3.ObjectLockRetentionModeValues, false)",
		"validation.StringInSlice(storageClassSet, false)",
	}
	if diff := cmp.Diff(want, unchecked); diff != "" {
		t.Errorf("unchecked validators (-want +got):\n%s", diff)
	}
	if checked != 22 {
		t.Errorf("%d distinct validators checked, want 22", checked)
	}
}

func TestChecks(t *testing.T) {
	num := func(f float64) tftypes.Value { return tftypes.NewValue(tftypes.Number, big.NewFloat(f)) }
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	tests := []struct {
		src, name string
		v         tftypes.Value
		want      string
	}{
		{"validation.IntBetween(-1, 65535)", "port", num(65535), ""},
		{"validation.IntBetween(-1, 65535)", "port", num(65536), "expected port to be in the range (-1 - 65535), got 65536"},
		{"validation.IntBetween(-1, 65535)", "port", num(22.5), "expected type of port to be integer"},
		{"validation.IntAtLeast(1)", "size", num(0), "expected size to be at least (1), got 0"},
		{"FloatAtLeast(0.0)", "memory", num(0.5), ""},
		{"FloatAtLeast(0.0)", "memory", num(-1), "expected memory to be at least (0), got -1"},
		{"validation.StringLenBetween(0, 31)", "p", str(strings.Repeat("x", 32)), "expected length of p to be in the range (0 - 31), got " + strings.Repeat("x", 32)},
		{`validation.StringInSlice([]string{"tcp", "udp"}, false)`, "protocol", str("udp"), ""},
		{`validation.StringInSlice([]string{"tcp", "udp"}, false)`, "protocol", str("TCP"), `expected protocol to be one of ["tcp" "udp"], got TCP`},
		{"stringvalidator.LengthBetween(0, 3)", "name", str("abcd"), "Invalid Attribute Value Length: Attribute name string length must be between 0 and 3, got: 4"},
		{"regex ^([a-z]([-a-z0-9]{0,61}[a-z0-9])?)$", "name", str("pghac-sa"), ""},
		{"regex ^([a-z]([-a-z0-9]{0,61}[a-z0-9])?)$", "name", str("Pghac"), "Invalid Attribute Value Match: Attribute name value must match regular expression '^([a-z]([-a-z0-9]{0,61}[a-z0-9])?)$', got: Pghac"},
	}
	for _, tt := range tests {
		check := parseCheck(tt.src)
		if check == nil {
			t.Errorf("%s: not understood", tt.src)
			continue
		}
		summary, detail := check(tt.name, tt.v)
		got := summary
		if detail != "" {
			got += ": " + detail
		}
		if got != tt.want {
			t.Errorf("%s on %v: got %q, want %q", tt.src, tt.v, got, tt.want)
		}
	}
}

// instance builds a yandex_compute_instance object from the few parts a
// test sets; everything else is null or empty.
func instance(t *testing.T, ts *typeSchema, bootDisk map[string]tftypes.Value, params []map[string]tftypes.Value) tftypes.Value {
	t.Helper()
	vals := map[string]tftypes.Value{}
	for n, typ := range ts.block.typ.AttributeTypes {
		switch typ.(type) {
		case tftypes.List:
			vals[n] = tftypes.NewValue(typ, []tftypes.Value{})
		case tftypes.Set:
			vals[n] = tftypes.NewValue(typ, []tftypes.Value{})
		default:
			vals[n] = tftypes.NewValue(typ, nil)
		}
	}
	bd := findBlock(ts.block, "boot_disk").block
	ip := findBlock(bd, "initialize_params").block
	bdVals := map[string]tftypes.Value{}
	for n, typ := range bd.typ.AttributeTypes {
		bdVals[n] = tftypes.NewValue(typ, nil)
	}
	for n, v := range bootDisk {
		bdVals[n] = v
	}
	var ps []tftypes.Value
	for _, p := range params {
		pv := map[string]tftypes.Value{}
		for n, typ := range ip.typ.AttributeTypes {
			pv[n] = tftypes.NewValue(typ, nil)
		}
		for n, v := range p {
			pv[n] = v
		}
		ps = append(ps, tftypes.NewValue(ip.typ, pv))
	}
	bdVals["initialize_params"] = tftypes.NewValue(tftypes.List{ElementType: ip.typ}, ps)
	vals["boot_disk"] = tftypes.NewValue(tftypes.List{ElementType: bd.typ}, []tftypes.Value{tftypes.NewValue(bd.typ, bdVals)})
	return tftypes.NewValue(ts.typ, vals)
}

// TestReplacePaths follows SDKv2: inner force_new attributes force
// replacement, a force_new block only when its element count changes.
func TestReplacePaths(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	ts := s.resources["yandex_compute_instance"]
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	image := func(id string) []map[string]tftypes.Value { return []map[string]tftypes.Value{{"image_id": str(id)}} }
	prior := instance(t, ts, map[string]tftypes.Value{"mode": str("READ_WRITE")}, image("fd8a"))
	root := tftypes.NewAttributePath()
	bootDisk := root.WithAttributeName("boot_disk")
	tests := []struct {
		name    string
		planned tftypes.Value
		want    []*tftypes.AttributePath
	}{
		{"unchanged", prior, nil},
		{"mode is not force_new", instance(t, ts, map[string]tftypes.Value{"mode": str("READ_ONLY")}, image("fd8a")), nil},
		{"image_id is force_new", instance(t, ts, map[string]tftypes.Value{"mode": str("READ_WRITE")}, image("fd8b")),
			[]*tftypes.AttributePath{bootDisk.WithElementKeyInt(0).WithAttributeName("initialize_params").WithElementKeyInt(0).WithAttributeName("image_id")}},
		{"initialize_params removed", instance(t, ts, map[string]tftypes.Value{"mode": str("READ_WRITE")}, nil),
			[]*tftypes.AttributePath{bootDisk.WithElementKeyInt(0).WithAttributeName("initialize_params")}},
	}
	for _, tt := range tests {
		got := replacePaths(ts.block, root, tt.planned, prior, tt.planned)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if !got[i].Equal(tt.want[i]) {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}

// TestPlanKeepsComputedBlock: an SDKv2 Optional+Computed block left out of
// the configuration keeps its prior value instead of being planned away.
func TestPlanKeepsComputedBlock(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	ts := s.resources["yandex_compute_instance"]
	prior := instance(t, ts, nil, []map[string]tftypes.Value{{"image_id": tftypes.NewValue(tftypes.String, "fd8a")}})
	proposed := instance(t, ts, nil, nil) // initialize_params is optional+computed
	planned := planBlock(ts.block, proposed, prior, true)
	bd := elems(attrs(planned)["boot_disk"])[0]
	if got := elems(attrs(bd)["initialize_params"]); len(got) != 1 {
		t.Fatalf("initialize_params planned as %v, want the prior element", got)
	}
	if got := attrs(bd)["auto_delete"]; !got.Equal(tftypes.NewValue(tftypes.Bool, true)) {
		t.Errorf("boot_disk.auto_delete = %v, want the SDK default true", got)
	}
	if got := attrs(planned)["id"]; got.IsKnown() {
		t.Errorf("id = %v, want unknown", got)
	}
}

func TestFakerIsDeterministic(t *testing.T) {
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"id": tftypes.String, "created_at": tftypes.String, "nat_ip_address": tftypes.String,
		"status": tftypes.String, "size": tftypes.Number, "labels": tftypes.Map{ElementType: tftypes.String},
	}}
	unknown := map[string]tftypes.Value{}
	for n, at := range typ.AttributeTypes {
		unknown[n] = tftypes.NewValue(at, tftypes.UnknownValue)
	}
	v := tftypes.NewValue(typ, unknown)
	a, err := faker{seed: []byte("x")}.fill(v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := faker{seed: []byte("x")}.fill(v)
	c, _ := faker{seed: []byte("y")}.fill(v)
	if !a.Equal(b) || a.Equal(c) {
		t.Errorf("same seed must give the same values, another seed other ids: %v %v %v", a, b, c)
	}
	got := attrs(a)
	var id, at, ip, status string
	_ = got["id"].As(&id)
	_ = got["created_at"].As(&at)
	_ = got["nat_ip_address"].As(&ip)
	_ = got["status"].As(&status)
	if len(id) != 20 || !strings.HasPrefix(id, "fake") || at != fakeTime || !strings.HasPrefix(ip, "192.0.2.") || status != "fake-status" {
		t.Errorf("fakes: id %q created_at %q nat_ip_address %q status %q", id, at, ip, status)
	}
}

func TestWriteMirror(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // rewriting is allowed
		cli, err := WriteMirror(filepath.Join(dir, "offline"), exe)
		if err != nil {
			t.Fatal(err)
		}
		if cli != filepath.Join(dir, "offline", "terraformrc") {
			t.Errorf("config at %s", cli)
		}
	}
	installed := filepath.Join(dir, "offline", "mirror", "registry.terraform.io", "yandex-cloud", "yandex",
		ProviderVersion, runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-yandex_v"+ProviderVersion)
	fi, err := os.Stat(installed)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode())
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "offline", "terraformrc"))
	if err != nil {
		t.Fatal(err)
	}
	want := `# Written by pghac: install yandex-cloud/yandex from pghac's offline mirror.
provider_installation {
  filesystem_mirror {
    path    = "` + filepath.Join(dir, "offline", "mirror") + `"
    include = ["registry.terraform.io/yandex-cloud/yandex"]
  }
}
`
	if diff := cmp.Diff(want, string(cfg)); diff != "" {
		t.Errorf("terraformrc (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(installed))
	if len(entries) != 1 {
		t.Errorf("mirror package holds %d files, want 1 (no temporary leftovers)", len(entries))
	}
}

func TestShellWrapper(t *testing.T) {
	script := filepath.Join(t.TempDir(), "wrapper")
	if err := os.WriteFile(script, ShellWrapper("/bin/echo", "it's", "$HOME"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "a b", "c").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "it's $HOME a b c\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// BenchmarkParseSchemas is the start-up cost of every provider process
// (Terraform starts 2 to 5 per command).
func BenchmarkParseSchemas(b *testing.B) {
	for b.Loop() {
		if _, err := parseSchemas(schemaJSON); err != nil {
			b.Fatal(err)
		}
	}
}

// object builds a value of block b: the attributes in set, every other
// attribute null and every block empty.
func object(b *block, set map[string]tftypes.Value) tftypes.Value {
	vals := map[string]tftypes.Value{}
	for n, typ := range b.typ.AttributeTypes {
		switch typ.(type) {
		case tftypes.List, tftypes.Set:
			vals[n] = tftypes.NewValue(typ, []tftypes.Value{})
		default:
			vals[n] = tftypes.NewValue(typ, nil)
		}
	}
	for n, v := range set {
		vals[n] = v
	}
	return tftypes.NewValue(b.typ, vals)
}

// TestFrameworkDefaults: a framework resource's computed attribute with a
// literal default is planned as the default, not as unknown, and a
// configured value wins.
func TestFrameworkDefaults(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	ts := s.resources["yandex_kms_symmetric_key"]
	if ts.legacySDK {
		t.Fatal("yandex_kms_symmetric_key should be a framework resource")
	}
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	null := tftypes.NewValue(ts.typ, nil)
	planned := attrs(planBlock(ts.block, object(ts.block, nil), null, ts.legacySDK))
	if got := planned["default_algorithm"]; !got.Equal(str("AES_128")) {
		t.Errorf("default_algorithm = %v, want the framework default AES_128", got)
	}
	if got := planned["deletion_protection"]; !got.Equal(tftypes.NewValue(tftypes.Bool, false)) {
		t.Errorf("deletion_protection = %v, want the framework default false", got)
	}
	if got := planned["rotation_period"]; got.IsKnown() {
		t.Errorf("rotation_period = %v, want unknown (computed, no default)", got)
	}
	planned = attrs(planBlock(ts.block, object(ts.block, map[string]tftypes.Value{"default_algorithm": str("AES_256")}), null, ts.legacySDK))
	if got := planned["default_algorithm"]; !got.Equal(str("AES_256")) {
		t.Errorf("configured default_algorithm = %v, want AES_256", got)
	}
}

// TestMoveToLockbox: with output_to_lockbox set, a static access key's
// outputs are applied empty, as the real provider leaves them; without it
// they are faked.
func TestMoveToLockbox(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	ts := s.resources["yandex_iam_service_account_static_access_key"]
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	ol := findBlock(ts.block, "output_to_lockbox").block
	block := tftypes.NewValue(tftypes.List{ElementType: ol.typ}, []tftypes.Value{object(ol, map[string]tftypes.Value{
		"secret_id": str("fakesecret"), "entry_for_access_key": str("access_key"), "entry_for_secret_key": str("secret_key"),
	})})
	apply := func(set map[string]tftypes.Value) map[string]tftypes.Value {
		t.Helper()
		planned := planBlock(ts.block, object(ts.block, set), tftypes.NewValue(ts.typ, nil), ts.legacySDK)
		if got := attrs(planned)["secret_key"]; got.IsKnown() {
			t.Errorf("planned secret_key = %v, want unknown", got)
		}
		state, err := faker{seed: []byte("x")}.fill(planned)
		if err != nil {
			t.Fatal(err)
		}
		return attrs(moveToLockbox(ts.block, state))
	}
	var id string
	got := apply(map[string]tftypes.Value{"service_account_id": str("fakesa"), "output_to_lockbox": block})
	for _, a := range []string{"secret_key", "access_key"} {
		if !got[a].Equal(str("")) {
			t.Errorf("with output_to_lockbox: %s = %v, want empty", a, got[a])
		}
	}
	if err := got["output_to_lockbox_version_id"].As(&id); err != nil || !strings.HasPrefix(id, "fake") {
		t.Errorf("output_to_lockbox_version_id = %v, want a fake id", got["output_to_lockbox_version_id"])
	}

	got = apply(map[string]tftypes.Value{"service_account_id": str("fakesa")})
	if !got["secret_key"].Equal(str("fake-secret_key")) || !got["access_key"].Equal(str("fake-access_key")) {
		t.Errorf("without output_to_lockbox: secret_key %v access_key %v, want fakes", got["secret_key"], got["access_key"])
	}
}
