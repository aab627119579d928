package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/golden/realcheck"
	"github.com/pghac/pghac/internal/backend/pgtest"
)

const password = "pw-from-the-credential"

// build compiles the command into a temporary directory with version test-1.
func build(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "pghac-backend")
	out, err := exec.Command(goBin, "build", "-ldflags", "-X main.version=test-1", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// result is how a run of the binary ended.
type result struct {
	code           int
	stdout, stderr string
}

// runBin runs the binary to completion with env (and nothing else of the test's) and args.
func runBin(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", bin, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestBinary(t *testing.T) {
	bin := build(t)
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}

	t.Run("version", func(t *testing.T) {
		r := runBin(t, bin, env, "--version")
		if r.code != 0 || r.stdout != "pghac-backend test-1\n" {
			t.Errorf("--version: exit %d, stdout %q", r.code, r.stdout)
		}
	})
	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"--nope"},
			{"--max-conns", "0"},
			{"--request-timeout", "0s"},
			{"--request-timeout", "soon"},
			{"extra"},
			{"--write-dsn", "postgres://notes:hunter2@[::1"},
		} {
			r := runBin(t, bin, env, args...)
			if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "pghac-backend: ") {
				t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("%v: the error shows the DSN's password: %s", args, r.stderr)
			}
		}
	})
	t.Run("fatal errors exit 1", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope")
		r := runBin(t, bin, env, "--password-file", missing)
		if r.code != 1 || !strings.Contains(r.stderr, "cannot read the password file "+missing) {
			t.Errorf("missing password file: exit %d, stderr %q", r.code, r.stderr)
		}
		empty := filepath.Join(t.TempDir(), "empty")
		if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := runBin(t, bin, env, "--password-file", empty); r.code != 1 || !strings.Contains(r.stderr, "is empty") {
			t.Errorf("empty password file: exit %d, stderr %q", r.code, r.stderr)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		r = runBin(t, bin, env, "--listen", l.Addr().String())
		if r.code != 1 || !strings.Contains(r.stderr, "cannot listen on "+l.Addr().String()) {
			t.Errorf("address in use: exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("serves HTTPS only and reloads its certificate on SIGHUP", func(t *testing.T) {
		cert := filepath.Join(t.TempDir(), "service.pem")
		if r := runBin(t, bin, env, "--tls-cert", cert); r.code != 1 || !strings.Contains(r.stderr, "the TLS certificate") {
			t.Errorf("missing certificate: exit %d, stderr %q", r.code, r.stderr)
		}
		first := issueCert(t, cert)
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		// No database behind it: /healthz answers without one.
		b := startBinary(t, bin, env, "--listen", addr, "--tls-cert", cert)
		healthz := func(scheme string, roots *x509.CertPool) (int, error) {
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: roots}}}
			resp, err := hc.Get(scheme + "://" + addr + "/healthz")
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			code, err := healthz("https", first)
			if code == 200 {
				break
			}
			if b.exited() || time.Now().After(deadline) {
				t.Fatalf("https /healthz: %d %v; stderr:\n%s", code, err, b.stderr.String())
			}
		}
		if code, _ := healthz("http", nil); code == 200 {
			t.Error("plain HTTP /healthz: 200; want no answer but a refusal")
		}
		second := issueCert(t, cert)
		if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if code, _ := healthz("https", second); code == 200 {
				break
			}
			if b.exited() || time.Now().After(deadline) {
				t.Fatalf("after SIGHUP, the new certificate is not served; stderr:\n%s", b.stderr.String())
			}
		}
		if !strings.Contains(b.stderr.String(), "reloaded the TLS certificate") {
			t.Errorf("stderr does not say the certificate was reloaded:\n%s", b.stderr.String())
		}
	})
	t.Run("serves with the credential and stops on SIGTERM", func(t *testing.T) {
		pg := pgtest.StartPostgres(t)
		pg.CreateRole(t, "notes", password)
		pg.CreateDatabase(t, "notes", "notes")
		creds := t.TempDir()
		if err := os.WriteFile(filepath.Join(creds, "db-password"), []byte(password+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		dsn := pg.DSN("notes", "", "notes") // no password: it comes from the credential
		// A generous request timeout: a slow first write on a busy machine is not a failure.
		args := []string{"--write-dsn", dsn, "--read-dsn", dsn, "--request-timeout", "20s"}
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
		get := func(addr, path string) int {
			resp, err := hc.Get("http://" + addr + path)
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		// The port is picked free, then bound by the binary: another process may take it in
		// between, and the binary exits saying so. Then another port, up to three in all.
		var addr string
		var b *running
		for attempt := 1; ; attempt++ {
			addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
			b = startBinary(t, bin, append(env, "CREDENTIALS_DIRECTORY="+creds), append([]string{"--listen", addr}, args...)...)
			// Ready within a second or two; the margin is for a busy machine.
			deadline := time.Now().Add(60 * time.Second)
			for !b.exited() && get(addr, "/readyz") != 200 {
				if time.Now().After(deadline) {
					t.Fatalf("/readyz is not 200 after 60 s (healthz %d); stderr:\n%s", get(addr, "/healthz"), b.stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !b.exited() {
				break
			}
			if attempt == 3 || !strings.Contains(b.stderr.String(), "cannot listen on "+addr) {
				t.Fatalf("the binary exited before it was ready: %v; stderr:\n%s", b.err, b.stderr.String())
			}
			t.Logf("%s was taken before the binary bound it; again on another port", addr)
		}
		if code := get(addr, "/healthz"); code != 200 {
			t.Errorf("/healthz: %d", code)
		}
		resp, err := hc.Post("http://"+addr+"/notes/", "application/json", strings.NewReader(`{"text": "hello"}`))
		if err != nil || resp.StatusCode != 201 {
			t.Errorf("POST /notes/: %v %v", resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}

		if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-b.done:
			if b.err != nil {
				t.Errorf("after SIGTERM: %v, want exit 0; stderr:\n%s", b.err, b.stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("still running 30 s after SIGTERM; stderr:\n%s", b.stderr.String())
		}
		stderr := b.stderr
		log := stderr.String()
		for _, want := range []string{`msg="serving the notes API"`, `msg="notes table ready"`, `msg="shutting down`, `msg=stopped`} {
			if !strings.Contains(log, want) {
				t.Errorf("stderr has no %s:\n%s", want, log)
			}
		}
		if strings.Contains(log, password) {
			t.Errorf("stderr shows the password:\n%s", log)
		}
	})
}

// running is a started binary; the test's cleanup kills it if it still runs.
type running struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed once it has exited
	err    error         // how it exited, once done is closed
}

// startBinary starts bin with env (and nothing else of the test's) and args.
func startBinary(t *testing.T, bin string, env []string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		if !r.exited() {
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// exited reports whether the binary has exited.
func (r *running) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// syncBuffer is a bytes.Buffer that the process's output goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// issueCert writes a service certificate for 127.0.0.1 from a new authority to path and
// returns the authority to verify it with.
func issueCert(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	roots, err := realcheck.NewServiceCert(t.TempDir(), path)
	if err != nil {
		t.Fatal(err)
	}
	return roots
}
