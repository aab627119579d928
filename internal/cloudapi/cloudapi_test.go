package cloudapi

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/lockbox"
)

var (
	node1 = netip.MustParseAddr("10.77.0.11")
	node2 = netip.MustParseAddr("10.77.0.12")
)

const (
	secretA = "e6qsecreta"
	secretB = "e6qsecretb"
	// password is a value that must never show in an answer's error or a log line.
	password = "correct-horse-battery-staple"
)

func newServer(t *testing.T) (*Server, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cloud-api")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

type req struct {
	method, path string
	from         netip.Addr
	token        string
	flavor       bool
	body         any
}

// serve sends one request to h as if it came from r.from (httptest.NewRequest sets
// RemoteAddr, which is what the handlers identify machines by).
func serve(t *testing.T, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	var body bytes.Buffer
	if r.body != nil {
		if err := json.NewEncoder(&body).Encode(r.body); err != nil {
			t.Fatal(err)
		}
	}
	hr := httptest.NewRequest(r.method, r.path, &body)
	if r.from.IsValid() {
		hr.RemoteAddr = netip.AddrPortFrom(r.from, 40000).String()
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.flavor {
		hr.Header.Set("Metadata-Flavor", "Google")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	return w
}

// status decodes an error answer and checks its HTTP status and gRPC code.
func wantStatus(t *testing.T, w *httptest.ResponseRecorder, httpStatus, code int) {
	t.Helper()
	if w.Code != httpStatus {
		t.Fatalf("HTTP %d (%s), want %d", w.Code, w.Body, httpStatus)
	}
	var st lockbox.Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatalf("error body %q is not a Status: %v", w.Body, err)
	}
	if st.Code != code || st.Message == "" || st.Details == nil {
		t.Errorf("status %+v, want code %d with a message and details []", st, code)
	}
}

func nodeTokenFor(t *testing.T, s *Server, from netip.Addr) string {
	t.Helper()
	w := serve(t, s.Metadata(), req{method: "GET", path: lockbox.MetadataTokenPath, from: from, flavor: true})
	if w.Code != 200 {
		t.Fatalf("token for %s: HTTP %d %s", from, w.Code, w.Body)
	}
	var tok lockbox.ServiceAccountToken
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" || !strings.HasPrefix(tok.AccessToken, "sandbox-node.") {
		t.Errorf("token answer %#v (expires_in %d)", tok, tok.ExpiresIn)
	}
	return tok.AccessToken
}

func addVersion(t *testing.T, s *Server, secret string, body lockbox.AddVersionRequest) lockbox.Version {
	t.Helper()
	w := serve(t, s.Lockbox(), req{method: "POST", path: "/lockbox/v1/secrets/" + secret + ":addVersion", token: s.operatorToken, body: body})
	if w.Code != 200 {
		t.Fatalf("addVersion: HTTP %d %s", w.Code, w.Body)
	}
	var op lockbox.Operation
	if err := json.Unmarshal(w.Body.Bytes(), &op); err != nil {
		t.Fatal(err)
	}
	var meta lockbox.AddVersionMetadata
	var v lockbox.Version
	if err := json.Unmarshal(op.Metadata, &meta); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(op.Response, &v); err != nil {
		t.Fatal(err)
	}
	if !op.Done || op.Error != nil || meta.Type != lockbox.AddVersionMetadataType || v.Type != lockbox.VersionType ||
		meta.SecretID != secret || v.SecretID != secret || meta.VersionID != v.ID || !strings.HasPrefix(v.ID, "sbx") {
		t.Errorf("operation %s: metadata %+v, response %+v", w.Body, meta, v)
	}
	if strings.Contains(w.Body.String(), password) {
		t.Error("the operation carries a value")
	}
	return v
}

func payload(t *testing.T, s *Server, secret, query, token string, from netip.Addr) (*httptest.ResponseRecorder, lockbox.Payload) {
	t.Helper()
	w := serve(t, s.Lockbox(), req{method: "GET", path: "/lockbox/v1/secrets/" + secret + "/payload" + query, token: token, from: from})
	var p lockbox.Payload
	if w.Code == 200 {
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
	}
	return w, p
}

func entries(p lockbox.Payload) map[string]string {
	m := map[string]string{}
	for _, e := range p.Entries {
		m[e.Key], _ = e.Value()
	}
	return m
}

func TestStateFilesAndModes(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "cloud-api")
	// An existing directory with a loose mode is tightened: it will hold every secret.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := RegisterMachine(dir, node1, map[string]string{SecretIDAttribute: secretA}); err != nil {
		t.Fatal(err)
	}
	addVersion(t, s, secretA, lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("pw", password)}})
	for path, want := range map[string]fs.FileMode{
		"":                             0o700 | fs.ModeDir,
		"secrets":                      0o700 | fs.ModeDir,
		"machines":                     0o700 | fs.ModeDir,
		"operator-token":               0o600,
		"token-key":                    0o600,
		"secrets/" + secretA + ".json": 0o600,
		"machines/10.77.0.11.json":     0o600,
	} {
		fi, err := os.Stat(filepath.Join(dir, path))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	// No temporary file is left behind.
	for _, d := range []string{dir, filepath.Join(dir, "secrets"), filepath.Join(dir, "machines")} {
		des, _ := os.ReadDir(d)
		for _, de := range des {
			if strings.HasPrefix(de.Name(), ".tmp-") {
				t.Errorf("left %s in %s", de.Name(), d)
			}
		}
	}
	tok, err := OperatorToken(dir)
	if err != nil || tok != s.operatorToken {
		t.Errorf("OperatorToken = %q, %v; want the server's", tok, err)
	}
	if _, err := OperatorToken(filepath.Join(parent, "never-started")); err == nil {
		t.Error("OperatorToken of a directory never started: no error")
	}
}

