package lockbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// TokenFunc returns the IAM token to send as "Authorization: Bearer". It is called once
// per request, so it may refresh a token that is about to expire.
type TokenFunc func(ctx context.Context) (string, error)

// StaticToken is a TokenFunc that always returns token.
func StaticToken(token string) TokenFunc {
	return func(context.Context) (string, error) { return token, nil }
}

// Client calls Lockbox and the operation service.
type Client struct {
	// APIEndpoint serves Secret.AddVersion (in the cloud, APIEndpoint).
	APIEndpoint string
	// PayloadEndpoint serves Payload.Get (in the cloud, PayloadEndpoint). Empty means
	// APIEndpoint: the sandbox serves both on one address.
	PayloadEndpoint string
	// OperationEndpoint serves Operation.Get (in the cloud, OperationEndpoint). Empty
	// means APIEndpoint, as for PayloadEndpoint.
	OperationEndpoint string
	// HTTP is the client requests go through; nil means one with a 30-second timeout.
	HTTP *http.Client
	// Token gives the bearer token of every request.
	Token TokenFunc
	// PollInterval is how long AddVersion waits between two looks at an operation that is
	// not done; 0 means one second.
	PollInterval time.Duration
}

// NewCloud is a Client of Yandex Cloud's endpoints.
func NewCloud(token TokenFunc) *Client {
	return &Client{
		APIEndpoint:       APIEndpoint,
		PayloadEndpoint:   PayloadEndpoint,
		OperationEndpoint: OperationEndpoint,
		Token:             token,
	}
}

// defaultHTTP bounds a request whose context has no deadline: a stalled API must not hang
// a node's boot or an operator's command.
var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func httpClient(c *http.Client) *http.Client {
	if c == nil {
		return defaultHTTP
	}
	return c
}

// maxBody bounds what is read of an answer: a payload is at most 32 entries of 64 KiB.
const maxBody = 8 << 20

// Payload reads the current version of a secret: its entries by key (binary values as
// their bytes) and the version's id. A secret that does not exist or has no version yet
// is an error that IsNotFound recognizes.
func (c *Client) Payload(ctx context.Context, secretID string) (entries map[string]string, versionID string, err error) {
	return c.PayloadVersion(ctx, secretID, "")
}

// PayloadVersion is Payload of the given version; "" is the current one.
func (c *Client) PayloadVersion(ctx context.Context, secretID, versionID string) (map[string]string, string, error) {
	what := "read payload of secret " + secretID
	if versionID != "" {
		what += " version " + versionID
	}
	if err := checkID("secret", secretID); err != nil {
		return nil, "", fmt.Errorf("lockbox: %s: %w", what, err)
	}
	u := endpoint(c.PayloadEndpoint, c.APIEndpoint) + "/lockbox/v1/secrets/" + url.PathEscape(secretID) + "/payload"
	if versionID != "" {
		u += "?" + url.Values{"versionId": {versionID}}.Encode()
	}
	var p Payload
	if err := c.do(ctx, http.MethodGet, u, nil, nil, &p); err != nil {
		return nil, "", fmt.Errorf("lockbox: %s: %w", what, err)
	}
	out := make(map[string]string, len(p.Entries))
	for _, e := range p.Entries {
		// An entry with neither value is read as empty text: protojson writes a set
		// oneof member even when it is empty, so this is only a lenient reading.
		v, _ := e.Value()
		if _, dup := out[e.Key]; dup {
			return nil, "", fmt.Errorf("lockbox: %s: the answer has key %q twice", what, e.Key)
		}
		out[e.Key] = v
	}
	return out, p.VersionID, nil
}

// AddVersion adds a version to a secret setting each key of entries to its value (as text
// entries, sorted by key) and returns the new version's id once the operation is done.
// Lockbox applies the entries to the current version: a key of the current version that
// entries does not name keeps its value (use AddVersionChanges with RemoveEntry to drop it).
func (c *Client) AddVersion(ctx context.Context, secretID string, entries map[string]string, description string) (versionID string, err error) {
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	req := AddVersionRequest{Description: description, PayloadEntries: make([]Entry, 0, len(keys))}
	for _, k := range keys {
		req.PayloadEntries = append(req.PayloadEntries, TextEntry(k, entries[k]))
	}
	return c.AddVersionChanges(ctx, secretID, req)
}

