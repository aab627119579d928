package tfwrite

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
)

// What both root modules declare alike: they hand every node the same user-data, rendered
// with the same secrets.

// LocalSecrets names the local holding the templatefile() variables of every node's
// user-data (SecretsObject).
const LocalSecrets = "secrets"

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
	model.SecretBackupAccessKey: "Access key ID pgBackRest signs its S3 requests to the backup bucket with (the backup service account's static key; the sandbox's own S3 takes generated ones).",
	model.SecretBackupSecretKey: "Secret key of that access key.",
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

// SecretVariables appends one sensitive string variable per secret of c, each validated
// against what the configuration files can hold unquoted.
func SecretVariables(b *hclwrite.Body, c *model.Cluster) error {
	for _, s := range c.Secrets() {
		desc, ok := secretDescription(c, s)
		if !ok {
			return fmt.Errorf("secret %s has no description", s)
		}
		name := string(s)
		if err := CheckIdent("secret", name); err != nil {
			return err
		}
		v := Block(b, nil, "variable", name)
		v.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		v.SetAttributeValue("description", cty.StringVal(desc+" Pass it in a var file (pghac secrets init writes one), never on the command line."))
		v.SetAttributeValue("sensitive", cty.True)
		val := Block(v, nil, "validation")
		val.SetAttributeRaw("condition", Call("can", Call("regex", Str(secretPattern), Ref("var", name))))
		val.SetAttributeValue("error_message", cty.StringVal(
			`Use at least 16 letters, digits, "_" or "-" (not first): the value is written unquoted into configuration files.`))
	}
	return nil
}

// SecretsObject is the object of every secret variable by name: the variables of each node's
// user-data template, local.secrets (LocalSecrets) in the module.
// Extra items (the sandbox's backend location) join them.
func SecretsObject(c *model.Cluster, extra ...Item) hclwrite.Tokens {
	var secrets []Item
	for _, s := range c.Secrets() {
		secrets = append(secrets, Item{Key: string(s), Value: Ref("var", string(s))})
	}
	return Object(append(secrets, extra...)...)
}

// UserData is node's user-data as the machine gets it: the template package emit writes at
// nodes/<node>/user-data.yaml, rendered with local.secrets (which the module must define as
// SecretsObject).
func UserData(node string) hclwrite.Tokens {
	return Call("templatefile",
		Template(Ref("path", "module"), "/nodes/"+node+"/user-data.yaml"),
		Ref("local", LocalSecrets))
}
