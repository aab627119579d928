package cloudapi

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/pghac/pghac/internal/lockbox"
)

const (
	secretsPrefix    = "/lockbox/v1/secrets/"
	payloadSuffix    = "/payload"
	addVersionSuffix = ":addVersion"
	operationsPrefix = "/operations/"
)

// maxRequest bounds an addVersion body: 32 entries of 64 KiB, base64 included, fit.
const maxRequest = 4 << 20

// Lockbox serves Lockbox's Payload.Get and Secret.AddVersion, and the operation service's
// Operation.Get, on one address (the client's PayloadEndpoint and OperationEndpoint are
// left empty to use it).
func (s *Server) Lockbox() http.Handler { return s.logged("lockbox", http.HandlerFunc(s.serveLockbox)) }

func (s *Server) serveLockbox(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, secretsPrefix) && strings.HasSuffix(p, payloadSuffix):
		if methodIs(w, r, http.MethodGet) {
			s.payload(w, r, strings.TrimSuffix(strings.TrimPrefix(p, secretsPrefix), payloadSuffix))
		}
	case strings.HasPrefix(p, secretsPrefix) && strings.HasSuffix(p, addVersionSuffix):
		if methodIs(w, r, http.MethodPost) {
			s.addVersion(w, r, strings.TrimSuffix(strings.TrimPrefix(p, secretsPrefix), addVersionSuffix))
		}
	case strings.HasPrefix(p, operationsPrefix):
		if methodIs(w, r, http.MethodGet) {
			s.operation(w, r, strings.TrimPrefix(p, operationsPrefix))
		}
	default:
		writeStatus(w, lockbox.CodeNotFound, fmt.Sprintf("%s is not served by the sandbox's Lockbox (payload, addVersion and operations are)", p))
	}
}

func methodIs(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method == m {
		return true
	}
	w.Header().Set("Allow", m)
	writeStatusHTTP(w, http.StatusMethodNotAllowed, 12, "method "+r.Method+" is not allowed here")
	return false
}

// caller is who a request authenticated as.
type caller struct {
	operator bool
	addr     netip.Addr
	secrets  []string // the secrets a node may read
}

// authenticate checks the bearer token: the operator's, or a node token minted for the
// request's address by a machine that is still registered. Its permissions come from the
// machine's attributes now, not when the token was minted, so re-registering a machine
// (or a new machine at a reused address) changes what its tokens may read at once.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		writeStatus(w, lockbox.CodeUnauthenticated, "an Authorization: Bearer header is required")
		return caller{}, false
	}
	c, code, msg := s.identify(r, tok)
	if msg != "" {
		writeStatus(w, code, msg)
		return caller{}, false
	}
	return c, true
}

// identify is who tok, sent by r, authenticates as; msg says why not, with its gRPC code.
func (s *Server) identify(r *http.Request, tok string) (c caller, code int, msg string) {
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.operatorToken)) == 1 {
		return caller{operator: true}, 0, ""
	}
	addr, ok := remoteAddr(r)
	if !ok || !verifyNodeToken(s.key, tok, addr, s.now()) {
		return caller{}, lockbox.CodeUnauthenticated, "the token is invalid, expired, or was issued to another machine"
	}
	attrs, known, err := readMachine(s.dir, addr)
	if err != nil {
		return caller{}, lockbox.CodeInternal, "cannot read the registration of machine " + addr.String()
	}
	if !known {
		return caller{}, lockbox.CodeUnauthenticated, "machine " + addr.String() + " is no longer registered"
	}
	c = caller{addr: addr}
	for _, id := range strings.Split(attrs[SecretIDAttribute], ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.secrets = append(c.secrets, id)
		}
	}
	return c, 0, ""
}

