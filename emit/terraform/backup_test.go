package terraform_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/terraform"
)

func withBackup(c *model.Cluster) {
	c.Backup = &model.Backup{Stanza: c.Name, Bucket: "main-backups", Endpoint: model.YandexStorageEndpoint, Port: 443, DeletionProtection: true,
		Region: model.YandexStorageRegion, Path: "/pgbackrest"}
}

// iamGrantRE matches the resource types that grant roles: yandex_<object>_iam_member,
// _iam_binding, _iam_policy.
var iamGrantRE = regexp.MustCompile(`_iam_(member|binding|policy)$`)

const saMember = `"serviceAccount:${yandex_iam_service_account.backup.id}"`

// grants lists every grant of a role in the module, in file order, as "TYPE ROLE OBJECT
// MEMBER(S)", each on its one object.
func (m *tfModule) grants(t *testing.T) []string {
	t.Helper()
	var grants []string
	for _, path := range m.paths() {
		for _, b := range m.body[path].Blocks {
			if b.Type != "resource" || !iamGrantRE.MatchString(b.Labels[0]) {
				continue
			}
			if strings.Contains(b.Labels[0], "folder") || strings.Contains(b.Labels[0], "cloud") || strings.Contains(b.Labels[0], "organization") {
				t.Errorf("%s: %s %s grants a role beyond one object", path, b.Labels[0], b.Labels[1])
			}
			a := m.attrs(b)
			grants = append(grants, strings.Join([]string{b.Labels[0], a["role"],
				a["symmetric_key_id"] + a["bucket"] + a["secret_id"], a["member"] + a["members"]}, " "))
		}
	}
	return grants
}

// TestBackup: the repository's bucket is versioned, expires what pgBackRest deletes,
// encrypted by the module's own KMS key and closed to anonymous access; its service account
// gets one role on the bucket and one on the key.
func TestBackup(t *testing.T) {
	c := modeltest.Cluster()
	withBackup(c)
	m := emitModule(t, c)

	// Lifted by an explicit setting only: then neither the key nor the secret is protected.
	c.Backup.DeletionProtection = false
	lifted := emitModule(t, c)
	for _, r := range [][2]string{{"yandex_kms_symmetric_key", "backup"}, {"yandex_lockbox_secret", "backup_s3_key"}} {
		lifted.wantAttrs(t, lifted.block(t, "backup.tf", "resource", r[0], r[1]), map[string]string{"deletion_protection": "false"})
	}
	c.Backup.DeletionProtection = true

	key := m.block(t, "backup.tf", "resource", "yandex_kms_symmetric_key", "backup")
	m.wantAttrs(t, key, map[string]string{"name": `"main-backup"`, "rotation_period": `"8760h"`,
		"default_algorithm": `"AES_256"`, "deletion_protection": "true"})

	bucket := m.block(t, "backup.tf", "resource", "yandex_storage_bucket", "backup")
	m.wantAttrs(t, bucket, map[string]string{"bucket": `"main-backups"`, "folder_id": "var.folder_id", "force_destroy": "false"})
	for _, a := range []string{"access_key", "secret_key", "acl", "policy"} {
		if _, ok := m.attrs(bucket)[a]; ok {
			t.Errorf("bucket sets %s", a)
		}
	}
	if len(children(bucket, "grant")) != 0 {
		t.Error("bucket has ACL grants")
	}
	m.wantAttrs(t, child(t, bucket, "anonymous_access_flags"), map[string]string{"read": "false", "list": "false", "config_read": "false"})
	m.wantAttrs(t, child(t, bucket, "versioning"), map[string]string{"enabled": "true"})
	rule := child(t, bucket, "lifecycle_rule")
	m.wantAttrs(t, rule, map[string]string{"enabled": "true", "abort_incomplete_multipart_upload_days": "1"})
	if _, ok := m.attrs(rule)["prefix"]; ok || len(children(rule, "filter")) != 0 {
		t.Error("the lifecycle rule is limited to part of the bucket")
	}
	m.wantAttrs(t, child(t, rule, "noncurrent_version_expiration"), map[string]string{"days": "1"})
	m.wantAttrs(t, child(t, rule, "expiration"), map[string]string{"expired_object_delete_marker": "true"})
	sse := child(t, child(t, child(t, bucket, "server_side_encryption_configuration"), "rule"), "apply_server_side_encryption_by_default")
	m.wantAttrs(t, sse, map[string]string{"kms_master_key_id": "yandex_kms_symmetric_key.backup.id", "sse_algorithm": `"aws:kms"`})

	m.wantAttrs(t, m.block(t, "backup.tf", "resource", "yandex_iam_service_account", "backup"), map[string]string{"name": `"main-backup"`})

	// Every grant in the module: exactly the two, each on its one object, besides the nodes'
	// two on their secret (secrets.tf).
	want := []string{
		`yandex_kms_symmetric_key_iam_member "kms.keys.encrypterDecrypter" yandex_kms_symmetric_key.backup.id ` + saMember,
		`yandex_storage_bucket_iam_binding "storage.editor" yandex_storage_bucket.backup.bucket [` + saMember + `]`,
		nodesSecretGrant, nodesKeyGrant,
	}
	if diff := cmp.Diff(want, m.grants(t)); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}

	sk := m.block(t, "backup.tf", "resource", "yandex_iam_service_account_static_access_key", "backup")
	m.wantAttrs(t, sk, map[string]string{"service_account_id": "yandex_iam_service_account.backup.id"})
	m.wantAttrs(t, child(t, sk, "output_to_lockbox"), map[string]string{
		"secret_id": "yandex_lockbox_secret.backup_s3_key.id", "entry_for_access_key": `"access_key"`, "entry_for_secret_key": `"secret_key"`,
	})
	m.wantAttrs(t, m.block(t, "backup.tf", "resource", "yandex_lockbox_secret", "backup_s3_key"), map[string]string{"name": `"main-backup-s3-key"`, "deletion_protection": "true"})
	// The comment tells where the nodes' copy of the key lives meanwhile.
	for _, s := range []model.Secret{model.SecretBackupAccessKey, model.SecretBackupSecretKey} {
		if !strings.Contains(string(m.src["backup.tf"]), string(s)) {
			t.Errorf("backup.tf does not say that the secrets file holds the key as %s", s)
		}
	}

	m.wantAttrs(t, m.block(t, "backup.tf", "output", "backup_bucket"), map[string]string{"value": "yandex_storage_bucket.backup.bucket"})
	m.wantAttrs(t, m.block(t, "backup.tf", "output", "backup_s3_key_secret_id"), map[string]string{"value": "yandex_lockbox_secret.backup_s3_key.id"})
}

