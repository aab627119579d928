package lockbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testToken  = "t1.test-bearer-token-value"
	testSecret = "e6qsecret0001"
	// secretValue is a value that must never show in an error.
	secretValue = "hunter2-the-password"
)

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newClient(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Client{APIEndpoint: srv.URL, HTTP: srv.Client(), Token: StaticToken(testToken), PollInterval: time.Millisecond}
}

// assertClean fails if err's text has any of the secrets.
func assertClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q leaks %q", err, s)
		}
	}
}

func TestPayload(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/lockbox/v1/secrets/"+testSecret+"/payload" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("Authorization = %q", got)
		}
		if got := r.URL.Query().Get("versionId"); got != "" && got != "v1" {
			t.Errorf("versionId = %q", got)
		}
		// Raw JSON as the API writes it: binary values are standard base64.
		fmt.Fprintf(w, `{"versionId":"v2","entries":[{"key":"a","textValue":"alpha"},{"key":"b","binaryValue":%q},{"key":"empty","textValue":""}]}`,
			base64.StdEncoding.EncodeToString([]byte("b\x00inary")))
	}))
	got, ver, err := c.Payload(context.Background(), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if ver != "v2" {
		t.Errorf("version = %q, want v2", ver)
	}
	want := map[string]string{"a": "alpha", "b": "b\x00inary", "empty": ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
	if _, _, err := c.PayloadVersion(context.Background(), testSecret, "v1"); err != nil {
		t.Fatal(err)
	}
}

func TestPayloadDuplicateKey(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"versionId":"v","entries":[{"key":"a","textValue":"x1x1x1"},{"key":"a","textValue":"y2y2y2"}]}`)
	}))
	_, _, err := c.Payload(context.Background(), testSecret)
	assertClean(t, err, "x1x1x1", "y2y2y2")
	if !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("error %q does not name the key", err)
	}
}

func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		status         int
		body           string
		code           int
		notFound, deny bool
	}{
		{"not found", 404, `{"code":5,"message":"Secret not found","details":[]}`, 5, true, false},
		{"denied", 403, `{"code":7,"message":"Permission denied","details":[]}`, 7, false, true},
		{"unauthenticated", 401, `{"code":16,"message":"The token is invalid","details":[]}`, 16, false, false},
		{"html page", 502, `<html>bad gateway ` + testToken + `</html>`, 0, false, false},
		{"plain 404", 404, `not here`, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			_, _, err := c.Payload(context.Background(), testSecret)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an APIError", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code {
				t.Errorf("status, code = %d, %d; want %d, %d", ae.Status, ae.Code, tc.status, tc.code)
			}
			if IsNotFound(err) != tc.notFound || IsPermissionDenied(err) != tc.deny {
				t.Errorf("IsNotFound, IsPermissionDenied = %v, %v; want %v, %v", IsNotFound(err), IsPermissionDenied(err), tc.notFound, tc.deny)
			}
			msg := err.Error()
			for _, want := range []string{testSecret, fmt.Sprintf("HTTP %d", tc.status)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if tc.code != 0 && !strings.Contains(msg, CodeName(tc.code)) {
				t.Errorf("error %q does not name the code", msg)
			}
			assertClean(t, err, testToken, "<html>")
		})
	}
}

// A server that echoes the request (token and values) in its error message must not get
// them into the error.
func TestErrorsRedactTokenAndValues(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		writeJSON(w, 400, Status{Code: 3, Message: "bad request " + r.Header.Get("Authorization") + " " + string(body)})
	}))
	_, err := c.AddVersion(context.Background(), testSecret, map[string]string{"password": secretValue}, "rotate")
	assertClean(t, err, testToken, secretValue)
	if !strings.Contains(err.Error(), "<redacted>") || !strings.Contains(err.Error(), "password") {
		t.Errorf("error %q: want the key kept and the secrets redacted", err)
	}
	_, _, err = c.Payload(context.Background(), testSecret)
	assertClean(t, err, testToken)
}

func TestAddVersionDone(t *testing.T) {
	var got AddVersionRequest
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/lockbox/v1/secrets/"+testSecret+":addVersion" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		meta, _ := json.Marshal(AddVersionMetadata{Type: AddVersionMetadataType, SecretID: testSecret, VersionID: "v9"})
		resp, _ := json.Marshal(Version{Type: VersionType, ID: "v9", SecretID: testSecret, PayloadEntryKeys: []string{"a", "b"}})
		writeJSON(w, 200, Operation{ID: "op1", Done: true, Metadata: meta, Response: resp})
	}))
	id, err := c.AddVersion(context.Background(), testSecret, map[string]string{"b": "2", "a": "1", "c": ""}, "pghac")
	if err != nil {
		t.Fatal(err)
	}
	if id != "v9" {
		t.Errorf("version = %q, want v9", id)
	}
	if got.Description != "pghac" || got.BaseVersionID != "" || len(got.PayloadEntries) != 3 {
		t.Fatalf("request = %+v", got)
	}
	for i, k := range []string{"a", "b", "c"} {
		e := got.PayloadEntries[i]
		if e.Key != k || e.TextValue == nil {
			t.Errorf("entry %d = %v, want text entry %q (sorted)", i, e, k)
		}
	}
	if *got.PayloadEntries[2].TextValue != "" {
		t.Error("an empty value must be sent as textValue \"\", not dropped (that would remove the key)")
	}
}

// The operation is not done at first: AddVersion polls the operation endpoint.
func TestAddVersionPolls(t *testing.T) {
	var polls atomic.Int32
	meta, _ := json.Marshal(AddVersionMetadata{Type: AddVersionMetadataType, SecretID: testSecret, VersionID: "v3"})
	ops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/operations/op7" || r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("poll %s with %q", r.URL.Path, r.Header.Get("Authorization"))
		}
		done := polls.Add(1) >= 3
		writeJSON(w, 200, Operation{ID: "op7", Done: done, Metadata: meta})
	}))
	defer ops.Close()
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/operations/") {
			t.Error("polled the Lockbox endpoint, not the operation endpoint")
		}
		writeJSON(w, 200, Operation{ID: "op7", Metadata: meta})
	}))
	c.OperationEndpoint = ops.URL
	// Bounded, so that polling the wrong endpoint fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := c.AddVersion(ctx, testSecret, map[string]string{"k": "v"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if id != "v3" || polls.Load() != 3 {
		t.Errorf("version %q after %d polls; want v3 after 3", id, polls.Load())
	}
}

func TestAddVersionWaitBoundedByContext(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, Operation{ID: "slow"})
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.AddVersion(ctx, testSecret, map[string]string{"k": secretValue}, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's deadline", err)
	}
	assertClean(t, err, secretValue, testToken)
}

func TestAddVersionOperationError(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/operations/") {
			writeJSON(w, 200, Operation{ID: "op", Done: true, Error: &Status{Code: 9, Message: "secret is not active; value " + secretValue}})
			return
		}
		writeJSON(w, 200, Operation{ID: "op"})
	}))
	_, err := c.AddVersion(context.Background(), testSecret, map[string]string{"k": secretValue}, "")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != CodeFailedPrecondition || ae.Status != 0 {
		t.Fatalf("error %v, want a FAILED_PRECONDITION operation error", err)
	}
	assertClean(t, err, secretValue)
	if !strings.Contains(err.Error(), testSecret) || !strings.Contains(err.Error(), "operation op") {
		t.Errorf("error %q does not name the secret and operation", err)
	}
}

func TestAddVersionChecksRequest(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("an invalid request was sent")
	}))
	many := map[string]string{}
	for i := range MaxEntries + 1 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	for name, entries := range map[string]map[string]string{
		"bad key":    {"has space": secretValue},
		"empty key":  {"": secretValue},
		"too many":   many,
		"long value": {"big": strings.Repeat("x", MaxValueLength+1)},
	} {
		_, err := c.AddVersion(context.Background(), testSecret, entries, "")
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		assertClean(t, err, secretValue, strings.Repeat("x", 64))
	}
	if _, err := c.AddVersion(context.Background(), "a/b", map[string]string{"k": "v"}, ""); err == nil {
		t.Error("a secret id with a slash was accepted")
	}
	_, err := c.AddVersionChanges(context.Background(), testSecret, AddVersionRequest{PayloadEntries: []Entry{{Key: "k", TextValue: new("a"), BinaryValue: []byte("b")}}})
	if err == nil {
		t.Error("an entry with both values was accepted")
	}
}

func TestTokenErrors(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request was sent without a token")
	}))
	c.Token = func(context.Context) (string, error) { return "", errors.New("metadata service unreachable") }
	if _, _, err := c.Payload(context.Background(), testSecret); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("error %v", err)
	}
	c.Token = StaticToken("")
	if _, _, err := c.Payload(context.Background(), testSecret); err == nil {
		t.Error("an empty token was sent")
	}
}

func TestEntryHidesValue(t *testing.T) {
	e := TextEntry("password", secretValue)
	p := Payload{VersionID: "v", Entries: []Entry{e, {Key: "bin", BinaryValue: []byte(secretValue)}}}
	for _, s := range []string{fmt.Sprint(e), fmt.Sprintf("%v", p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", e), fmt.Sprintf("%s", []Entry{e})} {
		if strings.Contains(s, secretValue) {
			t.Errorf("%q shows the value", s)
		}
	}
	tok := ServiceAccountToken{AccessToken: testToken, ExpiresIn: 60, TokenType: "Bearer"}
	if s := fmt.Sprintf("%v %+v %#v", tok, tok, tok); strings.Contains(s, testToken) {
		t.Errorf("%q shows the token", s)
	}
}

func TestEntryJSON(t *testing.T) {
	b, err := json.Marshal([]Entry{TextEntry("t", ""), RemoveEntry("r"), {Key: "b", BinaryValue: []byte{0xff}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"key":"t","textValue":""},{"key":"r"},{"key":"b","binaryValue":"/w=="}]`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

// A malformed answer is reported without quoting it.
func TestDecodeErrorsQuoteNothing(t *testing.T) {
	for _, body := range []string{
		`{"versionId":"v","entries":[{"key":"a","textValue":"` + secretValue + `"}]`, // truncated
		`{"versionId":"v","entries":[{"key":"a","textValue":` + secretValue + `}]}`,  // unquoted
		`{"versionId":"v","entries":[{"key":"a","textValue":7}]}`,
	} {
		c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		_, _, err := c.Payload(context.Background(), testSecret)
		assertClean(t, err, secretValue, "hunter", "'h'")
	}
}
