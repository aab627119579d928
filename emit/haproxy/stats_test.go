package haproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/golden/realcheck"
)

// TestStatsTLS runs the real HAProxy with the generated statistics section, its loopback bind
// moved to a free port: a client that verifies against the cluster's authority gets the page
// with the password and a 401 without; a plain HTTP request and a client that trusts another
// authority get nothing.
func TestStatsTLS(t *testing.T) {
	c := modeltest.Cluster()
	dir := t.TempDir()
	tl, err := realcheck.WriteTLS(dir, model.Node{Name: "node", Address: loopback})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	want := fmt.Sprintf("bind 127.0.0.1:%d ssl crt %s", c.HAProxy.StatsPort, model.TLSServicePath)
	var stats strings.Builder
	for _, line := range section(emit(t, c, 0), "listen stats") {
		switch {
		case line == want:
			line = "bind " + addr + " ssl crt " + model.TLSServicePath
		case strings.HasPrefix(line, "bind "):
			continue // the node's own address
		}
		stats.WriteString("    " + line + "\n")
	}
	if !strings.Contains(stats.String(), addr) {
		t.Fatalf("the statistics section has no line %q", want)
	}
	cfg := "global\ndefaults\n    timeout connect 1s\nlisten stats\n" + stats.String()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, tl.Paths(realcheck.Render([]byte(cfg))), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/haproxy", "-db", "-f", path)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("HAProxy's configuration:\n%s\nits output:\n%s", cfg, log.String())
		}
	})

	roots, err := tl.Roots()
	if err != nil {
		t.Fatal(err)
	}
	get := func(scheme string, roots *x509.CertPool, password string) (int, string, error) {
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
		req, err := http.NewRequest(http.MethodGet, scheme+"://"+addr+"/;csv", nil)
		if err != nil {
			t.Fatal(err)
		}
		if password != "" {
			req.SetBasicAuth(model.StatsUser, password)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	password := realcheck.TestSecret(model.SecretStatsPassword)
	var code int
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, body, err = get("https", roots, password); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if code != http.StatusOK || !strings.Contains(body, "stats,FRONTEND") {
		t.Fatalf("https with the password: %d %v\n%s", code, err, body)
	}
	if code, _, err := get("https", roots, ""); code != http.StatusUnauthorized {
		t.Errorf("https without the password: %d %v; want 401", code, err)
	}
	if code, body, _ := get("http", nil, password); code == http.StatusOK || strings.Contains(body, "FRONTEND") {
		t.Errorf("plain HTTP: %d; want no page\n%s", code, body)
	}
	other, err := realcheck.WriteTLS(t.TempDir(), model.Node{Name: "node", Address: loopback})
	if err != nil {
		t.Fatal(err)
	}
	otherRoots, err := other.Roots()
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	if _, _, err := get("https", otherRoots, password); !errors.As(err, &unknown) {
		t.Errorf("https trusting another authority: %v; want an unknown authority", err)
	}
}