func TestPersistsAcrossServers(t *testing.T) {
	s1, dir := newServer(t)
	if err := RegisterMachine(dir, node1, map[string]string{SecretIDAttribute: secretA}); err != nil {
		t.Fatal(err)
	}
	v1 := addVersion(t, s1, secretA, lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("pw", password)}})
	tok := nodeTokenFor(t, s1, node1)

	s2, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s2.operatorToken != s1.operatorToken || !bytes.Equal(s2.key, s1.key) {
		t.Fatal("a second server on the same directory has other tokens")
	}
	// A node token minted by the first server works on the second (same key), and the
	// secret written through the first is there.
	w, p := payload(t, s2, secretA, "", tok, node1)
	if w.Code != 200 || p.VersionID != v1.ID || entries(p)["pw"] != password {
		t.Errorf("payload from the second server: HTTP %d %+v", w.Code, p)
	}
}

func TestMetadata(t *testing.T) {
	s, dir := newServer(t)
	md := s.Metadata()
	attr := lockbox.MetadataAttributePath + SecretIDAttribute

	// Without the header: 403 even for an unknown machine, as in the cloud.
	if w := serve(t, md, req{method: "GET", path: lockbox.MetadataTokenPath, from: node1}); w.Code != 403 {
		t.Errorf("no header: HTTP %d, want 403", w.Code)
	}
	if w := serve(t, md, req{method: "GET", path: lockbox.MetadataTokenPath, from: node1, flavor: true}); w.Code != 404 {
		t.Errorf("unknown machine: HTTP %d, want 404", w.Code)
	}

	if err := RegisterMachine(dir, node1, map[string]string{SecretIDAttribute: secretA, "user-data": "#cloud-config"}); err != nil {
		t.Fatal(err)
	}
	nodeTokenFor(t, s, node1)
	if w := serve(t, md, req{method: "GET", path: attr, from: node1}); w.Code != 403 {
		t.Errorf("attribute without the header: HTTP %d, want 403", w.Code)
	}
	w := serve(t, md, req{method: "GET", path: attr, from: node1, flavor: true})
	if w.Code != 200 || w.Body.String() != secretA || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("attribute: HTTP %d %q (%s)", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
	if w := serve(t, md, req{method: "GET", path: lockbox.MetadataAttributePath + "absent", from: node1, flavor: true}); w.Code != 404 {
		t.Errorf("absent attribute: HTTP %d, want 404", w.Code)
	}
	if w := serve(t, md, req{method: "GET", path: attr, from: node2, flavor: true}); w.Code != 404 {
		t.Errorf("another, unregistered machine: HTTP %d, want 404", w.Code)
	}
	if w := serve(t, md, req{method: "POST", path: attr, from: node1, flavor: true}); w.Code != 405 {
		t.Errorf("POST: HTTP %d, want 405", w.Code)
	}

	// Registration is read at request time: no restart.
	if err := RegisterMachine(dir, node1, map[string]string{SecretIDAttribute: secretB}); err != nil {
		t.Fatal(err)
	}
	if w := serve(t, md, req{method: "GET", path: attr, from: node1, flavor: true}); w.Body.String() != secretB {
		t.Errorf("after re-registering: %q, want %q", w.Body, secretB)
	}
	if err := ForgetMachine(dir, node1); err != nil {
		t.Fatal(err)
	}
	if w := serve(t, md, req{method: "GET", path: attr, from: node1, flavor: true}); w.Code != 404 {
		t.Errorf("forgotten machine: HTTP %d, want 404", w.Code)
	}
	if err := ForgetMachine(dir, node1); err != nil {
		t.Errorf("forgetting twice: %v", err)
	}
}

// An IPv4-mapped IPv6 caller (a dual-stack listener's view) is the same machine.
func TestMappedAddress(t *testing.T) {
	s, dir := newServer(t)
	if err := RegisterMachine(dir, node1, nil); err != nil {
		t.Fatal(err)
	}
	nodeTokenFor(t, s, netip.AddrFrom16(node1.As16()))
}

func TestNodeTokenBoundToAddress(t *testing.T) {
	s, dir := newServer(t)
	// Both machines may read secretA, so a refusal below is the token's binding, not a permission.
	for _, a := range []netip.Addr{node1, node2} {
		if err := RegisterMachine(dir, a, map[string]string{SecretIDAttribute: secretA}); err != nil {
			t.Fatal(err)
		}
	}
	addVersion(t, s, secretA, lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("pw", password)}})
	tok1 := nodeTokenFor(t, s, node1)

	if w, p := payload(t, s, secretA, "", tok1, node1); w.Code != 200 || entries(p)["pw"] != password {
		t.Fatalf("own token: HTTP %d %s", w.Code, w.Body)
	}
	w, _ := payload(t, s, secretA, "", tok1, node2)
	wantStatus(t, w, 401, lockbox.CodeUnauthenticated)

	tampered := tok1[:len(tok1)-2] + "AA"
	if tampered == tok1 {
		tampered = tok1[:len(tok1)-2] + "BB"
	}
	w, _ = payload(t, s, secretA, "", tampered, node1)
	wantStatus(t, w, 401, lockbox.CodeUnauthenticated)

	// A later expiry with the old MAC does not verify either.
	parts := strings.Split(tok1, ".")
	w, _ = payload(t, s, secretA, "", parts[0]+".99999999999."+parts[2], node1)
	wantStatus(t, w, 401, lockbox.CodeUnauthenticated)

	// Expired.
	s.now = func() time.Time { return time.Now().Add(NodeTokenTTL + time.Minute) }
	w, _ = payload(t, s, secretA, "", tok1, node1)
	wantStatus(t, w, 401, lockbox.CodeUnauthenticated)
	s.now = time.Now

	// A forgotten machine's token stops working.
	if err := ForgetMachine(dir, node1); err != nil {
		t.Fatal(err)
	}
	w, _ = payload(t, s, secretA, "", tok1, node1)
	wantStatus(t, w, 401, lockbox.CodeUnauthenticated)
}

