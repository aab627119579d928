package backend

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
)

func withBackend(url, sha string) *model.Cluster {
	c := modeltest.Cluster()
	c.Backend = &model.Backend{Port: 8080, Database: "notes", User: "notes", ArtifactURL: url, ArtifactSHA256: sha}
	return c
}

func TestNoBackendNoFiles(t *testing.T) {
	c := modeltest.Cluster()
	c.Backend = nil
	part, err := NodePart(c, c.Nodes[0])
	if err != nil || part.Files != nil || part.Boot != nil || part.BootFiles != nil {
		t.Errorf("without a backend block: part %v, err %v; want none", part, err)
	}
}

func TestFiles(t *testing.T) {
	c := withBackend("https://example.com/b", strings.Repeat("a", 64))
	part, err := NodePart(c, c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	files := part.Files
	// The boot runs the install script, which a rollout runs again for a new build.
	if !slices.Equal(part.Boot, []string{InstallPath}) {
		t.Errorf("boot lines %q, want only the install script", part.Boot)
	}
	install := string(files[2].Bytes)
	if !strings.HasSuffix(install, "\nsystemctl enable "+Unit+"\nsystemctl restart "+Unit+"\n") || !strings.Contains(install, strings.Repeat("a", 64)) {
		t.Errorf("install script: want the build's checksum, then the unit enabled and (re)started:\n%s", install)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = f.Owner + " " + f.Mode.String()
	}
	want := map[string]string{PasswordPath: "root:root -rw-------", UnitPath: "root:root -rw-r--r--", InstallPath: "root:root -rwx------"}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q, want %q", p, got[p], w)
		}
	}
	if string(files[0].Bytes) != model.SecretBackendPassword.Placeholder()+"\n" {
		t.Errorf("password file = %q, want only the placeholder", files[0].Bytes)
	}
	unit := string(files[1].Bytes)
	for _, line := range []string{
		"ExecStart=/usr/local/bin/pghac-backend --listen 0.0.0.0:8080 --tls-cert /etc/pghac/tls/service.pem --write-dsn postgres://notes@127.0.0.1:5000/notes?sslmode=verify-full&sslrootcert=/etc/pghac/tls/ca.crt --read-dsn postgres://notes@127.0.0.1:5001/notes?sslmode=verify-full&sslrootcert=/etc/pghac/tls/ca.crt",
		"LoadCredential=db-password:" + PasswordPath,
		"DynamicUser=yes",
		"SupplementaryGroups=ssl-cert",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"Restart=always",
	} {
		if !strings.Contains(unit, "\n"+line+"\n") {
			t.Errorf("unit has no line %q:\n%s", line, unit)
		}
	}
}

// TestUnitVerifies has systemd read the unit: a misspelt directive or section is an error.
func TestUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	c := withBackend("https://example.com/b", strings.Repeat("a", 64))
	part, err := NodePart(c, c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	files := part.Files
	dir := t.TempDir()
	// The binary must exist for verify; a shell script stands in for it.
	bin := filepath.Join(dir, "pghac-backend")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, Unit+".service")
	text := strings.ReplaceAll(string(files[1].Bytes), BinaryPath, bin)
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", unit).CombinedOutput()
	if err != nil || strings.Contains(string(out), Unit+".service:") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestInstall runs the install script with the real curl and sha256sum against a local
// server: the right checksum installs the binary, a wrong one stops the script before
// anything is installed.
func TestInstall(t *testing.T) {
	payload := []byte("#!/bin/sh\necho backend\n")
	sum := sha256.Sum256(payload)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pghac-backend" {
			http.NotFound(w, r)
			return
		}
		w.Write(payload)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name, url, sha string
		installed      bool
	}{
		{"matching checksum", srv.URL + "/pghac-backend", hex.EncodeToString(sum[:]), true},
		{"wrong checksum", srv.URL + "/pghac-backend", strings.Repeat("0", 64), false},
		{"missing file", srv.URL + "/other", hex.EncodeToString(sum[:]), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "pghac-backend")
			var script []string
			part, err := NodePart(withBackend(tc.url, tc.sha), modeltest.Cluster().Nodes[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(part.Files[2].Bytes), "\n") {
				if strings.HasPrefix(line, "systemctl ") {
					continue // not this host's services
				}
				script = append(script, strings.ReplaceAll(line, BinaryPath, bin))
			}
			cmd := exec.Command("sh", "-c", strings.Join(script, "\n"))
			out, err := cmd.CombinedOutput()
			got, readErr := os.ReadFile(bin)
			if tc.installed {
				if err != nil || readErr != nil || string(got) != string(payload) {
					t.Fatalf("install failed: %v %v\n%s", err, readErr, out)
				}
				if fi, _ := os.Stat(bin); fi.Mode().Perm() != 0o755 {
					t.Errorf("mode %v, want 0755", fi.Mode().Perm())
				}
				return
			}
			if err == nil || readErr == nil {
				t.Fatalf("script succeeded (%v) or installed the binary (%v); want a failure before install:\n%s", err, readErr, out)
			}
		})
	}
}
