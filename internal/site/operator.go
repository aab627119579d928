package site

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/remote"
)

// OperatorKey is the private half of the operator key pghac logs in to the nodes with,
// .pghac/<target>/operator_ed25519 (mode 0600; `ssh -i` reads it too).
func (s Site) OperatorKey() string { return filepath.Join(s.Dir, "operator_ed25519") }

// OperatorVars is the var file that gives Terraform the operator key's public half,
// .pghac/<target>/operator.tfvars.json.
func (s Site) OperatorVars() string { return filepath.Join(s.Dir, "operator.tfvars.json") }

// KnownHosts pins the nodes' host keys, .pghac/<target>/known_hosts.
func (s Site) KnownHosts() string { return filepath.Join(s.Dir, "known_hosts") }

// EnsureOperatorKey makes the operator key when there is none and (re)writes its var file
// from it. It reports whether it made a key.
func (s Site) EnsureOperatorKey() (made bool, err error) {
	if err := s.MakeStateDir(); err != nil {
		return false, err
	}
	signer, err := remote.LoadOperatorKey(s.OperatorKey())
	if errors.Is(err, fs.ErrNotExist) {
		priv, _, genErr := remote.NewOperatorKey("pghac-operator@" + string(s.Target))
		if genErr != nil {
			return false, genErr
		}
		// Without replace: a key that appeared meanwhile is kept, and loaded below.
		if werr := WritePrivate(s.OperatorKey(), priv, false); werr != nil && !errors.Is(werr, fs.ErrExist) {
			return false, werr
		}
		made = true
		signer, err = remote.LoadOperatorKey(s.OperatorKey())
	}
	if err != nil {
		return false, err
	}
	pub := strings.TrimSpace(remote.AuthorizedKey(signer.PublicKey(), "pghac-operator@"+string(s.Target)))
	return made, WriteVarsJSON(s.OperatorVars(), map[string]string{model.OperatorKeyVar: pub})
}

// HasOperatorKey reports whether the operator key's var file exists.
func (s Site) HasOperatorKey() bool {
	_, err := os.Stat(s.OperatorVars())
	return err == nil
}
