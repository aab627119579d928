package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// NewOperatorKey returns a new ed25519 key pair: the private key PEM-encoded in OpenSSH's
// format (what ssh -i reads) and the public key as an authorized_keys line with comment.
func NewOperatorKey(comment string) (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), []byte(AuthorizedKey(sshPub, comment)), nil
}

// AuthorizedKey is key as an authorized_keys line, with comment when not empty.
func AuthorizedKey(key ssh.PublicKey, comment string) string {
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
	if comment != "" {
		line += " " + comment
	}
	return line + "\n"
}

// LoadOperatorKey reads the private key NewOperatorKey made.
func LoadOperatorKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err) // the key's bytes never go into the message
	}
	return s, nil
}

// HostKeyMismatchError is a host that presented another key than the one pinned for it: a
// rebuilt machine whose old key is still pinned, or someone in the middle.
type HostKeyMismatchError struct {
	Host       string
	KnownHosts string // the file and line that pin the old key
	Got        string // the presented key's SHA256 fingerprint
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("%s presented host key %s, not the one pinned for it in %s: refusing to connect "+
		"(if the machine was rebuilt, remove its line there)", e.Host, e.Got, e.KnownHosts)
}

// HostKeys pins the host keys of the nodes in a known_hosts file: the first key a host
// presents is written there, later connections must present the same. It is safe for
// concurrent use by one process.
type HostKeys struct {
	path string
	mu   sync.Mutex
}

// NewHostKeys pins host keys in the known_hosts file at path, created (0600) on first use.
func NewHostKeys(path string) *HostKeys { return &HostKeys{path: path} }

// Callback checks a host's key against the pinned one, pinning it when there is none.
func (h *HostKeys) Callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := os.Stat(h.path); errors.Is(err, os.ErrNotExist) {
		return h.pin(hostname, key)
	}
	check, err := knownhosts.New(h.path)
	if err != nil {
		return err
	}
	err = check(hostname, remote, key)
	var kerr *knownhosts.KeyError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &kerr) && len(kerr.Want) == 0:
		return h.pin(hostname, key) // never seen: trust on first use
	case errors.As(err, &kerr):
		w := kerr.Want[0]
		return &HostKeyMismatchError{Host: hostname, KnownHosts: fmt.Sprintf("%s:%d", w.Filename, w.Line), Got: ssh.FingerprintSHA256(key)}
	}
	return err
}

// Forget removes the pinned keys of host ("host:port"), for a machine that is rebuilt on
// purpose and comes back with a new key.
func (h *HostKeys) Forget(host string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, err := os.ReadFile(h.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	norm := knownhosts.Normalize(host)
	var keep []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == norm {
			continue
		}
		keep = append(keep, line)
	}
	return os.WriteFile(h.path, []byte(strings.Join(keep, "")), 0o600)
}

// Pin pins key as host's ("host:port") in place of any key pinned before: for a host whose
// key pghac made itself, so that nothing is trusted on first contact.
func (h *HostKeys) Pin(host string, key ssh.PublicKey) error {
	if err := h.Forget(host); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pin(host, key)
}

func (h *HostKeys) pin(hostname string, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(h.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key))
	return errors.Join(err, f.Close())
}
