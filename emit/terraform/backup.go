package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/tfwrite"
)

// Resource types of pgBackRest's repository.
const (
	typeKMSKey                 = "yandex_kms_symmetric_key"
	typeKMSKeyIAMMember        = "yandex_kms_symmetric_key_iam_member"
	typeServiceAccount         = "yandex_iam_service_account"
	typeStaticAccessKey        = "yandex_iam_service_account_static_access_key"
	typeLockboxSecret          = "yandex_lockbox_secret"
	typeLockboxSecretIAMMember = "yandex_lockbox_secret_iam_member"
	typeBucket                 = "yandex_storage_bucket"
	typeBucketIAMBinding       = "yandex_storage_bucket_iam_binding"
)

// Names of the repository's resources: the key, the account, the bucket and the grants are
// "backup"; the account's static access key and the Lockbox secret holding it "backup_s3_key".
const (
	backupName      = "backup"
	backupS3KeyName = "backup_s3_key"
)

// The repository's settings.
const (
	// backupKeyAlgorithm and backupKeyRotation: a new version of the bucket's key every year.
	// Older versions stay and decrypt what they encrypted, so rotation loses nothing.
	backupKeyAlgorithm = "AES_256"
	backupKeyRotation  = "8760h"
	// sseAlgorithm is the only server-side encryption Object Storage has: by a KMS key.
	sseAlgorithm = "aws:kms"
	// noncurrentVersionDays is how long the bucket keeps what pgBackRest deletes or
	// overwrites: long enough to undo a mistake noticed at once, short enough that what
	// retention expires is really gone (and no longer paid for).
	noncurrentVersionDays = 1
	// abortMultipartDays is when an upload that never completed (a node that died while
	// pushing a file) stops taking space. A single file takes minutes at most.
	abortMultipartDays = 1

	// roleBucket lets pgBackRest list, read, write and delete objects (expiring backups
	// deletes them); storage.uploader cannot delete. roleKey lets it encrypt what it writes
	// and decrypt what it reads through the bucket's server-side encryption.
	roleBucket = "storage.editor"
	roleKey    = "kms.keys.encrypterDecrypter"

	// Entries of the Lockbox secret that receives the static access key.
	LockboxEntryAccessKey = "access_key"
	LockboxEntrySecretKey = "secret_key"
)

// Addresses of what holds data that no apply can make again: pghac plan warns loudly about a
// plan that deletes or replaces one. The backup bucket and its key hold (and unlock) the
// backups; the secrets' Lockbox secret and its key, the values every new node boots with.
const (
	BackupBucketAddress = typeBucket + "." + backupName
	BackupKeyAddress    = typeKMSKey + "." + backupName
	SecretsAddress      = typeLockboxSecret + "." + secretsName
	SecretsKeyAddress   = typeKMSKey + "." + secretsName
)

// Outputs of backup.tf.
const (
	outputBackupBucket   = "backup_bucket"
	OutputBackupSecretID = "backup_s3_key_secret_id"
)

// noAnonymousAccess closes bucket to anyone without credentials: no reading, listing or
// reading its configuration.
func noAnonymousAccess(bucket *hclwrite.Body, comment string) {
	anon := tfwrite.Block(bucket, []string{comment}, "anonymous_access_flags")
	anon.SetAttributeValue("read", cty.False)
	anon.SetAttributeValue("list", cty.False)
	anon.SetAttributeValue("config_read", cty.False)
}

// maxLockboxNameLen is the longest name Lockbox accepts for a secret.
const maxLockboxNameLen = 100

