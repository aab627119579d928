package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/fakeyandex"
	"github.com/pghac/pghac/internal/site"
)

// FakeSecret is the value every sensitive variable gets offline: it passes the secrets'
// validation and is obviously not a real password.
const FakeSecret = "OfflinePlanFakeSecretNotARealValue0000"

// Offline is a fresh working directory for an offline plan, with pghac's stand-in for the
// Yandex provider installed as a filesystem mirror.
type Offline struct {
	Work    string            // Terraform's working directory, emptied
	VarFile string            // fake values for every required variable
	Env     map[string]string // what Terraform's environment needs to find the mirror
}

// PrepareOffline makes the offline plan's folder under s.Offline(): never a directory that has
// real state or real provider hashes in its lock file. The provider is exe run with args
// (pghac's hidden provider command).
func PrepareOffline(s site.Site, exe string, args ...string) (Offline, error) {
	if err := s.MakeStateDir(); err != nil {
		return Offline{}, err
	}
	o := Offline{Work: filepath.Join(s.Offline(), "terraform"), VarFile: filepath.Join(s.Offline(), "fake.tfvars")}
	if err := os.RemoveAll(o.Work); err != nil {
		return Offline{}, err
	}
	provider := filepath.Join(s.Offline(), "provider")
	if err := os.MkdirAll(provider, 0o700); err != nil {
		return Offline{}, err
	}
	wrapper := filepath.Join(provider, "terraform-provider-yandex.sh")
	if err := os.WriteFile(wrapper, fakeyandex.ShellWrapper(exe, args...), 0o700); err != nil {
		return Offline{}, err
	}
	cfg, err := fakeyandex.WriteMirror(provider, wrapper)
	if err != nil {
		return Offline{}, err
	}
	o.Env = fakeyandex.TerraformEnv(cfg)
	return o, writeFakeVars(o.VarFile, s.Deploy)
}

// writeFakeVars writes a var file giving every required variable of the module in dir a fake
// value.
func writeFakeVars(path, dir string) error {
	vars, err := infra.Variables(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Fake values for an offline plan (pghac plan --offline). Nothing here is real.\n")
	for _, v := range vars {
		if !v.Required {
			continue
		}
		val := "offline-fake-" + strings.ReplaceAll(v.Name, "_", "-")
		if strings.HasSuffix(v.Name, "_sha256") {
			// A checksum variable checks its form.
			sum := sha256.Sum256([]byte(val))
			val = hex.EncodeToString(sum[:])
		}
		if v.Sensitive {
			val = FakeSecret
		}
		fmt.Fprintf(&b, "%s = %q\n", v.Name, val)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
