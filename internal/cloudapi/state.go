package cloudapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/lockbox"

	"github.com/pghac/pghac/compiler/model"
)

// Names in the state directory.
const (
	operatorTokenFile = "operator-token"
	tokenKeyFile      = "token-key"
	secretsDir        = "secrets"
	machinesDir       = "machines"
)

// SecretIDAttribute is the metadata attribute naming the Lockbox secret(s) a machine's
// service account may read: one id, or several separated by commas. The node script reads
// it to know which secret to fetch, so a cloud instance's metadata must carry the same key.
const SecretIDAttribute = model.MetadataSecretID

// OperatorToken reads the operator's bearer token from a state directory that New has
// initialized: what pghac on the host sends to the sandbox's Lockbox.
func OperatorToken(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, operatorTokenFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("the sandbox's cloud API has not been started in %s yet (no %s)", dir, operatorTokenFile)
	}
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s in %s is empty", operatorTokenFile, dir)
	}
	return tok, nil
}

// RegisterMachine records the metadata attributes of the machine at addr, replacing any
// earlier registration of that address. The sandbox calls it when it boots a machine; a
// running Server sees it at the machine's next request.
func RegisterMachine(dir string, addr netip.Addr, attrs map[string]string) error {
	p, err := machinePath(dir, addr)
	if err != nil {
		return err
	}
	if err := makeDirs(dir); err != nil {
		return err
	}
	if attrs == nil {
		attrs = map[string]string{}
	}
	b, err := json.MarshalIndent(attrs, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(p, append(b, '\n')); err != nil {
		return fmt.Errorf("register machine %s: %w", addr, err)
	}
	return nil
}

// ForgetMachine removes the registration of the machine at addr: its requests get 404
// from the metadata service and its tokens stop working. Forgetting an unknown machine is
// not an error.
func ForgetMachine(dir string, addr netip.Addr) error {
	p, err := machinePath(dir, addr)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget machine %s: %w", addr, err)
	}
	return nil
}

// canonical is how an address is keyed: IPv4-mapped IPv6 as IPv4 (a dual-stack listener
// reports those), without an IPv6 zone.
func canonical(addr netip.Addr) netip.Addr { return addr.Unmap().WithZone("") }

func machinePath(dir string, addr netip.Addr) (string, error) {
	if !addr.IsValid() {
		return "", errors.New("no machine address")
	}
	// An address's text has no path separator, so it is safe as a file name.
	return filepath.Join(dir, machinesDir, canonical(addr).String()+".json"), nil
}

// readMachine returns the attributes registered for addr, and whether there are any.
func readMachine(dir string, addr netip.Addr) (map[string]string, bool, error) {
	p, err := machinePath(dir, addr)
	if err != nil {
		return nil, false, nil
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	attrs := map[string]string{}
	if err := json.Unmarshal(b, &attrs); err != nil {
		return nil, false, fmt.Errorf("machine %s: %s is not a JSON object of strings", addr, p)
	}
	return attrs, true, nil
}

// secretIDPattern is what the sandbox takes as a secret id: the cloud's ids are 20
// lower-case alphanumerics; anything else here could escape secrets/ as a file name.
var secretIDPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,50}$`)

// secretRecord is secrets/<id>.json: every version, oldest first. The newest is the
// current one, as no SetCurrentVersion is served.
type secretRecord struct {
	ID        string          `json:"id"`
	CreatedAt time.Time       `json:"createdAt"`
	Versions  []versionRecord `json:"versions"`
}

type versionRecord struct {
	ID          string          `json:"id"`
	CreatedAt   time.Time       `json:"createdAt"`
	Description string          `json:"description,omitempty"`
	Entries     []lockbox.Entry `json:"entries"`
}

func secretPath(dir, id string) string { return filepath.Join(dir, secretsDir, id+".json") }

// readSecret reads a secret's record; a secret never written has none (nil, nil).
func readSecret(dir, id string) (*secretRecord, error) {
	b, err := os.ReadFile(secretPath(dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec secretRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		// The decoder's message could quote the file, whose strings are values.
		return nil, fmt.Errorf("secret %s: %s is not a valid record", id, secretPath(dir, id))
	}
	return &rec, nil
}

func writeSecret(dir string, rec *secretRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(secretPath(dir, rec.ID), append(b, '\n'))
}

// makeDirs creates the state directory and its subdirectories with mode 0700, and brings
// an existing one to 0700: it holds the operator's token and every secret.
func makeDirs(dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, secretsDir), filepath.Join(dir, machinesDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic replaces path with data through a temporary file in the same directory, so
// that a reader (or a crash) sees the old content or the new one, never a part. The file
// is 0600 from its creation (os.CreateTemp), so the data is never readable by others.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readOrCreate returns the trimmed content of path, first creating it with gen's result
// if it does not exist. Creation is a hard link of a complete temporary file, which fails
// if another process made the file first; then that one's content is read, so two daemons
// started at once agree on one value.
func readOrCreate(path string, gen func() (string, error)) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	v, err := gen()
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(v + "\n"); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readOrCreate(path, gen)
		}
		return "", err
	}
	return v, syncDir(filepath.Dir(path))
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// operatorTokenPrefix marks the operator token, so that one pasted in the wrong place is
// recognizable; nothing relies on it.
const operatorTokenPrefix = "sandbox-operator."

func newOperatorToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return operatorTokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}
