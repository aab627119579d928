package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/lockbox"
)

// OutputSecretID is the yandex module's output naming the Lockbox secret of the cluster's
// secrets (emit/terraform's secrets.tf).
const OutputSecretID = "lockbox_secret_id"

// CloudLockbox is how pghac reaches the cloud's Lockbox as the operator.
type CloudLockbox struct {
	// Token is the operator's YC_TOKEN, as the provider takes it: an IAM token, or an OAuth
	// token that is exchanged for one.
	Token string
	// Endpoint, when set, serves every API (Lockbox, its payloads, operations) in place of
	// the cloud's: a stand-in, or a private installation. Token is then sent as it is.
	Endpoint string
}

// ErrNoCloudToken is a CloudLockbox without a token.
var ErrNoCloudToken = errors.New("no YC_TOKEN: pghac writes the cluster's secrets to Lockbox with your credentials " +
	"(an IAM or OAuth token, as the Yandex provider takes; lockbox.editor and kms.keys.encrypterDecrypter on the secret and its key)")

func (c CloudLockbox) client() (*lockbox.Client, error) {
	if c.Token == "" {
		return nil, ErrNoCloudToken
	}
	if c.Endpoint != "" {
		return &lockbox.Client{APIEndpoint: c.Endpoint, PayloadEndpoint: c.Endpoint, OperationEndpoint: c.Endpoint,
			Token: lockbox.StaticToken(c.Token)}, nil
	}
	tok := c.Token
	return lockbox.NewCloud(func(ctx context.Context) (string, error) {
		return lockbox.IAMToken(ctx, nil, lockbox.IAMEndpoint, tok)
	}), nil
}

// secretIDFile records the Lockbox secret Terraform made, for commands that run no Terraform
// (secrets rotate). Not a secret.
func (f Fleet) secretIDFile() string { return filepath.Join(f.Site.Dir, "lockbox.json") }

// RecordSecretID reads the secret's id from r's state (OutputSecretID) and records it; ok is
// false when the state has none (nothing applied yet).
func (f Fleet) RecordSecretID(ctx context.Context, r *Run) (id string, ok bool, err error) {
	id, ok, err = r.Output(ctx, OutputSecretID)
	if err != nil || !ok {
		return "", false, err
	}
	b, _ := json.Marshal(map[string]string{"secret_id": id})
	return id, true, os.WriteFile(f.secretIDFile(), append(b, '\n'), 0o600)
}

// recordedSecretID is the id RecordSecretID recorded last, or "".
func (f Fleet) recordedSecretID() string {
	var rec struct {
		ID string `json:"secret_id"`
	}
	b, err := os.ReadFile(f.secretIDFile())
	if err != nil || json.Unmarshal(b, &rec) != nil {
		return ""
	}
	return rec.ID
}

// SyncCloudSecrets writes the site's secrets as a new version of the cluster's Lockbox secret
// (the one recorded last) when they differ from its newest: what a node made from now on
// reads at its first boot. ok is false when no secret was recorded yet.
func (f Fleet) SyncCloudSecrets(ctx context.Context, lb CloudLockbox) (id, version string, added, ok bool, err error) {
	id = f.recordedSecretID()
	if id == "" {
		return "", "", false, false, nil
	}
	values, err := SecretValues(f.Site, f.Cluster)
	if err != nil {
		return id, "", false, false, err
	}
	client, err := lb.client()
	if err != nil {
		return id, "", false, false, err
	}
	version, added, err = PushSecrets(ctx, SecretStore{Client: client, SecretID: id}, values)
	return id, version, added, err == nil, err
}

// OutputBackupSecretID is the yandex module's output naming the Lockbox secret that Terraform
// writes the backup service account's S3 key pair to (emit/terraform's backup.tf), in its
// entries backupEntries names.
const OutputBackupSecretID = "backup_s3_key_secret_id"

// backupEntries maps the backup key secret's entries to the secrets they are.
var backupEntries = map[string]model.Secret{"access_key": model.SecretBackupAccessKey, "secret_key": model.SecretBackupSecretKey}

// AdoptBackupKey copies the backup service account's key pair, which Terraform put into its own
// Lockbox secret (never into its state), into the site's secrets file, so that the nodes get it
// with the other secrets (SyncCloudSecrets) and rollouts with the file. It reports whether the
// file changed; a cluster without backups, or a pair not written yet, changes nothing.
func (f Fleet) AdoptBackupKey(ctx context.Context, r *Run, lb CloudLockbox) (bool, error) {
	if f.Cluster.Backup == nil {
		return false, nil
	}
	id, ok, err := r.Output(ctx, OutputBackupSecretID)
	if err != nil || !ok {
		return false, err
	}
	client, err := lb.client()
	if err != nil {
		return false, err
	}
	payload, _, err := client.Payload(ctx, id)
	if lockbox.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the backup key pair from Lockbox secret %s: %w", id, err)
	}
	have, err := f.Site.ReadSecrets()
	if err != nil {
		return false, err
	}
	set := map[string]string{}
	for entry, sec := range backupEntries {
		v, ok := payload[entry]
		if !ok {
			return false, fmt.Errorf("Lockbox secret %s has no entry %s", id, entry)
		}
		if have[string(sec)] != v {
			set[string(sec)] = v
		}
	}
	if len(set) == 0 {
		return false, nil
	}
	return true, f.Site.SetSecrets(set)
}
