package site

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
)

func TestLayout(t *testing.T) {
	s := New("conf/cluster.hcl", "out", "", model.TargetYandex)
	for got, want := range map[string]string{
		s.Deploy: "out/yandex", s.State: "conf/.pghac", s.Dir: "conf/.pghac/yandex",
		s.Work(): "conf/.pghac/yandex/terraform", s.Offline(): "conf/.pghac/yandex/offline",
		s.Secrets(): "conf/.pghac/yandex/secrets.tfvars", s.StateFile(): "conf/.pghac/yandex/terraform/terraform.tfstate",
	} {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
	if s := New("cluster.hcl", "deploy", "/var/state", model.TargetYandex); s.Dir != "/var/state/yandex" {
		t.Errorf("--state-dir: Dir %q", s.Dir)
	}
	sb, err := Sandbox("cluster.hcl", "deploy", "", "/cache")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(sb.File) || !filepath.IsAbs(sb.Deploy) || !filepath.IsAbs(sb.Dir) || sb.CacheDir != "/cache" {
		t.Errorf("sandbox site not absolute: %+v", sb)
	}
	if got := sb.ProvisionerLog("node0", "machine-up"); got != filepath.Join(sb.Dir, "provisioners", "node0.machine-up.log") {
		t.Errorf("provisioner log %q", got)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	s := New(filepath.Join(dir, "cluster.hcl"), dir, "", model.TargetSandbox)
	secrets := []model.Secret{model.SecretSuperuserPassword, model.SecretStatsPassword}
	if s.HasSecrets() {
		t.Fatal("secrets before any were written")
	}
	if err := s.WriteSecrets(secrets, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.Secrets())
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(s.Secrets()); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode())
	}
	if ig, err := os.ReadFile(filepath.Join(s.State, ".gitignore")); err != nil || !strings.Contains(string(ig), "\n*\n") {
		t.Errorf(".gitignore %q, %v", ig, err)
	}
	if err := s.WriteSecrets(secrets, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second write without replace: %v, want ErrExist", err)
	}
	vals, err := s.ReadSecrets()
	if err != nil || len(vals) != 2 || !regexp.MustCompile(`^[A-Za-z0-9]{40}$`).MatchString(vals[string(model.SecretStatsPassword)]) {
		t.Fatalf("read back %d values, %v", len(vals), err)
	}

	// A newer pghac needs one more: added, the others kept byte for byte.
	added, err := s.AddMissingSecrets(append(secrets, model.SecretBackendPassword))
	if err != nil || len(added) != 1 || added[0] != string(model.SecretBackendPassword) {
		t.Fatalf("added %v, %v", added, err)
	}
	after, _ := os.ReadFile(s.Secrets())
	if !bytes.HasPrefix(after, b) || !regexp.MustCompile(`\n`+string(model.SecretBackendPassword)+` = "[A-Za-z0-9]{40}"\n$`).Match(after) {
		t.Errorf("after adding:\n%s", after)
	}
	if added, err := s.AddMissingSecrets(secrets); err != nil || added != nil {
		t.Errorf("nothing missing: added %v, %v", added, err)
	}
	got, err := SecretValues([]string{s.Secrets()})
	if err != nil || len(got) != 3 {
		t.Errorf("SecretValues: %d values, %v", len(got), err)
	}

	// Rotating one: a new value for it, every other line byte for byte, mode 0600.
	before, _ := s.ReadSecrets()
	old, err := s.RotateSecret(model.SecretStatsPassword)
	if err != nil || old != before[string(model.SecretStatsPassword)] {
		t.Fatalf("RotateSecret: %v; want the old value back", err)
	}
	rotated, _ := os.ReadFile(s.Secrets())
	now, _ := s.ReadSecrets()
	if now[string(model.SecretStatsPassword)] == old || len(now) != 3 ||
		now[string(model.SecretSuperuserPassword)] != before[string(model.SecretSuperuserPassword)] ||
		len(rotated) != len(after) || !regexp.MustCompile(`\n`+string(model.SecretStatsPassword)+` = "[A-Za-z0-9]{40}"\n`).Match(rotated) {
		t.Errorf("after rotating %s:\n%s", model.SecretStatsPassword, rotated)
	}
	if st, _ := os.Stat(s.Secrets()); st.Mode().Perm() != 0o600 {
		t.Errorf("mode after rotating %v, want 0600", st.Mode())
	}
	if out, err := s.RotatedOut(); err != nil || out[string(model.SecretStatsPassword)] != old || len(out) != 1 {
		t.Errorf("RotatedOut during the rotation: %d values, %v; want the old one", len(out), err)
	}
	if _, err := s.RotateSecret(model.SecretSuperuserPassword); err == nil || !strings.Contains(err.Error(), "the rotation of haproxy_stats_password has not rolled out") {
		t.Errorf("a second rotation before the first ended: %v", err)
	}
	if err := s.EndRotation(); err != nil {
		t.Fatal(err)
	}
	if out, err := s.RotatedOut(); err != nil || out != nil {
		t.Errorf("RotatedOut after the rotation: %d values, %v; want none", len(out), err)
	}
	if _, err := s.RotateSecret(model.SecretRewindPassword); err == nil || !strings.Contains(err.Error(), "has no postgres_rewind_password") {
		t.Errorf("rotating a secret the file lacks: %v", err)
	}
}

func TestRandomSecret(t *testing.T) {
	// 248 and above are rejected (62*4 = 248), the rest map modulo 62.
	src := bytes.NewReader(append(bytes.Repeat([]byte{255, 248, 0, 61, 62, 247}, 40), make([]byte, 80)...))
	got, err := randomSecret(src)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("A9A9", 10)
	if got != want {
		t.Errorf("randomSecret = %q, want %q", got, want)
	}
	if _, err := randomSecret(bytes.NewReader(nil)); err == nil {
		t.Error("randomSecret without randomness succeeded")
	}
}

func TestOperatorKey(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "cluster.hcl"), "deploy", "", model.TargetYandex)
	if s.HasOperatorKey() {
		t.Fatal("a fresh site has an operator key")
	}
	made, err := s.EnsureOperatorKey()
	if err != nil || !made {
		t.Fatalf("EnsureOperatorKey = %v, %v; want a new key", made, err)
	}
	fi, err := os.Stat(s.OperatorKey())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the private key: %v, %v; want mode 0600", fi, err)
	}
	vars, err := infra.StringVars(s.OperatorVars())
	pub := vars[model.OperatorKeyVar]
	if err != nil || !strings.HasPrefix(pub, "ssh-ed25519 ") || !strings.HasSuffix(pub, " pghac-operator@yandex") {
		t.Fatalf("the var file: %q, %v", vars, err)
	}
	priv, _ := os.ReadFile(s.OperatorKey())
	if bytes.Contains([]byte(pub), priv) || !bytes.Contains(priv, []byte("OPENSSH PRIVATE KEY")) {
		t.Errorf("the private key file does not hold an OpenSSH private key")
	}
	// Again: the same key, not a new one.
	if made, err := s.EnsureOperatorKey(); err != nil || made {
		t.Fatalf("second EnsureOperatorKey = %v, %v; want the key kept", made, err)
	}
	if again, _ := infra.StringVars(s.OperatorVars()); again[model.OperatorKeyVar] != pub {
		t.Errorf("the public key changed: %q, was %q", again[model.OperatorKeyVar], pub)
	}
}
