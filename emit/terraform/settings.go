package terraform

import (
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/tfwrite"
)

const (
	// RequiredVersion is the Terraform versions the module accepts. The provider speaks plugin
	// protocol 6 (Terraform 1.1.5+); pghac's plan and apply are tested with 1.11.
	RequiredVersion = ">= 1.5"
	// RequiredVersionS3 is what the s3 backend of a state block needs: its endpoints and
	// skip_* arguments came with Terraform 1.6 (infra.S3BackendMinVersion).
	RequiredVersionS3 = ">= 1.6"
	// ProviderSource and ProviderVersion pin the Yandex Cloud provider whose schema the module
	// is written for (0.222.0; the test provider serves that schema).
	ProviderSource  = "yandex-cloud/yandex"
	ProviderVersion = "~> 0.222"
)

// versions writes versions.tf: the Terraform and provider versions and the state backend.
func (m *module) versions(b *hclwrite.Body) error {
	tf := tfwrite.Block(b, nil, "terraform")
	required := RequiredVersion
	if m.c.State != nil {
		required = RequiredVersionS3
	}
	tf.SetAttributeValue("required_version", cty.StringVal(required))
	rp := tfwrite.Block(tf, nil, "required_providers")
	rp.SetAttributeRaw("yandex", tfwrite.Object(
		tfwrite.Item{Key: "source", Value: tfwrite.Str(ProviderSource)},
		tfwrite.Item{Key: "version", Value: tfwrite.Str(ProviderVersion)},
	))
	if st := m.c.State; st != nil {
		comment := []string{
			"State and saved plans hold every VM's user-data as rendered, passwords included: they",
			"live in Object Storage (cluster.hcl's state block). Give Terraform a static access key of",
			"a service account with storage.editor on the bucket as AWS_ACCESS_KEY_ID and",
			"AWS_SECRET_ACCESS_KEY; turn on the bucket's versioning and default encryption by a KMS key.",
		}
		if st.LockTable != "" {
			comment = append(comment, "A YDB table locks the state: the static key's service account needs access to that database too.")
		} else {
			comment = append(comment, "NOTHING LOCKS THE STATE: two applies at once can both write it (see the state block's",
				"lock_table in docs/cluster-hcl.md).")
		}
		s3 := tfwrite.Block(tf, comment, "backend", "s3")
		s3.SetAttributeValue("bucket", cty.StringVal(st.Bucket))
		s3.SetAttributeValue("key", cty.StringVal(st.Key))
		s3.SetAttributeValue("region", cty.StringVal("ru-central1"))
		endpoints := []tfwrite.Item{{Key: "s3", Value: tfwrite.Str("https://storage.yandexcloud.net")}}
		if st.LockTable != "" {
			endpoints = append(endpoints, tfwrite.Item{Key: "dynamodb", Value: tfwrite.Str(st.LockEndpoint)})
		}
		s3.SetAttributeRaw("endpoints", tfwrite.Object(endpoints...))
		if st.LockTable != "" {
			s3.SetAttributeValue("dynamodb_table", cty.StringVal(st.LockTable))
		}
		// Object Storage is S3-compatible, not AWS: skip the AWS-only checks.
		for _, k := range []string{"skip_region_validation", "skip_credentials_validation", "skip_requesting_account_id", "skip_s3_checksum"} {
			s3.SetAttributeValue(k, cty.True)
		}
		return nil
	}
	tfwrite.Block(tf, []string{
		"State and saved plans hold every VM's user-data as rendered, passwords included. Here",
		"they stay in pghac's working directory under .pghac/ (git-ignored, mode 0700): fine for",
		"trying things out. For a real cluster keep them in an encrypted remote backend: add",
		`  state { bucket = "<bucket>" }`,
		"to cluster.hcl and pghac emits a backend \"s3\" for Yandex Object Storage here (create the",
		"bucket with versioning and default encryption by a KMS key; Terraform 1.6 or later).",
		"Do not run terraform in this directory itself: pghac build replaces it.",
	}, "backend", "local")
	return nil
}

// provider writes provider.tf.
func (m *module) provider(b *hclwrite.Body) error {
	p := tfwrite.Block(b, []string{
		"Credentials come from the environment, never from files in this directory: YC_TOKEN (an",
		"IAM or OAuth token) or YC_SERVICE_ACCOUNT_KEY_FILE (a service account's authorized key).",
	}, "provider", "yandex")
	p.SetAttributeRaw("cloud_id", tfwrite.Ref("var", varCloudID))
	p.SetAttributeRaw("folder_id", tfwrite.Ref("var", varFolderID))
	// Every resource that has a zone sets it; this is the default for anything else.
	p.SetAttributeValue("zone", cty.StringVal(m.c.Nodes[0].Zone))
	return nil
}

// variables writes variables.tf: where the cluster goes and SSH access. No secret is a
// variable: pghac writes them to Lockbox (secrets.tf), never through Terraform.
func (m *module) variables(b *hclwrite.Body) error {
	stringVar := func(name, description string) *hclwrite.Body {
		v := tfwrite.Block(b, nil, "variable", name)
		v.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		v.SetAttributeValue("description", cty.StringVal(description))
		return v
	}
	stringVar(varCloudID, "ID of the Yandex Cloud cloud to build the cluster in.")
	stringVar(varFolderID, "ID of the folder to build the cluster in.")
	withDefault := func(v *hclwrite.Body, def string) {
		v.SetAttributeValue("default", cty.StringVal(def))
		// null means the default, so that the expressions using it need no null checks.
		v.SetAttributeValue("nullable", cty.False)
	}
	stringVar(model.OperatorKeyVar, "Public half of pghac's operator key (one line): pghac logs in with it to roll changes out. `pghac secrets init` writes it to .pghac/<target>/operator.tfvars.json.")
	withDefault(stringVar(varSSHPublicKey, `SSH public key (one line, like "ssh-ed25519 AAAA... you@host") allowed to log in to every VM as ssh_user; empty for no SSH login.`), "")
	withDefault(stringVar(varSSHUser, "User the SSH key logs in as: the image's default user."), m.c.OS.DefaultUser)
	return nil
}
