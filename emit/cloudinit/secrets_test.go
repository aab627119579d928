package cloudinit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pghac/pghac/compiler/model"
)

// The fake's secret, token and version. The values are chosen to catch a script that
// escapes, rescans or re-encodes them: re.sub escapes, a placeholder inside a value, non-ASCII
// text, and bytes that are not UTF-8.
const (
	fakeSecretID = "e6qfakesecret0000001"
	fakeVersion  = "e6qfakeversion000002"
	fakeToken    = "t1.fake-iam-token-never-printed"
	fakeSuperPw  = `Sup3r-$&\1\g<0>'"-` + "${haproxy_stats_password}"
	fakeStatsPw  = "st4ts-pässwörd"
	fakeUnused   = "unused-entry-value"
)

var fakeTLSKey = []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAw\xff\xfe\x00\n-----END PRIVATE KEY-----\n")

// lockboxFake serves, from one server, what the secrets script talks to on a node: the
// metadata service (the two attributes and the service account's token) and Lockbox's payload
// API. Like the real metadata service it refuses requests without Metadata-Flavor: Google.
type lockboxFake struct {
	srv *httptest.Server

	mu sync.Mutex
	// payloadAnswers are the statuses of the next payload requests, in order, before the
	// payload is served; alwaysStatus, when set, answers every payload request.
	payloadAnswers []int
	alwaysStatus   int
	requests       int // all requests
	payload        int // payload requests
	noFlavor       int // metadata requests without the header
	badAuth        int // payload requests without the token
}

// lockboxErrors are Lockbox's answers (gRPC gateway JSON) for the statuses the tests use.
var lockboxErrors = map[int]string{
	http.StatusBadRequest:         `{"code":3,"message":"Invalid secret id","details":[]}`,
	http.StatusUnauthorized:       `{"code":16,"message":"The token is invalid","details":[]}`,
	http.StatusForbidden:          `{"code":7,"message":"Permission denied","details":[]}`,
	http.StatusNotFound:           `{"code":5,"message":"Secret version not found","details":[]}`,
	http.StatusTooManyRequests:    `{"code":8,"message":"Too many requests","details":[]}`,
	http.StatusServiceUnavailable: `{"code":14,"message":"Service unavailable","details":[]}`,
}

func newLockboxFake(t *testing.T) *lockboxFake {
	f := &lockboxFake{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *lockboxFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if strings.HasPrefix(r.URL.Path, "/computeMetadata/") {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			f.noFlavor++
			http.Error(w, "Missing required header: Metadata-Flavor: Google", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/computeMetadata/v1/instance/attributes/pghac-lockbox-secret-id":
			fmt.Fprint(w, fakeSecretID)
		case "/computeMetadata/v1/instance/attributes/pghac-lockbox-payload-endpoint":
			fmt.Fprint(w, f.srv.URL)
		case "/computeMetadata/v1/instance/service-accounts/default/token":
			json.NewEncoder(w).Encode(map[string]any{"access_token": fakeToken, "expires_in": 42000, "token_type": "Bearer"})
		default:
			http.NotFound(w, r)
		}
		return
	}
	if r.URL.Path != "/lockbox/v1/secrets/"+fakeSecretID+"/payload" {
		http.NotFound(w, r)
		return
	}
	f.payload++
	status := f.alwaysStatus
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		f.badAuth++
		status = http.StatusUnauthorized
	} else if status == 0 && len(f.payloadAnswers) > 0 {
		status, f.payloadAnswers = f.payloadAnswers[0], f.payloadAnswers[1:]
	}
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprint(w, lockboxErrors[status])
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"versionId": fakeVersion,
		"entries": []map[string]string{
			{"key": "postgres_superuser_password", "textValue": fakeSuperPw},
			{"key": "haproxy_stats_password", "textValue": fakeStatsPw},
			{"key": "tls_key", "binaryValue": base64.StdEncoding.EncodeToString(fakeTLSKey)},
			{"key": "unused", "textValue": fakeUnused},
		},
	})
}

func (f *lockboxFake) counts() (requests, payload int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.payload
}

type secretsRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// secretsPython is Debian's interpreter, the one a node runs the script with; another python3
// on PATH if there is none.
func secretsPython(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to run secrets.py with")
	}
	return p
}