// backup writes backup.tf: pgBackRest's repository in Object Storage (the bucket, encrypted
// by a KMS key of its own), the service account pgBackRest signs its requests as, granted
// that bucket and that key and nothing else, and the account's static access key, which goes
// straight to a Lockbox secret instead of Terraform's state.
func (m *module) backup(b *hclwrite.Body) error {
	bk := m.c.Backup
	if bk.Bucket == "" {
		return fmt.Errorf("backup has no bucket")
	}
	if st := m.c.State; st != nil && st.Bucket == bk.Bucket {
		return fmt.Errorf("backup bucket %q is also the bucket of Terraform's state, which the module does not create", bk.Bucket)
	}
	account, secret := m.name(backupName), m.name(backupName, "s3", "key")
	// The key shares the account's name; KMS takes up to 100 characters.
	if err := checkNames(account, secret); err != nil {
		return err
	}
	labels := m.labels("role", backupName)
	member := tfwrite.Template("serviceAccount:", tfwrite.ResourceRef(typeServiceAccount, backupName, "id"))
	keyID := tfwrite.ResourceRef(typeKMSKey, backupName, "id")

	kmsKey(b, []string{
		"pgBackRest's repository: a bucket encrypted by a KMS key of its own and written by a",
		"service account that may do nothing else. Terraform's own credentials need storage.admin",
		"(the bucket's versioning and access bindings need it) and the right to create KMS keys,",
		"service accounts and Lockbox secrets and to grant roles on them.",
		"",
		"The key of the bucket's server-side encryption. Object Storage encrypts every backup with",
		"it: deleting it makes every backup unreadable, so it is protected from deletion (lift the",
		"protection by hand only to give the backups up for good).",
	}, backupName, account, fmt.Sprintf(
		"Encrypts bucket %s: the backups of cluster %s. Deleting it makes them unreadable.", bk.Bucket, m.c.Name),
		bk.DeletionProtection, labels)

	sa := tfwrite.Block(b, []string{
		"The account pgBackRest signs its S3 requests as, with the static access key below. It has",
		"no role in the folder: only " + roleBucket + " on the bucket and " + roleKey,
		"on the key, so a node's key reaches this cluster's backups and nothing else.",
	}, "resource", typeServiceAccount, backupName)
	sa.SetAttributeValue("name", cty.StringVal(account))
	sa.SetAttributeValue("description", cty.StringVal(fmt.Sprintf(
		"pgBackRest of cluster %s: reads and writes its backups in bucket %s.", m.c.Name, bk.Bucket)))
	sa.SetAttributeRaw("labels", labels)

	grantKey := tfwrite.Block(b, []string{
		"The account's only KMS role, on this key only: Object Storage encrypts what the account",
		"writes and decrypts what it reads with the key, on the account's behalf.",
	}, "resource", typeKMSKeyIAMMember, backupName)
	grantKey.SetAttributeRaw("symmetric_key_id", keyID)
	grantKey.SetAttributeValue("role", cty.StringVal(roleKey))
	grantKey.SetAttributeRaw("member", member)

	bucket := tfwrite.Block(b, nil, "resource", typeBucket, backupName)
	bucket.SetAttributeValue("bucket", cty.StringVal(bk.Bucket))
	tfwrite.Comment(bucket,
		"Terraform creates the bucket with the provider's IAM token, which names no folder when it",
		"is a user account's.")
	bucket.SetAttributeRaw("folder_id", tfwrite.Ref("var", varFolderID))
	tfwrite.Comment(bucket, "Terraform never deletes a bucket that still holds backups.")
	bucket.SetAttributeValue("force_destroy", cty.False)
	bucket.SetAttributeRaw("tags", labels)

	noAnonymousAccess(bucket, "No anonymous access of any kind.")

	tfwrite.Block(bucket, []string{
		"What is deleted or overwritten stays as a noncurrent version for a while (the lifecycle",
		"rule below), so that a mistaken delete can be undone.",
	}, "versioning").SetAttributeValue("enabled", cty.True)

	rule := tfwrite.Block(bucket, []string{
		"What pgBackRest expires goes for real a day later: the versioning above must not keep",
		"every deleted backup forever. Incomplete uploads and lone delete markers go too.",
	}, "lifecycle_rule")
	rule.SetAttributeValue("id", cty.StringVal("expire-deleted-backups"))
	rule.SetAttributeValue("enabled", cty.True)
	rule.SetAttributeRaw("abort_incomplete_multipart_upload_days", tfwrite.Num(abortMultipartDays))
	tfwrite.Block(rule, nil, "noncurrent_version_expiration").SetAttributeRaw("days", tfwrite.Num(noncurrentVersionDays))
	tfwrite.Block(rule, nil, "expiration").SetAttributeValue("expired_object_delete_marker", cty.True)

	sse := tfwrite.Block(tfwrite.Block(tfwrite.Block(bucket, nil, "server_side_encryption_configuration"), nil, "rule"),
		nil, "apply_server_side_encryption_by_default")
	sse.SetAttributeRaw("kms_master_key_id", keyID)
	sse.SetAttributeValue("sse_algorithm", cty.StringVal(sseAlgorithm))

	grantBucket := tfwrite.Block(b, []string{
		"The account's only storage role, on this bucket only. The binding holds every member of",
		"the role on the bucket: nobody else gets " + roleBucket + " here through it.",
	}, "resource", typeBucketIAMBinding, backupName)
	grantBucket.SetAttributeRaw("bucket", tfwrite.ResourceRef(typeBucket, backupName, "bucket"))
	grantBucket.SetAttributeValue("role", cty.StringVal(roleBucket))
	grantBucket.SetAttributeRaw("members", tfwrite.Tuple(member))

	lb := tfwrite.Block(b, nil, "resource", typeLockboxSecret, backupS3KeyName)
	lb.SetAttributeValue("name", cty.StringVal(secret))
	lb.SetAttributeValue("description", cty.StringVal(fmt.Sprintf(
		"Static access key of service account %s, with which pgBackRest of cluster %s signs its requests: entries %s and %s.",
		account, m.c.Name, LockboxEntryAccessKey, LockboxEntrySecretKey)))
	lb.SetAttributeValue("deletion_protection", cty.BoolVal(bk.DeletionProtection))
	lb.SetAttributeRaw("labels", labels)

	sk := tfwrite.Block(b, []string{
		"The account's S3 key pair goes straight into a new version of the Lockbox secret above:",
		"it never enters Terraform's plan or state. pghac apply copies it from there into pghac's",
		"secrets file (" + string(model.SecretBackupAccessKey) + ", " + string(model.SecretBackupSecretKey) + ") and the nodes' secret",
		"(secrets.tf). For a new pair, replace this resource.",
	}, "resource", typeStaticAccessKey, backupName)
	sk.SetAttributeRaw("service_account_id", tfwrite.ResourceRef(typeServiceAccount, backupName, "id"))
	sk.SetAttributeValue("description", cty.StringVal(fmt.Sprintf("pgBackRest of cluster %s", m.c.Name)))
	out := tfwrite.Block(sk, nil, "output_to_lockbox")
	out.SetAttributeRaw("secret_id", tfwrite.ResourceRef(typeLockboxSecret, backupS3KeyName, "id"))
	out.SetAttributeValue("entry_for_access_key", cty.StringVal(LockboxEntryAccessKey))
	out.SetAttributeValue("entry_for_secret_key", cty.StringVal(LockboxEntrySecretKey))

	output := func(name, description string, value hclwrite.Tokens) {
		o := tfwrite.Block(b, nil, "output", name)
		o.SetAttributeValue("description", cty.StringVal(description))
		o.SetAttributeRaw("value", value)
	}
	output(outputBackupBucket, "Bucket of pgBackRest's repository.", tfwrite.ResourceRef(typeBucket, backupName, "bucket"))
	output(OutputBackupSecretID, fmt.Sprintf("Lockbox secret holding pgBackRest's S3 key pair (entries %s and %s).",
		LockboxEntryAccessKey, LockboxEntrySecretKey), tfwrite.ResourceRef(typeLockboxSecret, backupS3KeyName, "id"))
	return nil
}
