package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/tfwrite"
)

const (
	// RequiredVersion is the Terraform versions the module accepts. The provider speaks plugin
	// protocol 6 (Terraform 1.1.5+); pghac's plan and apply are tested with 1.11.
	RequiredVersion = ">= 1.5"
	// ProviderSource and ProviderVersion pin the Yandex Cloud provider whose schema the module
	// is written for (0.222.0; the test provider serves that schema).
	ProviderSource  = "yandex-cloud/yandex"
	ProviderVersion = "~> 0.222"
)

// secretPattern is what the secret variables accept: the values land unquoted in YAML, INI and
// HAProxy files, so they are letters, digits, "_" and "-" (not first), at least 16 of them.
const secretPattern = `^[A-Za-z0-9][A-Za-z0-9_-]{15,}$`

// secretDescriptions say what each secret is for, in variables.tf.
var secretDescriptions = map[model.Secret]string{
	model.SecretStatsPassword: fmt.Sprintf("Password of user %q on HAProxy's statistics page.", model.StatsUser),
	model.SecretRestAPIPassword: fmt.Sprintf("Password of user %q on Patroni's REST API (needed for its unsafe endpoints).",
		model.RestAPIUser),
	model.SecretRewindPassword:      fmt.Sprintf("Password of PostgreSQL role %q, which pg_rewind connects as.", model.RewindUser),
	model.SecretReplicationPassword: fmt.Sprintf("Password of PostgreSQL role %q, which replicas stream WAL as.", model.ReplicationUser),
	model.SecretSuperuserPassword:   fmt.Sprintf("Password of PostgreSQL's superuser %q.", model.SuperuserName),
	model.SecretBackendPassword:     "Password of the PostgreSQL role the notes backend connects as (backend.user).",
	model.SecretPgBouncerAuthPassword: fmt.Sprintf("Password of PostgreSQL role %q, which PgBouncer looks up clients' SCRAM secrets as.",
		model.PgBouncerAuthUser),
	model.SecretPgBouncerAdminPassword: fmt.Sprintf("Password of user %q on PgBouncer's admin console (Patroni's role-change callback).",
		model.PgBouncerAdminUser),
}

// secretDescription says what secret s of cluster c is for.
func secretDescription(c *model.Cluster, s model.Secret) (string, bool) {
	if d, ok := secretDescriptions[s]; ok {
		return d, true
	}
	for _, r := range c.Roles {
		if model.RolePassword(r.Name) == s {
			return fmt.Sprintf("Password of the application role %q (role block).", r.Name), true
		}
	}
	return "", false
}

// versions writes versions.tf: the Terraform and provider versions and the state backend.
func (m *module) versions(b *hclwrite.Body) error {
	tf := tfwrite.Block(b, nil, "terraform")
	tf.SetAttributeValue("required_version", cty.StringVal(RequiredVersion))
	rp := tfwrite.Block(tf, nil, "required_providers")
	rp.SetAttributeRaw("yandex", tfwrite.Object(
		tfwrite.Item{Key: "source", Value: tfwrite.Str(ProviderSource)},
		tfwrite.Item{Key: "version", Value: tfwrite.Str(ProviderVersion)},
	))
	if st := m.c.State; st != nil {
		s3 := tfwrite.Block(tf, []string{
			"State and saved plans hold every VM's user-data as rendered, passwords included: they",
			"live in Object Storage (cluster.hcl's state block). Give Terraform a static access key of",
			"a service account with storage.editor on the bucket as AWS_ACCESS_KEY_ID and",
			"AWS_SECRET_ACCESS_KEY; turn on the bucket's versioning and default encryption by a KMS key.",
		}, "backend", "s3")
		s3.SetAttributeValue("bucket", cty.StringVal(st.Bucket))
		s3.SetAttributeValue("key", cty.StringVal(st.Key))
		s3.SetAttributeValue("region", cty.StringVal("ru-central1"))
		s3.SetAttributeRaw("endpoints", tfwrite.Object(tfwrite.Item{Key: "s3", Value: tfwrite.Str("https://storage.yandexcloud.net")}))
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

// variables writes variables.tf: where the cluster goes, SSH access, and the secrets.
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
	withDefault(stringVar(varSSHPublicKey, `SSH public key (one line, like "ssh-ed25519 AAAA... you@host") allowed to log in to every VM as ssh_user; empty for no SSH login.`), "")
	withDefault(stringVar(varSSHUser, "User the SSH key logs in as: the image's default user."), m.c.OS.DefaultUser)
	return SecretVariables(b, m.c)
}

// SecretVariables appends one sensitive string variable per secret of c, each validated
// against what the configuration files can hold unquoted. Both targets declare them alike.
func SecretVariables(b *hclwrite.Body, c *model.Cluster) error {
	for _, s := range c.Secrets() {
		desc, ok := secretDescription(c, s)
		if !ok {
			return fmt.Errorf("secret %s has no description", s)
		}
		name := string(s)
		if err := tfwrite.CheckIdent("secret", name); err != nil {
			return err
		}
		v := tfwrite.Block(b, nil, "variable", name)
		v.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		v.SetAttributeValue("description", cty.StringVal(desc+" Pass it in a var file (pghac secrets init writes one), never on the command line."))
		v.SetAttributeValue("sensitive", cty.True)
		val := tfwrite.Block(v, nil, "validation")
		val.SetAttributeRaw("condition", tfwrite.Call("can", tfwrite.Call("regex", tfwrite.Str(secretPattern), tfwrite.Ref("var", name))))
		val.SetAttributeValue("error_message", cty.StringVal(
			`Use at least 16 letters, digits, "_" or "-" (not first): the value is written unquoted into configuration files.`))
	}
	return nil
}