// runSecrets runs the script as the runcmd line does, with the fake as metadata service, a
// retry every 0.1 s and a 5 s timeout, under umask 077 so that a mode the script does not set
// exactly shows. Whatever the outcome, the fake must have seen the metadata header and the
// token on every request, and the output must hold neither the token nor any value.
func runSecrets(t *testing.T, metadataURL string, f *lockboxFake, extra []string, files ...string) secretsRun {
	t.Helper()
	python := secretsPython(t)
	src, err := os.ReadFile("secrets.py")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "secrets.py")
	if err := os.WriteFile(script, src, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-c", `umask 077 && exec "$0" "$@"`, python, "-I", script,
		"--metadata", metadataURL, "--retry-every", "0.1", "--timeout", "5"}, extra...)
	cmd := exec.Command("/bin/sh", append(args, files...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	r := secretsRun{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("exit %d after %s\nstdout:\n%sstderr:\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)

	out := stdout.String() + stderr.String()
	for name, s := range map[string]string{
		"the token": fakeToken, "a text value": fakeSuperPw, "a non-ASCII value": fakeStatsPw,
		"an unused value": fakeUnused, "a binary value": string(fakeTLSKey),
		"a binary value's base64": base64.StdEncoding.EncodeToString(fakeTLSKey),
	} {
		if strings.Contains(out, s) {
			t.Errorf("the script's output holds %s", name)
		}
	}
	if f != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.noFlavor != 0 {
			t.Errorf("%d metadata requests without Metadata-Flavor: Google", f.noFlavor)
		}
		if f.badAuth != 0 {
			t.Errorf("%d payload requests without the token", f.badAuth)
		}
	}
	return r
}

type secretsFile struct {
	bytes    []byte
	mode     os.FileMode
	mtime    time.Time
	uid, gid uint32
}

// secretsOldTime is every test file's mtime: a file rewritten, even with the same bytes, gets now.
var secretsOldTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func writeSecretsFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode went through the umask
		t.Fatal(err)
	}
	if err := os.Chtimes(p, secretsOldTime, secretsOldTime); err != nil {
		t.Fatal(err)
	}
	return p
}

func statSecretsFile(t *testing.T, p string) secretsFile {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return secretsFile{b, fi.Mode(), fi.ModTime(), st.Uid, st.Gid}
}

// secretsDirNames lists dir: a temporary file the script left behind shows here.
func secretsDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSecretsFill(t *testing.T) {
	f := newLockboxFake(t)
	// The fake enforces the header, so its count of requests without it means something.
	resp, err := http.Get(f.srv.URL + "/computeMetadata/v1/instance/attributes/pghac-lockbox-secret-id")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the fake answers a metadata request without Metadata-Flavor with %s, want 403", resp.Status)
	}
	f.noFlavor = 0

	dir := t.TempDir()
	config := writeSecretsFile(t, dir, "config.yml",
		"superuser:\n  password: '${postgres_superuser_password}'\nrestapi:\n  password: '${postgres_superuser_password}'\n", 0o600)
	// Shell and template look-alikes that are no placeholder stay as they are.
	const unrelated = "# $HOME ${HOME} $1 $(date) ${not-a-name} ${ spaced } ${1x} {tls_key} $tls_key $$ ${\n"
	haproxy := writeSecretsFile(t, dir, "haproxy.cfg", "listen stats\n  stats auth stats:${haproxy_stats_password}\n"+unrelated, 0o644)
	key := writeSecretsFile(t, dir, "server.key", "${tls_key}", 0o640)
	plain := writeSecretsFile(t, dir, "plain.conf", "nothing to fill: $HOME\n", 0o644)
	if os.Geteuid() == 0 {
		// The script must keep the owner: as root, give one file another.
		if err := os.Chown(key, 4242, 4343); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]secretsFile{}
	for _, p := range []string{config, haproxy, key, plain} {
		before[p] = statSecretsFile(t, p)
	}

	r := runSecrets(t, f.srv.URL, f, nil, config, haproxy, key, plain)
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0", r.code)
	}
	if want := fmt.Sprintf("pghac-secrets: filled 4 placeholders in 3 files from Lockbox secret %s version %s\n", fakeSecretID, fakeVersion); r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing", r.stderr)
	}

	want := map[string]string{
		config:  "superuser:\n  password: '" + fakeSuperPw + "'\nrestapi:\n  password: '" + fakeSuperPw + "'\n",
		haproxy: "listen stats\n  stats auth stats:" + fakeStatsPw + "\n" + unrelated,
		key:     string(fakeTLSKey),
		plain:   "nothing to fill: $HOME\n",
	}
	for p, w := range want {
		got, old := statSecretsFile(t, p), before[p]
		if string(got.bytes) != w {
			t.Errorf("%s holds %q, want %q", filepath.Base(p), got.bytes, w)
		}
		if got.mode != old.mode || got.uid != old.uid || got.gid != old.gid {
			t.Errorf("%s: mode %v owner %d:%d, want the original's %v %d:%d", filepath.Base(p), got.mode, got.uid, got.gid, old.mode, old.uid, old.gid)
		}
		if p != plain && got.mtime.Equal(secretsOldTime) {
			t.Errorf("%s: mtime unchanged, yet it was to be filled", filepath.Base(p))
		}
	}
	if got := statSecretsFile(t, plain).mtime; !got.Equal(secretsOldTime) {
		t.Errorf("plain.conf, which has no placeholder, was rewritten (mtime %v)", got)
	}
	if got := secretsDirNames(t, dir); len(got) != 4 {
		t.Errorf("the directory holds %q, want the 4 files only", got)
	}
}