func TestPermissions(t *testing.T) {
	s, dir := newServer(t)
	lb := s.Lockbox()
	if err := RegisterMachine(dir, node1, map[string]string{SecretIDAttribute: secretA}); err != nil {
		t.Fatal(err)
	}
	if err := RegisterMachine(dir, node2, map[string]string{"other": "x"}); err != nil {
		t.Fatal(err)
	}
	addVersion(t, s, secretA, lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("pw", password)}})
	addVersion(t, s, secretB, lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("pw", password)}})
	tok1, tok2 := nodeTokenFor(t, s, node1), nodeTokenFor(t, s, node2)

	// The operator reads anything, from anywhere.
	for _, sec := range []string{secretA, secretB} {
		if w, _ := payload(t, s, sec, "", s.operatorToken, node2); w.Code != 200 {
			t.Errorf("operator reads %s: HTTP %d", sec, w.Code)
		}
	}
	// No token, another scheme, an unknown token.
	for _, tok := range []string{"", "sandbox-operator.guess", "t1.something"} {
		w, _ := payload(t, s, secretA, "", tok, node1)
		wantStatus(t, w, 401, lockbox.CodeUnauthenticated)
	}
	hr := httptest.NewRequest("GET", "/lockbox/v1/secrets/"+secretA+"/payload", nil)
	hr.Header.Set("Authorization", "Basic "+s.operatorToken)
	w := httptest.NewRecorder()
	lb.ServeHTTP(w, hr)
	wantStatus(t, w, 401, lockbox.CodeUnauthenticated)

	// A node reads its secret only; not another one, existing or not.
	if w, _ := payload(t, s, secretA, "", tok1, node1); w.Code != 200 {
		t.Errorf("node reads its secret: HTTP %d %s", w.Code, w.Body)
	}
	for _, sec := range []string{secretB, "e6qnosuchsecret"} {
		w, _ := payload(t, s, sec, "", tok1, node1)
		wantStatus(t, w, 403, lockbox.CodePermissionDenied)
	}
	// A machine with no attribute reads nothing.
	w, _ = payload(t, s, secretA, "", tok2, node2)
	wantStatus(t, w, 403, lockbox.CodePermissionDenied)

	// A node may not write, not even its own secret, nor read operations.
	w = serve(t, lb, req{method: "POST", path: "/lockbox/v1/secrets/" + secretA + ":addVersion", token: tok1, from: node1,
		body: lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("pw", "x")}}})
	wantStatus(t, w, 403, lockbox.CodePermissionDenied)
	w = serve(t, lb, req{method: "GET", path: "/operations/anything", token: tok1, from: node1})
	wantStatus(t, w, 403, lockbox.CodePermissionDenied)

	// Several secrets in the attribute.
	if err := RegisterMachine(dir, node2, map[string]string{SecretIDAttribute: secretA + ", " + secretB}); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{secretA, secretB} {
		if w, _ := payload(t, s, sec, "", tok2, node2); w.Code != 200 {
			t.Errorf("node2 reads %s after re-registering: HTTP %d", sec, w.Code)
		}
	}
}