// StorageAuth serves next only to requests whose lockbox.StorageTokenHeader holds the operator's token
// or a registered machine's, minted for the address the request comes from: the sandbox's
// files are read as Object Storage's private objects are, with the VM's service account
// token. Anything else gets 403, as from Object Storage.
func (s *Server) StorageAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimSpace(r.Header.Get(lockbox.StorageTokenHeader))
		if tok == "" {
			http.Error(w, "AccessDenied: a "+lockbox.StorageTokenHeader+" header is required", http.StatusForbidden)
			return
		}
		if _, _, msg := s.identify(r, tok); msg != "" {
			http.Error(w, "AccessDenied: "+msg, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mayRead models lockbox.payloadViewer: the operator on every secret, a node's service
// account on the secrets its machine's attribute names.
func (c caller) mayRead(secretID string) bool {
	return c.operator || slices.Contains(c.secrets, secretID)
}

func (c caller) name() string {
	if c.operator {
		return "the operator"
	}
	return "the service account of machine " + c.addr.String()
}

func validSecretID(w http.ResponseWriter, id string) bool {
	if secretIDPattern.MatchString(id) {
		return true
	}
	writeStatus(w, lockbox.CodeInvalidArgument, fmt.Sprintf("secret id %q is not 1 to 50 characters of [0-9A-Za-z_-]", id))
	return false
}

func (s *Server) payload(w http.ResponseWriter, r *http.Request, id string) {
	c, ok := s.authenticate(w, r)
	if !ok || !validSecretID(w, id) {
		return
	}
	// Permission comes before existence, so a node learns nothing of secrets it may not read.
	if !c.mayRead(id) {
		writeStatus(w, lockbox.CodePermissionDenied, "permission denied: "+c.name()+" may not read the payload of secret "+id)
		return
	}
	rec, err := readSecret(s.dir, id)
	if err != nil {
		writeStatus(w, lockbox.CodeInternal, err.Error())
		return
	}
	// A secret with no version is answered NOT_FOUND. The API reference documents no
	// error for it; NOT_FOUND is what gRPC's guidelines give for "the version asked for
	// does not exist", and it is what internal/lockbox's IsNotFound expects. The sandbox
	// cannot tell a secret never written from one Terraform made without a version (it
	// makes secrets on first write), so both get the same answer.
	if rec == nil || len(rec.Versions) == 0 {
		writeStatus(w, lockbox.CodeNotFound, "secret "+id+" has no version")
		return
	}
	v := &rec.Versions[len(rec.Versions)-1]
	if want := r.URL.Query().Get("versionId"); want != "" {
		if v = findVersion(rec, want); v == nil {
			writeStatus(w, lockbox.CodeNotFound, "secret "+id+" has no version "+want)
			return
		}
	}
	writeJSON(w, http.StatusOK, lockbox.Payload{VersionID: v.ID, Entries: v.Entries})
}

func findVersion(rec *secretRecord, id string) *versionRecord {
	for i := range rec.Versions {
		if rec.Versions[i].ID == id {
			return &rec.Versions[i]
		}
	}
	return nil
}

func (s *Server) addVersion(w http.ResponseWriter, r *http.Request, id string) {
	c, ok := s.authenticate(w, r)
	if !ok || !validSecretID(w, id) {
		return
	}
	// A node's service account is only a payloadViewer: it may not write, even its own secret.
	if !c.operator {
		writeStatus(w, lockbox.CodePermissionDenied, "permission denied: "+c.name()+" may not add versions to secret "+id)
		return
	}
	var req lockbox.AddVersionRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		// The decoder's message can quote the body, whose strings are values.
		writeStatus(w, lockbox.CodeInvalidArgument, "the body is not an AddVersionRequest")
		return
	}
	if msg := checkChanges(req); msg != "" {
		writeStatus(w, lockbox.CodeInvalidArgument, msg)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := readSecret(s.dir, id)
	if err != nil {
		writeStatus(w, lockbox.CodeInternal, err.Error())
		return
	}
	now := s.now().UTC()
	if rec == nil {
		// In the cloud the secret exists before pghac writes to it: Terraform makes it
		// (yandex_lockbox_secret, with no version) and binds the nodes' payloadViewer role
		// to it. The sandbox has no Terraform for it, so the first write makes it.
		rec = &secretRecord{ID: id, CreatedAt: now}
	}
	var base []lockbox.Entry
	switch {
	case req.BaseVersionID != "":
		b := findVersion(rec, req.BaseVersionID)
		if b == nil {
			writeStatus(w, lockbox.CodeNotFound, "secret "+id+" has no version "+req.BaseVersionID)
			return
		}
		base = b.Entries
	case len(rec.Versions) > 0:
		base = rec.Versions[len(rec.Versions)-1].Entries
	}
	vid, err := randomHex(8)
	if err != nil {
		writeStatus(w, lockbox.CodeInternal, "cannot make a version id")
		return
	}
	opID, err := randomHex(8)
	if err != nil {
		writeStatus(w, lockbox.CodeInternal, "cannot make an operation id")
		return
	}
	v := versionRecord{ID: "sbx" + vid, CreatedAt: now, Description: req.Description, Entries: applyChanges(base, req.PayloadEntries)}
	rec.Versions = append(rec.Versions, v)
	if err := writeSecret(s.dir, rec); err != nil {
		writeStatus(w, lockbox.CodeInternal, "cannot store secret "+id+": "+err.Error())
		return
	}
	op, err := doneOperation("sbxop"+opID, id, v)
	if err != nil {
		writeStatus(w, lockbox.CodeInternal, err.Error())
		return
	}
	s.ops[op.ID] = op
	writeJSON(w, http.StatusOK, op)
}

// checkChanges applies AddVersion's documented limits; its message names keys, never values.
func checkChanges(req lockbox.AddVersionRequest) string {
	if len(req.PayloadEntries) > lockbox.MaxEntries {
		return fmt.Sprintf("payloadEntries has %d elements; the maximum is %d", len(req.PayloadEntries), lockbox.MaxEntries)
	}
	seen := map[string]bool{}
	for _, e := range req.PayloadEntries {
		switch {
		case !lockbox.ValidKey(e.Key):
			return fmt.Sprintf("key %q must be 1 to %d characters of [-_./\\@0-9a-zA-Z]", e.Key, lockbox.MaxKeyLength)
		case seen[e.Key]:
			return fmt.Sprintf("key %q is given twice", e.Key)
		case e.TextValue != nil && e.BinaryValue != nil:
			return fmt.Sprintf("key %q has both textValue and binaryValue", e.Key)
		case e.TextValue != nil && len(*e.TextValue) > lockbox.MaxValueLength,
			len(e.BinaryValue) > lockbox.MaxValueLength:
			return fmt.Sprintf("the value of key %q is longer than %d", e.Key, lockbox.MaxValueLength)
		}
		seen[e.Key] = true
	}
	return ""
}

// applyChanges is AddVersion's documented merge: the base version's entries, with each
// change setting its key's value, or removing the key if it has no value. Sorted by key.
func applyChanges(base, changes []lockbox.Entry) []lockbox.Entry {
	byKey := make(map[string]lockbox.Entry, len(base)+len(changes))
	for _, e := range base {
		byKey[e.Key] = e
	}
	for _, e := range changes {
		if _, ok := e.Value(); ok {
			byKey[e.Key] = e
		} else {
			delete(byKey, e.Key)
		}
	}
	out := make([]lockbox.Entry, 0, len(byKey))
	for _, e := range byKey {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b lockbox.Entry) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func doneOperation(opID, secretID string, v versionRecord) (lockbox.Operation, error) {
	keys := make([]string, len(v.Entries))
	for i, e := range v.Entries {
		keys[i] = e.Key
	}
	meta, err := json.Marshal(lockbox.AddVersionMetadata{Type: lockbox.AddVersionMetadataType, SecretID: secretID, VersionID: v.ID})
	if err != nil {
		return lockbox.Operation{}, err
	}
	resp, err := json.Marshal(lockbox.Version{
		Type: lockbox.VersionType, ID: v.ID, SecretID: secretID, CreatedAt: v.CreatedAt,
		Description: v.Description, Status: "ACTIVE", PayloadEntryKeys: keys,
	})
	if err != nil {
		return lockbox.Operation{}, err
	}
	return lockbox.Operation{
		ID: opID, Description: "Add version", CreatedAt: v.CreatedAt, CreatedBy: "sandbox-operator",
		ModifiedAt: v.CreatedAt, Done: true, Metadata: meta, Response: resp,
	}, nil
}

func (s *Server) operation(w http.ResponseWriter, r *http.Request, id string) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	// Every operation here is an addVersion, which only the operator may make.
	if !c.operator {
		writeStatus(w, lockbox.CodePermissionDenied, "permission denied: "+c.name()+" may not read operation "+id)
		return
	}
	s.mu.Lock()
	op, found := s.ops[id]
	s.mu.Unlock()
	if !found {
		writeStatus(w, lockbox.CodeNotFound, "operation "+id+" not found")
		return
	}
	writeJSON(w, http.StatusOK, op)
}

// writeStatus answers an error as the cloud's REST gateway does: a google.rpc.Status
// with the code's HTTP status.
func writeStatus(w http.ResponseWriter, code int, msg string) {
	writeStatusHTTP(w, lockbox.HTTPStatus(code), code, msg)
}

func writeStatusHTTP(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, lockbox.Status{Code: code, Message: msg, Details: []json.RawMessage{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