// TestSecretsMissingEntry: a placeholder the secret has no entry for fails the run before any
// file is written, and the message names every file and name concerned.
func TestSecretsMissingEntry(t *testing.T) {
	f := newLockboxFake(t)
	dir := t.TempDir()
	files := []string{
		writeSecretsFile(t, dir, "config.yml", "password: '${postgres_superuser_password}'\n", 0o600),
		writeSecretsFile(t, dir, "haproxy.cfg", "stats auth stats:${haproxy_stats_password} ${unknown_b} ${unknown_a} ${unknown_b}\n", 0o644),
		writeSecretsFile(t, dir, "pgbouncer.ini", "auth = ${unknown_c}\n", 0o640),
	}
	before := map[string]secretsFile{}
	for _, p := range files {
		before[p] = statSecretsFile(t, p)
	}
	r := runSecrets(t, f.srv.URL, f, nil, files...)
	if r.code != 1 {
		t.Fatalf("exit status %d, want 1", r.code)
	}
	wantErr := fmt.Sprintf("pghac-secrets: %s: Lockbox secret %s version %s has no entry for placeholder(s) unknown_a, unknown_b\n"+
		"pghac-secrets: %s: Lockbox secret %s version %s has no entry for placeholder(s) unknown_c\n"+
		"pghac-secrets: no file changed\n", files[1], fakeSecretID, fakeVersion, files[2], fakeSecretID, fakeVersion)
	if r.stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, wantErr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
	for _, p := range files {
		if got := statSecretsFile(t, p); !bytes.Equal(got.bytes, before[p].bytes) || !got.mtime.Equal(secretsOldTime) || got.mode != before[p].mode {
			t.Errorf("%s was changed", filepath.Base(p))
		}
	}
	if got := secretsDirNames(t, dir); len(got) != len(files) {
		t.Errorf("the directory holds %q, want the %d files only", got, len(files))
	}
}

// TestSecretsWaitsForVersion: a node boots before pghac has written the secret's first version
// (Lockbox answers 404): the script says once that it waits, and fills the files when the
// version is there.
func TestSecretsWaitsForVersion(t *testing.T) {
	f := newLockboxFake(t)
	f.payloadAnswers = []int{http.StatusNotFound, http.StatusNotFound}
	p := writeSecretsFile(t, t.TempDir(), "config.yml", "password: '${postgres_superuser_password}'\n", 0o600)
	r := runSecrets(t, f.srv.URL, f, nil, p)
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0", r.code)
	}
	wantErr := "pghac-secrets: waiting for Lockbox secret " + fakeSecretID +
		" to have a version (pghac apply / pghac up writes it): Lockbox payload: HTTP 404: Secret version not found\n"
	if r.stderr != wantErr {
		t.Errorf("stderr %q, want the one waiting line %q", r.stderr, wantErr)
	}
	if !strings.HasPrefix(r.stdout, "pghac-secrets: filled 1 placeholders in 1 files") {
		t.Errorf("stdout %q, want the filled line", r.stdout)
	}
	if _, payload := f.counts(); payload != 3 {
		t.Errorf("%d payload requests, want 3 (404, 404, the payload)", payload)
	}
	if got := string(statSecretsFile(t, p).bytes); got != "password: '"+fakeSuperPw+"'\n" {
		t.Errorf("config.yml holds %q", got)
	}
}