func TestVersions(t *testing.T) {
	s, _ := newServer(t)
	op := s.operatorToken

	// A secret never written (in the cloud: made by Terraform without a version) is NOT_FOUND.
	w, _ := payload(t, s, secretA, "", op, node1)
	wantStatus(t, w, 404, lockbox.CodeNotFound)

	v1 := addVersion(t, s, secretA, lockbox.AddVersionRequest{Description: "first", PayloadEntries: []lockbox.Entry{
		lockbox.TextEntry("keep", "k1"), lockbox.TextEntry("change", "c1"), lockbox.TextEntry("drop", "d1"),
	}})
	// Changes apply to the current version: a key not named is kept, one without a value is removed.
	v2 := addVersion(t, s, secretA, lockbox.AddVersionRequest{Description: "second", PayloadEntries: []lockbox.Entry{
		lockbox.TextEntry("change", "c2"), lockbox.RemoveEntry("drop"), {Key: "bin", BinaryValue: []byte{0, 1, 2}},
	}})
	if strings.Join(v2.PayloadEntryKeys, ",") != "bin,change,keep" {
		t.Errorf("v2 keys %v", v2.PayloadEntryKeys)
	}
	_, p := payload(t, s, secretA, "", op, node1)
	if p.VersionID != v2.ID || len(p.Entries) != 3 {
		t.Fatalf("current payload %v", p)
	}
	got := entries(p)
	if got["keep"] != "k1" || got["change"] != "c2" || got["bin"] != "\x00\x01\x02" {
		t.Errorf("current payload %q", got)
	}
	if _, ok := got["drop"]; ok {
		t.Error("a removed key is still there")
	}
	_, p = payload(t, s, secretA, "?versionId="+v1.ID, op, node1)
	if p.VersionID != v1.ID || entries(p)["change"] != "c1" || entries(p)["drop"] != "d1" {
		t.Errorf("version 1 payload %v", p)
	}
	w, _ = payload(t, s, secretA, "?versionId=sbxnosuch", op, node1)
	wantStatus(t, w, 404, lockbox.CodeNotFound)

	// An explicit base version.
	v3 := addVersion(t, s, secretA, lockbox.AddVersionRequest{BaseVersionID: v1.ID, PayloadEntries: []lockbox.Entry{lockbox.TextEntry("new", "n")}})
	if strings.Join(v3.PayloadEntryKeys, ",") != "change,drop,keep,new" {
		t.Errorf("v3 keys %v", v3.PayloadEntryKeys)
	}
	w = serve(t, s.Lockbox(), req{method: "POST", path: "/lockbox/v1/secrets/" + secretA + ":addVersion", token: op,
		body: lockbox.AddVersionRequest{BaseVersionID: "sbxnosuch"}})
	wantStatus(t, w, 404, lockbox.CodeNotFound)

	// The operation can be read back.
	w = serve(t, s.Lockbox(), req{method: "POST", path: "/lockbox/v1/secrets/" + secretB + ":addVersion", token: op,
		body: lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("a", "b")}}})
	var opAns lockbox.Operation
	if err := json.Unmarshal(w.Body.Bytes(), &opAns); err != nil {
		t.Fatal(err)
	}
	w = serve(t, s.Lockbox(), req{method: "GET", path: "/operations/" + opAns.ID, token: op})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"done":true`) {
		t.Errorf("operation: HTTP %d %s", w.Code, w.Body)
	}
	w = serve(t, s.Lockbox(), req{method: "GET", path: "/operations/sbxopnosuch", token: op})
	wantStatus(t, w, 404, lockbox.CodeNotFound)
}

func TestInvalidRequests(t *testing.T) {
	s, dir := newServer(t)
	lb := s.Lockbox()
	op := s.operatorToken
	post := func(path string, body any) *httptest.ResponseRecorder {
		return serve(t, lb, req{method: "POST", path: path, token: op, body: body})
	}
	for name, body := range map[string]any{
		"bad key":       lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("has space", password)}},
		"duplicate":     lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("k", password), lockbox.TextEntry("k", password)}},
		"both values":   map[string]any{"payloadEntries": []any{map[string]any{"key": "k", "textValue": password, "binaryValue": "AA=="}}},
		"unknown field": map[string]any{"payloadEntries": []any{}, "password": password},
		"not json":      password,
	} {
		w := post("/lockbox/v1/secrets/"+secretA+":addVersion", body)
		wantStatus(t, w, 400, lockbox.CodeInvalidArgument)
		if strings.Contains(w.Body.String(), password) {
			t.Errorf("%s: the error quotes the value: %s", name, w.Body)
		}
	}
	// Secret ids that would escape secrets/ are refused.
	for _, id := range []string{"..", "a.b", "..%2Fmachines%2Fx"} {
		w := post("/lockbox/v1/secrets/"+id+":addVersion", lockbox.AddVersionRequest{})
		wantStatus(t, w, 400, lockbox.CodeInvalidArgument)
	}
	if des, _ := os.ReadDir(filepath.Join(dir, "secrets")); len(des) != 0 {
		t.Errorf("invalid requests wrote %d files", len(des))
	}
	w := serve(t, lb, req{method: "DELETE", path: "/lockbox/v1/secrets/" + secretA + "/payload", token: op})
	if w.Code != 405 {
		t.Errorf("DELETE payload: HTTP %d", w.Code)
	}
	w = serve(t, lb, req{method: "GET", path: "/lockbox/v1/secrets/" + secretA, token: op})
	wantStatus(t, w, 404, lockbox.CodeNotFound)
}

// Whatever happens, no value and no token reaches the log.
func TestLogCarriesNoSecrets(t *testing.T) {
	s, dir := newServer(t)
	var buf bytes.Buffer
	s.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	if err := RegisterMachine(dir, node1, map[string]string{SecretIDAttribute: secretA}); err != nil {
		t.Fatal(err)
	}
	addVersion(t, s, secretA, lockbox.AddVersionRequest{PayloadEntries: []lockbox.Entry{lockbox.TextEntry("pw", password)}})
	tok := nodeTokenFor(t, s, node1)
	payload(t, s, secretA, "", tok, node1)
	payload(t, s, secretA, "", tok, node2)
	serve(t, s.Lockbox(), req{method: "POST", path: "/lockbox/v1/secrets/" + secretA + ":addVersion", token: op(s), body: password})
	log := buf.String()
	if strings.Count(log, "\n") < 5 {
		t.Fatalf("expected a line per request, got:\n%s", log)
	}
	for _, secret := range []string{password, tok, s.operatorToken} {
		if strings.Contains(log, secret) {
			t.Errorf("the log has a secret:\n%s", log)
		}
	}
	if !strings.Contains(log, "status=403") && !strings.Contains(log, "status=401") {
		t.Errorf("the log does not show the refused request:\n%s", log)
	}
}

func op(s *Server) string { return s.operatorToken }

// TestStorageAuth: a private object is served to a registered machine's token from its own
// address, and to the operator's; nothing else gets it, and a refusal names no token.
func TestStorageAuth(t *testing.T) {
	s, dir := newServer(t)
	if err := RegisterMachine(dir, node1, nil); err != nil {
		t.Fatal(err)
	}
	const object = "a build"
	h := s.StorageAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(object)) }))
	get := func(token string, from netip.Addr) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/pghac-backend", nil)
		r.RemoteAddr = netip.AddrPortFrom(from, 40000).String()
		if token != "" {
			r.Header.Set(lockbox.StorageTokenHeader, token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tok := nodeTokenFor(t, s, node1)
	for _, c := range []struct {
		name  string
		token string
		from  netip.Addr
		want  int
	}{
		{"the machine's token", tok, node1, 200},
		{"the operator's token", op(s), node2, 200},
		{"no token", "", node1, 403},
		{"the token from another address", tok, node2, 403},
		{"a made-up token", "sandbox-node.x.y", node1, 403},
	} {
		w := get(c.token, c.from)
		if w.Code != c.want || (c.want == 200) != (w.Body.String() == object) {
			t.Errorf("%s: HTTP %d %q, want %d", c.name, w.Code, w.Body, c.want)
		}
		if c.token != "" && strings.Contains(w.Body.String(), c.token) {
			t.Errorf("%s: the answer shows the token", c.name)
		}
	}
	// Bearer tokens are Lockbox's way; Object Storage's is its own header.
	r := httptest.NewRequest("GET", "/pghac-backend", nil)
	r.RemoteAddr = netip.AddrPortFrom(node1, 40000).String()
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 403 {
		t.Errorf("a bearer token: HTTP %d, want 403", w.Code)
	}
	if err := ForgetMachine(dir, node1); err != nil {
		t.Fatal(err)
	}
	if w := get(tok, node1); w.Code != 403 {
		t.Errorf("a forgotten machine's token: HTTP %d, want 403", w.Code)
	}
}
