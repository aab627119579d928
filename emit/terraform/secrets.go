package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/emit/tfwrite"
)

// Resource names of the cluster's secrets: the Lockbox secret and its KMS key are "secrets",
// the service account every database VM runs as is "nodes".
const (
	secretsName      = "secrets"
	nodesAccountName = "nodes"
	// OutputSecretID is the output holding the secret's id, which pghac writes versions to.
	OutputSecretID = "lockbox_secret_id"
)

// Roles of the nodes' account, on the secret and on its key only: payloadViewer reads the
// payload, and Lockbox decrypts it with the secret's key as the reader, which needs
// kms.keys.decrypter on that key.
const (
	roleSecretReader = "lockbox.payloadViewer"
	roleSecretKey    = "kms.keys.decrypter"
)

// secrets writes secrets.tf: the Lockbox secret the nodes read their secrets from at their
// first boot, its KMS key, and the service account the database VMs run as, which may read
// that secret and nothing else. Terraform makes the secret but never its payload: pghac writes
// the values as its versions through Lockbox's API (pghac apply, pghac secrets rotate), so they
// are in no plan and no state.
func (m *module) secrets(b *hclwrite.Body) error {
	name, account := m.name(secretsName), m.name(nodesAccountName)
	if err := checkNames(account, name); err != nil {
		return err
	}
	labels := m.labels("role", secretsName)
	member := tfwrite.Template("serviceAccount:", tfwrite.ResourceRef(typeServiceAccount, nodesAccountName, "id"))
	keyID := tfwrite.ResourceRef(typeKMSKey, secretsName, "id")
	secretID := tfwrite.ResourceRef(typeLockboxSecret, secretsName, "id")

	kmsKey(b, []string{
		"The cluster's secrets (passwords, keys) are entries of the Lockbox secret below, encrypted",
		"by this key. Terraform's own credentials need the right to create KMS keys, Lockbox secrets",
		"and service accounts and to grant roles on them; pghac's (YC_TOKEN) need",
		"lockbox.editor and kms.keys.encrypterDecrypter to write versions.",
		"",
		"Deleting the key makes every version of the secret unreadable, and the nodes could not",
		"boot again: it is protected from deletion unless cluster.hcl says deletion_protection = false.",
	}, secretsName, name, fmt.Sprintf("Encrypts Lockbox secret %s: the secrets of cluster %s.", name, m.c.Name), m.c.DeletionProtection, labels)

	sec := tfwrite.Block(b, []string{
		"Every secret of the cluster, one entry each, named as pghac's secrets file names them.",
		"pghac apply writes a version when the file and the newest version differ, before the",
		"nodes need it: a node that boots first waits for the version (its cloud-init log says so).",
	}, "resource", typeLockboxSecret, secretsName)
	sec.SetAttributeValue("name", cty.StringVal(name))
	sec.SetAttributeValue("description", cty.StringVal(fmt.Sprintf(
		"Secrets of cluster %s: each node reads them at its first boot; pghac writes them.", m.c.Name)))
	sec.SetAttributeRaw("kms_key_id", keyID)
	sec.SetAttributeValue("deletion_protection", cty.BoolVal(m.c.DeletionProtection))
	sec.SetAttributeRaw("labels", labels)

	sa := tfwrite.Block(b, []string{
		"The account every database VM runs as. It has no role in the folder: it reads the secret",
		"above and decrypts it with its key, nothing else.",
	}, "resource", typeServiceAccount, nodesAccountName)
	sa.SetAttributeValue("name", cty.StringVal(account))
	sa.SetAttributeValue("description", cty.StringVal(fmt.Sprintf(
		"Database VMs of cluster %s: read the cluster's secrets at first boot.", m.c.Name)))
	sa.SetAttributeRaw("labels", labels)

	read := tfwrite.Block(b, nil, "resource", typeLockboxSecretIAMMember, nodesAccountName)
	read.SetAttributeRaw("secret_id", secretID)
	read.SetAttributeValue("role", cty.StringVal(roleSecretReader))
	read.SetAttributeRaw("member", member)

	decrypt := tfwrite.Block(b, nil, "resource", typeKMSKeyIAMMember, nodesAccountName)
	decrypt.SetAttributeRaw("symmetric_key_id", keyID)
	decrypt.SetAttributeValue("role", cty.StringVal(roleSecretKey))
	decrypt.SetAttributeRaw("member", member)

	o := tfwrite.Block(b, nil, "output", OutputSecretID)
	o.SetAttributeValue("description", cty.StringVal("Lockbox secret holding the cluster's secrets: pghac writes its versions, the nodes read them."))
	o.SetAttributeRaw("value", secretID)
	return nil
}

// checkNames refuses what Yandex Cloud would: a service account's name (which a KMS key may
// share) or a Lockbox secret's that is too long.
func checkNames(account, secret string) error {
	if len(account) > maxNameLen {
		return fmt.Errorf("service account name %q is longer than Yandex Cloud's %d characters", account, maxNameLen)
	}
	if len(secret) > maxLockboxNameLen {
		return fmt.Errorf("Lockbox secret name %q is longer than Lockbox's %d characters", secret, maxLockboxNameLen)
	}
	return nil
}

// kmsKey appends KMS key resource res, named name, with a new version every year (older
// versions still decrypt what they encrypted).
func kmsKey(b *hclwrite.Body, comments []string, res, name, description string, protect bool, labels hclwrite.Tokens) {
	key := tfwrite.Block(b, comments, "resource", typeKMSKey, res)
	key.SetAttributeValue("name", cty.StringVal(name))
	key.SetAttributeValue("description", cty.StringVal(description))
	key.SetAttributeValue("default_algorithm", cty.StringVal(backupKeyAlgorithm))
	tfwrite.Comment(key, "A new key version every year; older versions still decrypt what they encrypted.")
	key.SetAttributeValue("rotation_period", cty.StringVal(backupKeyRotation))
	key.SetAttributeValue("deletion_protection", cty.BoolVal(protect))
	key.SetAttributeRaw("labels", labels)
}