// TestSecretsLockboxErrors: which failures the script waits out, for how long, and the one
// line it ends with when it gives up.
func TestSecretsLockboxErrors(t *testing.T) {
	// A port nothing listens on: the metadata service is not up yet.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	failLine := "pghac-secrets: cannot read Lockbox secret " + fakeSecretID + ": "
	tests := []struct {
		name         string
		answers      []int // the payload requests' statuses, then the payload
		always       int   // every payload request's status
		metadata     string
		extra        []string
		wantCode     int
		wantLast     string // prefix of the last line of stderr
		wantPayload  int    // payload requests; -1: more than 1
		maxTook      time.Duration
		wantNoChange bool
	}{
		{name: "IAM binding propagates", answers: []int{http.StatusForbidden, http.StatusUnauthorized},
			wantCode: 0, wantLast: "pghac-secrets: waiting for Lockbox secret " + fakeSecretID + " to have a version (pghac apply / pghac up writes it): Lockbox payload: HTTP 403: Permission denied",
			wantPayload: 3},
		{name: "403 persists", always: http.StatusForbidden, extra: []string{"--auth-retry", "0.5"},
			wantCode: 1, wantLast: failLine + "Lockbox payload: HTTP 403: Permission denied (for 0.", wantPayload: -1,
			maxTook: 3 * time.Second, wantNoChange: true},
		{name: "429 and 503 are waited out", answers: []int{http.StatusTooManyRequests, http.StatusServiceUnavailable},
			wantCode: 0, wantLast: "pghac-secrets: waiting for Lockbox secret " + fakeSecretID, wantPayload: 3},
		{name: "no version within the timeout", always: http.StatusNotFound, extra: []string{"--timeout", "0.5"},
			wantCode: 1, wantLast: failLine + "gave up after 0.5 s: Lockbox payload: HTTP 404: Secret version not found",
			wantPayload: -1, maxTook: 3 * time.Second, wantNoChange: true},
		{name: "400 fails at once", always: http.StatusBadRequest,
			wantCode: 1, wantLast: failLine + "Lockbox payload: HTTP 400: Invalid secret id", wantPayload: 1,
			maxTook: 3 * time.Second, wantNoChange: true},
		{name: "metadata service unreachable", metadata: closed, extra: []string{"--timeout", "0.5"},
			wantCode: 1, wantLast: "pghac-secrets: cannot read Lockbox secret (id not read yet): gave up after 0.5 s: " +
				"metadata attribute pghac-lockbox-secret-id: ", wantPayload: 0, maxTook: 3 * time.Second, wantNoChange: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLockboxFake(t)
			f.payloadAnswers, f.alwaysStatus = tt.answers, tt.always
			metadata := f.srv.URL
			if tt.metadata != "" {
				metadata = tt.metadata
			}
			const content = "password: '${postgres_superuser_password}'\n"
			p := writeSecretsFile(t, t.TempDir(), "config.yml", content, 0o600)
			r := runSecrets(t, metadata, f, tt.extra, p)
			if r.code != tt.wantCode {
				t.Fatalf("exit status %d, want %d", r.code, tt.wantCode)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tt.wantLast) {
				t.Errorf("last line of stderr %q, want it to start with %q", last, tt.wantLast)
			}
			// Before it: at most the first waiting line (the next is due after a minute).
			if len(lines) > 2 || len(lines) == 2 && !strings.Contains(lines[0], ": waiting for Lockbox secret ") {
				t.Errorf("stderr has more than the waiting line and the last:\n%s", r.stderr)
			}
			if _, payload := f.counts(); tt.wantPayload >= 0 && payload != tt.wantPayload || tt.wantPayload < 0 && payload < 2 {
				t.Errorf("%d payload requests, want %d (-1: retried)", payload, tt.wantPayload)
			}
			if tt.maxTook > 0 && r.took > tt.maxTook {
				t.Errorf("took %s, want at most %s", r.took, tt.maxTook)
			}
			got := statSecretsFile(t, p)
			if tt.wantNoChange && (string(got.bytes) != content || !got.mtime.Equal(secretsOldTime)) {
				t.Errorf("config.yml was changed")
			}
			if !tt.wantNoChange && string(got.bytes) == content {
				t.Errorf("config.yml was not filled")
			}
		})
	}
}