// TestBackupKeyNeverInState: nothing in the module reads the static access key's secret_key
// or access_key (which would bring them into the plan), and nothing passes S3 keys to the
// bucket: Terraform manages it with the provider's own credentials.
func TestBackupKeyNeverInState(t *testing.T) {
	c := modeltest.Cluster()
	withBackup(c)
	withLoadGenerator(c)
	withLoadBalancer("external")(c)
	m := emitModule(t, c)
	forbidden := []string{"secret_key", "access_key", "encrypted_secret_key"}
	for _, path := range m.paths() {
		diags := hclsyntax.VisitAll(m.body[path], func(n hclsyntax.Node) hcl.Diagnostics {
			switch n := n.(type) {
			case *hclsyntax.Attribute:
				if slices.Contains(forbidden, n.Name) {
					t.Errorf("%s:%d: attribute %s", path, n.SrcRange.Start.Line, n.Name)
				}
			case hclsyntax.Expression:
				for _, tr := range n.Variables() {
					for _, step := range tr {
						if a, ok := step.(hcl.TraverseAttr); ok && slices.Contains(forbidden, a.Name) {
							t.Errorf("%s:%d: reference to %s", path, tr.SourceRange().Start.Line, a.Name)
						}
					}
				}
			}
			return nil
		})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
	}
	// What references the static access key at all: nothing.
	for _, path := range m.paths() {
		if strings.Contains(string(m.src[path]), "yandex_iam_service_account_static_access_key.") {
			t.Errorf("%s refers to the static access key", path)
		}
	}
}

func TestBackupErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *model.Cluster)
		want   string
	}{
		{"no bucket", func(c *model.Cluster) { c.Backup.Bucket = "" }, "backup.tf: backup has no bucket"},
		{"state bucket", func(c *model.Cluster) { c.State = &model.State{Bucket: "main-backups", Key: "main.tfstate"} },
			`backup.tf: backup bucket "main-backups" is also the bucket of Terraform's state`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := modeltest.Cluster()
			withBackup(c)
			tt.modify(c)
			_, err := terraform.Files(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Files error %v, want %q", err, tt.want)
			}
		})
	}
}
