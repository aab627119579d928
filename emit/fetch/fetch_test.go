package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/lockbox"
)

const testToken = "t1.test-token-9f3a"

// servers stand for the metadata service (a token, only with its header) and a private
// object (only with that token).
func servers(t *testing.T, body []byte) (metadata, storage *httptest.Server, seen *[]string) {
	t.Helper()
	var got []string
	metadata = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(lockbox.MetadataFlavorHeader) != lockbox.MetadataFlavor || r.URL.Path != lockbox.MetadataTokenPath {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write([]byte(`{"access_token":"` + testToken + `","expires_in":3600,"token_type":"Bearer"}`))
	}))
	storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(lockbox.StorageTokenHeader))
		if r.Header.Get(lockbox.StorageTokenHeader) != testToken {
			http.Error(w, "AccessDenied", http.StatusForbidden)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(metadata.Close)
	t.Cleanup(storage.Close)
	return metadata, storage, &got
}

// run runs lines as cloud-init's runcmd does (one sh script, set -eux), with the metadata
// service's address pointed at metadata; it returns the trace and the error.
func run(t *testing.T, lines []string, metadata string) (string, error) {
	t.Helper()
	script := "set -eux\n" + strings.ReplaceAll(strings.Join(lines, "\n"), "http://"+model.MetadataAddr, metadata) + "\n"
	cmd := exec.Command("sh", "-c", script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestCommandsWithToken: a private object is downloaded with the VM's token, checked and
// installed; the token never shows in the trace and its file is gone afterwards; a wrong
// checksum installs nothing.
func TestCommandsWithToken(t *testing.T) {
	body := []byte("#!/bin/sh\necho a build\n")
	metadata, storage, seen := servers(t, body)
	if _, err := os.Stat(tokenFile); err == nil {
		t.Skipf("%s exists on this machine: the test would remove it", tokenFile)
	}
	dest := filepath.Join(t.TempDir(), "pghac-backend")
	out, err := run(t, Commands(storage.URL+"/bucket/pghac-backend", sum(body), dest, true), metadata.URL)
	if err != nil {
		t.Fatalf("download: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(dest); err != nil || string(b) != string(body) {
		t.Errorf("installed %q, %v; want the object", b, err)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("installed file: %v, %v; want mode 0755", fi, err)
	}
	if len(*seen) != 1 || (*seen)[0] != testToken {
		t.Errorf("the object was asked for with tokens %q, want the VM's once", *seen)
	}
	if strings.Contains(out, testToken) {
		t.Errorf("the trace shows the token:\n%s", out)
	}
	if _, err := os.Stat(tokenFile); err == nil {
		t.Errorf("%s is left after the download", tokenFile)
	}

	other := filepath.Join(t.TempDir(), "pghac-backend")
	if out, err := run(t, Commands(storage.URL+"/bucket/pghac-backend", sum([]byte("another build")), other, true), metadata.URL); err == nil {
		t.Errorf("a download with another checksum passed:\n%s", out)
	}
	if _, err := os.Stat(other); err == nil {
		t.Errorf("a download with another checksum was installed")
	}
	if _, err := os.Stat(tokenFile); err == nil {
		t.Errorf("%s is left after a failed download", tokenFile)
	}
}

// TestCommandsWithoutToken: an artifact block's URL is downloaded as it is, with no token,
// and the private object refuses that.
func TestCommandsWithoutToken(t *testing.T) {
	body := []byte("a public build")
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(lockbox.StorageTokenHeader) != "" {
			t.Errorf("a public download sent a token")
		}
		w.Write(body)
	}))
	defer public.Close()
	dest := filepath.Join(t.TempDir(), "pghac")
	lines := Commands(public.URL+"/pghac", sum(body), dest, false)
	if strings.Contains(strings.Join(lines, "\n"), model.MetadataAddr) {
		t.Errorf("a public download asks the metadata service for a token:\n%s", strings.Join(lines, "\n"))
	}
	if out, err := run(t, lines, ""); err != nil {
		t.Fatalf("download: %v\n%s", err, out)
	}
	_, storage, _ := servers(t, body)
	if out, err := run(t, Commands(storage.URL+"/bucket/pghac", sum(body), filepath.Join(t.TempDir(), "pghac"), false), ""); err == nil {
		t.Errorf("a private object was downloaded without a token:\n%s", out)
	}
}
