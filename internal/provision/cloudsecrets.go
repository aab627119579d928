package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/terraform"
	"github.com/pghac/pghac/internal/lockbox"
	"github.com/pghac/pghac/internal/site"
)

// Outputs of the yandex module that pghac reads: the Lockbox secret of the cluster's secrets,
// the bastion's public address, the Lockbox secret of the backup account's key pair.
const (
	OutputSecretID       = terraform.OutputSecretID
	OutputBastionAddress = terraform.OutputBastionAddress
	OutputBackupSecretID = terraform.OutputBackupSecretID
)

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

// outputsFile records what commands that run no Terraform (secrets rotate, status) need of
// its outputs: the Lockbox secret's id, the bastion's address. Not a secret.
func outputsFile(s site.Site) string { return filepath.Join(s.Dir, "outputs.json") }

// recordedOutputs is outputsFile's content.
type recordedOutputs struct {
	SecretID string `json:"lockbox_secret_id,omitempty"`
	Bastion  string `json:"bastion_public_address,omitempty"`
	// BuildURLs are where the VMs download the local builds, by template variable.
	BuildURLs map[string]string `json:"build_urls,omitempty"`
}

// RecordOutputs reads from r's state the outputs later commands need without Terraform and
// records them. It returns the Lockbox secret's id, "" when the state has none yet.
func (f Fleet) RecordOutputs(ctx context.Context, r *Run) (secretID string, err error) {
	var rec recordedOutputs
	for name, v := range map[string]*string{OutputSecretID: &rec.SecretID, OutputBastionAddress: &rec.Bastion} {
		val, ok, err := r.Output(ctx, name)
		if err != nil {
			return "", err
		}
		if ok {
			*v = val
		}
	}
	for _, name := range []string{model.BackendURLVar, model.PghacURLVar} {
		val, ok, err := r.Output(ctx, name)
		if err != nil {
			return "", err
		}
		if ok {
			if rec.BuildURLs == nil {
				rec.BuildURLs = map[string]string{}
			}
			rec.BuildURLs[name] = val
		}
	}
	b, _ := json.Marshal(rec)
	return rec.SecretID, os.WriteFile(outputsFile(f.Site), append(b, '\n'), 0o600)
}

// recorded is what RecordOutputs recorded last, or nothing.
func recorded(s site.Site) recordedOutputs {
	var rec recordedOutputs
	if b, err := os.ReadFile(outputsFile(s)); err == nil {
		_ = json.Unmarshal(b, &rec)
	}
	return rec
}

// SyncCloudSecrets writes the site's secrets as a new version of the cluster's Lockbox secret
// (the one recorded last) when they differ from its newest: what a node made from now on
// reads at its first boot. ok is false when no secret was recorded yet.
func (f Fleet) SyncCloudSecrets(ctx context.Context, lb CloudLockbox) (id, version string, added, ok bool, err error) {
	id = recorded(f.Site).SecretID
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

// backupEntries maps the backup key secret's entries to the secrets they are.
var backupEntries = map[string]model.Secret{terraform.LockboxEntryAccessKey: model.SecretBackupAccessKey, terraform.LockboxEntrySecretKey: model.SecretBackupSecretKey}

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