// AddVersionChanges sends req as given and returns the new version's id once the
// operation is done, polling the operation service until then or until ctx ends.
func (c *Client) AddVersionChanges(ctx context.Context, secretID string, req AddVersionRequest) (string, error) {
	what := "add a version to secret " + secretID
	if err := checkRequest(secretID, req); err != nil {
		return "", fmt.Errorf("lockbox: %s: %w", what, err)
	}
	secrets := make([]string, 0, len(req.PayloadEntries))
	for _, e := range req.PayloadEntries {
		if v, ok := e.Value(); ok {
			secrets = append(secrets, v)
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("lockbox: %s: %w", what, err)
	}
	u := c.APIEndpoint + "/lockbox/v1/secrets/" + url.PathEscape(secretID) + ":addVersion"
	var op Operation
	if err := c.do(ctx, http.MethodPost, u, body, secrets, &op); err != nil {
		return "", fmt.Errorf("lockbox: %s: %w", what, err)
	}
	if !op.Done {
		if op.ID == "" {
			return "", fmt.Errorf("lockbox: %s: the operation is not done and has no id to wait on", what)
		}
		if err := c.wait(ctx, &op, secrets); err != nil {
			return "", fmt.Errorf("lockbox: %s: %w", what, err)
		}
	}
	if op.Error != nil {
		return "", fmt.Errorf("lockbox: %s: operation %s failed: %w", what, op.ID, &APIError{
			Code: op.Error.Code, Message: redact(op.Error.Message, secrets),
		})
	}
	id, err := addedVersion(op)
	if err != nil {
		return "", fmt.Errorf("lockbox: %s: operation %s: %w", what, op.ID, err)
	}
	return id, nil
}

// addedVersion reads the new version's id from a done operation: the response (a
// Version) names it, and so does the metadata, which is set from the start.
func addedVersion(op Operation) (string, error) {
	if len(op.Response) > 0 {
		var v Version
		if err := json.Unmarshal(op.Response, &v); err != nil {
			return "", fmt.Errorf("decode its response: %w", err)
		}
		if v.ID != "" {
			return v.ID, nil
		}
	}
	if len(op.Metadata) > 0 {
		var m AddVersionMetadata
		if err := json.Unmarshal(op.Metadata, &m); err != nil {
			return "", fmt.Errorf("decode its metadata: %w", err)
		}
		if m.VersionID != "" {
			return m.VersionID, nil
		}
	}
	return "", errors.New("it is done but names no version")
}

// wait polls the operation until it is done, replacing *op with the last answer.
func (c *Client) wait(ctx context.Context, op *Operation, secrets []string) error {
	every := c.PollInterval
	if every <= 0 {
		every = time.Second
	}
	u := endpoint(c.OperationEndpoint, c.APIEndpoint) + "/operations/" + url.PathEscape(op.ID)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("operation %s is not done: %w", op.ID, context.Cause(ctx))
		case <-t.C:
		}
		var next Operation
		if err := c.do(ctx, http.MethodGet, u, nil, secrets, &next); err != nil {
			return fmt.Errorf("wait for operation %s: %w", op.ID, err)
		}
		*op = next
		if op.Done {
			return nil
		}
		t.Reset(every)
	}
}

// do sends one request with the bearer token and decodes a 2xx answer into out. secrets
// are redacted from an error's message, as is the token.
func (c *Client) do(ctx context.Context, method, u string, body []byte, secrets []string, out any) error {
	if c.Token == nil {
		return errors.New("no token source")
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return fmt.Errorf("get a token: %w", err)
	}
	if tok == "" {
		return errors.New("get a token: it is empty")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return roundTrip(httpClient(c.HTTP), req, slices.Concat(secrets, []string{tok}), out)
}

// roundTrip sends req and decodes a 2xx JSON answer into out, or makes the APIError of
// any other answer.
func roundTrip(hc *http.Client, req *http.Request, secrets []string, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errorFromBody(resp.StatusCode, data, secrets)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode the answer (HTTP %d): %w", resp.StatusCode, decodeError(err))
	}
	return nil
}

func endpoint(e, fallback string) string {
	if e == "" {
		e = fallback
	}
	return strings.TrimSuffix(e, "/")
}

func checkID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("no %s id", what)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%s id longer than %d characters", what, MaxIDLength)
	case strings.ContainsAny(id, "/?#:"):
		return fmt.Errorf("%s id %q has a character ids never have", what, id)
	}
	return nil
}

// checkRequest applies AddVersion's documented limits. It names keys, never values.
func checkRequest(secretID string, req AddVersionRequest) error {
	if err := checkID("secret", secretID); err != nil {
		return err
	}
	if req.BaseVersionID != "" {
		if err := checkID("base version", req.BaseVersionID); err != nil {
			return err
		}
	}
	if len(req.PayloadEntries) > MaxEntries {
		return fmt.Errorf("%d entries; Lockbox takes at most %d per version", len(req.PayloadEntries), MaxEntries)
	}
	seen := make(map[string]bool, len(req.PayloadEntries))
	for _, e := range req.PayloadEntries {
		if !ValidKey(e.Key) {
			return fmt.Errorf("key %q: Lockbox keys are 1 to %d characters of [-_./\\@0-9a-zA-Z]", e.Key, MaxKeyLength)
		}
		if seen[e.Key] {
			return fmt.Errorf("key %q is given twice", e.Key)
		}
		seen[e.Key] = true
		if e.TextValue != nil && e.BinaryValue != nil {
			return fmt.Errorf("key %q has both a text and a binary value", e.Key)
		}
		if v, _ := e.Value(); len(v) > MaxValueLength {
			return fmt.Errorf("the value of key %q is %d bytes; Lockbox takes at most %d", e.Key, len(v), MaxValueLength)
		}
	}
	return nil
}