// TestSecretsFiles: a FILE that is not there fails the run before anything is asked of the
// network, and files without placeholders need no secret at all (a rerun on a filled node).
func TestSecretsFiles(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		f := newLockboxFake(t)
		dir := t.TempDir()
		p := writeSecretsFile(t, dir, "config.yml", "password: '${postgres_superuser_password}'\n", 0o600)
		missing := filepath.Join(dir, "haproxy.cfg")
		r := runSecrets(t, f.srv.URL, f, nil, p, missing)
		if r.code != 1 {
			t.Fatalf("exit status %d, want 1", r.code)
		}
		if want := "pghac-secrets: error: [Errno 2] No such file or directory: '" + missing + "'\n"; r.stderr != want {
			t.Errorf("stderr %q, want %q", r.stderr, want)
		}
		if requests, _ := f.counts(); requests != 0 {
			t.Errorf("%d requests to the fake, want none", requests)
		}
		if got := statSecretsFile(t, p); !got.mtime.Equal(secretsOldTime) {
			t.Errorf("config.yml was changed")
		}
	})
	t.Run("nothing to fill", func(t *testing.T) {
		f := newLockboxFake(t)
		p := writeSecretsFile(t, t.TempDir(), "config.yml", "password: 'filled already'\n", 0o600)
		r := runSecrets(t, f.srv.URL, f, nil, p)
		if r.code != 0 || r.stdout != "pghac-secrets: nothing to fill: the files hold no placeholder\n" || r.stderr != "" {
			t.Errorf("exit status %d, stdout %q, stderr %q; want 0 and the nothing-to-fill line", r.code, r.stdout, r.stderr)
		}
		if requests, _ := f.counts(); requests != 0 {
			t.Errorf("%d requests to the fake, want none", requests)
		}
		if got := statSecretsFile(t, p); !got.mtime.Equal(secretsOldTime) {
			t.Errorf("config.yml was rewritten")
		}
	})
	t.Run("usage", func(t *testing.T) {
		r := runSecrets(t, "http://127.0.0.1:1", nil, nil)
		if r.code != 2 || !strings.Contains(r.stderr, "usage: secrets.py") {
			t.Errorf("no FILE: exit status %d, stderr %q; want 2 and the usage", r.code, r.stderr)
		}
	})
}

// TestSecretsScriptText: the script rides in user-data, which Terraform's templatefile()
// renders: no template sequence of its own, and text cloud-init writes as it is.
func TestSecretsScriptText(t *testing.T) {
	src, err := os.ReadFile("secrets.py")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(src, []byte("#!/usr/bin/python3\n")) {
		t.Errorf("secrets.py does not start with #!/usr/bin/python3")
	}
	for _, seq := range []string{"${", "%{"} {
		if n := bytes.Count(src, []byte(seq)); n != 0 {
			t.Errorf("secrets.py holds %q %d times: templatefile() would render it", seq, n)
		}
	}
	if !utf8.Valid(src) || bytes.ContainsAny(src, "\t\r") {
		t.Errorf("secrets.py is not UTF-8 without tabs and carriage returns")
	}
}

// TestSecretsScriptAttributes: the script asks the metadata service for the attributes the
// Terraform modules set (model's names), not for names of its own.
func TestSecretsScriptAttributes(t *testing.T) {
	for _, attr := range []string{model.MetadataSecretID, model.MetadataPayloadEndpoint} {
		if !strings.Contains(string(secretsScript), "'"+attr+"'") {
			t.Errorf("secrets.py does not read metadata attribute %q", attr)
		}
	}
}
