package fakeyandex_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/terraform"
	"github.com/pghac/pghac/infra/infratest"
)

// The values the fake gives a static access key's secret_key and access_key when nothing
// keeps them out of the state (see TestMoveToLockbox).
const (
	fakeSecretKey = "fake-secret_key"
	fakeAccessKey = "fake-access_key"
)

// backupResources are the resources of pghac's backup.tf.
var backupResources = []string{
	"yandex_iam_service_account.backup",
	"yandex_iam_service_account_static_access_key.backup",
	"yandex_kms_symmetric_key.backup",
	"yandex_kms_symmetric_key_iam_member.backup",
	"yandex_lockbox_secret.backup_s3_key",
	"yandex_storage_bucket.backup",
	"yandex_storage_bucket_iam_binding.backup",
}

// emittedModule writes the Terraform module package terraform emits for c into a temporary
// directory, with a stand-in user-data file for each node (package emit writes the real
// ones), and a var file for it outside the module; it returns both paths.
func emittedModule(t *testing.T, c *model.Cluster) (dir, vars string) {
	t.Helper()
	files, err := terraform.Files(c)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	write := func(path string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		write(f.Path, f.Bytes)
	}
	for _, n := range c.Nodes {
		write("nodes/"+n.Name+"/user-data.yaml", []byte("#cloud-config\n"))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "cloud_id = %q\nfolder_id = %q\n%s = %q\n", "b1gtestcloud", "b1gtestfolder", model.OperatorKeyVar,
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPghacOperatorKeyPghacOperatorKey0000 pghac-operator@test")
	for _, s := range c.Secrets() {
		fmt.Fprintf(&b, "%s = %q\n", s, "test-"+string(s)+"-0123456789")
	}
	vars = filepath.Join(t.TempDir(), "secrets.tfvars")
	if err := os.WriteFile(vars, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, vars
}

// TestEmittedBackupModule runs the real terraform over the module pghac emits for a cluster
// with backups: the bucket, its KMS key, the service account with its two grants and its
// static access key written to Lockbox validate, plan and apply against the provider's
// schema, a replan is empty, and neither the saved plans nor the state hold the key pair
// (which a control run without output_to_lockbox shows they would).
func TestEmittedBackupModule(t *testing.T) {
	t.Parallel()
	env := infratest.Provider(t)
	c := modeltest.Cluster()
	c.Backup = &model.Backup{Stanza: c.Name, Bucket: "main-backups", Endpoint: model.YandexStorageEndpoint, Port: 443, DeletionProtection: true,
		Region: model.YandexStorageRegion, Path: "/pgbackrest"}
	dir, vars := emittedModule(t, c)
	varFile := "-var-file=" + vars

	env.Run(t, dir, "init", "-input=false", "-no-color")
	var valid struct {
		Valid        bool `json:"valid"`
		WarningCount int  `json:"warning_count"`
	}
	decode(t, env.Run(t, dir, "validate", "-json"), &valid)
	if !valid.Valid || valid.WarningCount != 0 {
		t.Errorf("validate: %+v, want valid without warnings", valid)
	}

	env.Run(t, dir, "plan", "-input=false", "-no-color", varFile, "-out=create.tfplan")
	create := showPlan(t, env, dir, "create.tfplan")
	actions := create.actions()
	for _, addr := range backupResources {
		if actions[addr] != "create" {
			t.Errorf("%s: actions %q, want create", addr, actions[addr])
		}
	}
	sk := create.change(t, "yandex_iam_service_account_static_access_key.backup")
	if sk.AfterUnknown["secret_key"] != true || sk.AfterUnknown["access_key"] != true {
		t.Errorf("static key: secret_key and access_key should be known only after apply: %v", sk.AfterUnknown)
	}
	key := create.change(t, "yandex_kms_symmetric_key.backup").After
	if key["default_algorithm"] != "AES_256" || key["rotation_period"] != "8760h" || key["deletion_protection"] != true {
		t.Errorf("KMS key planned as %v", key)
	}
	bucket := create.change(t, "yandex_storage_bucket.backup").After
	if diff := cmp.Diff([]any{map[string]any{"enabled": true}}, bucket["versioning"]); diff != "" {
		t.Errorf("bucket versioning (-want +got):\n%s", diff)
	}
	if bucket["folder_id"] != "b1gtestfolder" || bucket["force_destroy"] != false {
		t.Errorf("bucket folder_id %v force_destroy %v, want the folder variable and false", bucket["folder_id"], bucket["force_destroy"])
	}

	apply := env.Run(t, dir, "apply", "-input=false", "-no-color", "create.tfplan")
	if want := fmt.Sprintf("Apply complete! Resources: %d added, 0 changed, 0 destroyed.", len(actions)); !strings.Contains(apply, want) {
		t.Errorf("apply: want %q in\n%s", want, apply)
	}
	var state struct {
		Values struct {
			Outputs    map[string]struct{ Value any } `json:"outputs"`
			RootModule module                         `json:"root_module"`
		} `json:"values"`
	}
	decode(t, env.Run(t, dir, "show", "-json"), &state)
	applied := state.Values.RootModule.resource(t, "yandex_iam_service_account_static_access_key.backup").Values
	if applied["secret_key"] != "" || applied["access_key"] != "" {
		t.Errorf("state holds the key pair: access_key %q, secret_key %q", applied["access_key"], applied["secret_key"])
	}
	if v, _ := applied["output_to_lockbox_version_id"].(string); !strings.HasPrefix(v, "fake") {
		t.Errorf("output_to_lockbox_version_id = %v, want the fake id of a Lockbox version", applied["output_to_lockbox_version_id"])
	}
	if got := state.Values.Outputs["backup_bucket"].Value; got != "main-backups" {
		t.Errorf("backup_bucket = %v", got)
	}
	if id, _ := state.Values.Outputs["backup_s3_key_secret_id"].Value.(string); !strings.HasPrefix(id, "fake") {
		t.Errorf("backup_s3_key_secret_id = %v, want the secret's fake id", state.Values.Outputs["backup_s3_key_secret_id"].Value)
	}

	// Optional+computed blocks (versioning, anonymous access), framework defaults and the
	// grants' sets must not show up as changes once applied.
	if out, err := env.Try(dir, "plan", "-input=false", "-no-color", varFile, "-detailed-exitcode", "-out=replan.tfplan"); err != nil {
		t.Fatalf("replan after apply is not empty: %v\n%s", err, out)
	}
	for _, f := range []string{"create.tfplan", "replan.tfplan", "terraform.tfstate"} {
		for _, v := range []string{fakeSecretKey, fakeAccessKey} {
			if holds(t, filepath.Join(dir, f), v) {
				t.Errorf("%s holds the static access key's %s", f, v)
			}
		}
	}

	// Control: the same key without output_to_lockbox lands in the state, where the scan
	// above would have found it.
	control, _ := emittedModule(t, c)
	src, err := os.ReadFile(filepath.Join(control, "backup.tf"))
	if err != nil {
		t.Fatal(err)
	}
	stripped := regexp.MustCompile(`(?s)\n  output_to_lockbox \{.*?\n  \}\n`).ReplaceAll(src, []byte("\n"))
	if bytes.Equal(stripped, src) {
		t.Fatal("backup.tf has no output_to_lockbox block to remove")
	}
	if err := os.WriteFile(filepath.Join(control, "backup.tf"), stripped, 0o644); err != nil {
		t.Fatal(err)
	}
	env.Run(t, control, "init", "-input=false", "-no-color")
	env.Run(t, control, "apply", "-input=false", "-no-color", "-auto-approve", varFile,
		"-target=yandex_iam_service_account_static_access_key.backup")
	if !holds(t, filepath.Join(control, "terraform.tfstate"), fakeSecretKey) {
		t.Error("control: without output_to_lockbox the state should hold the key's secret")
	}
}

// holds reports whether the file at path, or any member of it when it is a zip archive (a
// saved plan), contains s.
func holds(t *testing.T, path, s string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if errors.Is(err, zip.ErrFormat) {
		return bytes.Contains(data, []byte(s))
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) == 0 {
		t.Fatalf("%s: empty archive", path)
	}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		member, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(member, []byte(s)) {
			return true
		}
	}
	return false
}
