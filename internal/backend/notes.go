package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Paging limits of GET /notes/.
const (
	defaultTake = 20
	maxTake     = 1000
)

// note is a note as the API shows it.
type note struct {
	ID        int64  `json:"id"`
	Text      string `json:"text"`
	Completed bool   `json:"completed"`
}

// notes serves /notes/: GET lists, POST creates.
func (s *Server) notes(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.listNotes(w, r)
	case http.MethodPost:
		s.createNote(w, r)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// note serves /notes/{id}/.
func (s *Server) note(w http.ResponseWriter, r *http.Request, rawID string) {
	var h func(http.ResponseWriter, *http.Request, int64)
	switch r.Method {
	case http.MethodGet:
		h = s.getNote
	case http.MethodPut:
		h = s.putNote
	case http.MethodPatch:
		h = s.patchNote
	case http.MethodDelete:
		h = s.deleteNote
	default:
		methodNotAllowed(w, "GET, PUT, PATCH, DELETE")
		return
	}
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("The note id must be an integer, not %s.", quoteInput(rawID)))
		return
	}
	h(w, r, id)
}

func (s *Server) listNotes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	skip, msg := intParam(q, "skip", 0, 0, -1)
	if msg == "" {
		var take int64
		take, msg = intParam(q, "take", defaultTake, 1, maxTake)
		if msg == "" {
			s.queryNotes(w, r, skip, take)
			return
		}
	}
	writeError(w, http.StatusUnprocessableEntity, msg)
}

func (s *Server) queryNotes(w http.ResponseWriter, r *http.Request, skip, take int64) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	list := []note{} // [] rather than null when there are none
	err := s.read.do(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT id, text, completed FROM notes ORDER BY id LIMIT $1 OFFSET $2`, take, skip)
		if err != nil {
			return err
		}
		list, err = pgx.AppendRows(list, rows, pgx.RowToStructByPos[note])
		return err
	})
	if err != nil {
		s.dbError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getNote(w http.ResponseWriter, r *http.Request, id int64) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var n note
	err := s.read.do(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT id, text, completed FROM notes WHERE id = $1`, id).Scan(&n.ID, &n.Text, &n.Completed)
	})
	s.answer(w, http.StatusOK, id, n, err)
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request) {
	in, ok := readNoteIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var n note
	err := s.write.do(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `INSERT INTO notes (text, completed) VALUES ($1, $2) RETURNING id, text, completed`,
			in.text, in.completed).Scan(&n.ID, &n.Text, &n.Completed)
	})
	s.answer(w, http.StatusCreated, 0, n, err)
}

func (s *Server) putNote(w http.ResponseWriter, r *http.Request, id int64) {
	in, ok := readNoteIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var n note
	err := s.write.do(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `UPDATE notes SET text = $1, completed = $2, mdate = now() WHERE id = $3 RETURNING id, text, completed`,
			in.text, in.completed, id).Scan(&n.ID, &n.Text, &n.Completed)
	})
	s.answer(w, http.StatusOK, id, n, err)
}

// completion is PATCH's answer.
type completion struct {
	ID        int64 `json:"id"`
	Completed bool  `json:"completed"`
}

func (s *Server) patchNote(w http.ResponseWriter, r *http.Request, id int64) {
	fields, ok := readObject(w, r)
	if !ok {
		return
	}
	completed, present, msg := boolField(fields, "completed")
	if msg == "" && !present {
		msg = `The field "completed" (a boolean) is required.`
	}
	if msg != "" {
		writeError(w, http.StatusUnprocessableEntity, msg)
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var out completion
	err := s.write.do(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `UPDATE notes SET completed = $1, mdate = now() WHERE id = $2 RETURNING id, completed`,
			completed, id).Scan(&out.ID, &out.Completed)
	})
	s.answer(w, http.StatusOK, id, out, err)
}

func (s *Server) deleteNote(w http.ResponseWriter, r *http.Request, id int64) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var deleted int64
	err := s.write.do(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM notes WHERE id = $1`, id)
		deleted = tag.RowsAffected()
		return err
	})
	if err == nil && deleted == 0 {
		err = pgx.ErrNoRows
	}
	s.answer(w, http.StatusOK, id, map[string]string{"message": fmt.Sprintf("Note with id: %d deleted successfully!", id)}, err)
}

// answer writes v with status, or the response err calls for: 404 for a missing note.
func (s *Server) answer(w http.ResponseWriter, status int, id int64, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, status, v)
	case errors.Is(err, pgx.ErrNoRows):
		writeError(w, http.StatusNotFound, fmt.Sprintf("Note with id: %d not found.", id))
	default:
		s.dbError(w, err)
	}
}

// dbError answers a database error as classify says, and logs the unexpected ones (rarely).
func (s *Server) dbError(w http.ResponseWriter, err error) {
	f := classify(err, s.cfg.RequestTimeout.String())
	if f.unexpected && s.unexpectedLog.allow(time.Now()) {
		s.log.Error("unexpected database error (a 500; further ones are not logged for 10 s)", "error", err.Error())
	}
	writeError(w, f.status, f.detail)
}

// requestContext bounds a request's database work by the request timeout.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
}

// noteIn is the body of POST and PUT: {"text": "...", "completed": false}.
type noteIn struct {
	text      string
	completed bool
}

// readNoteIn reads a POST or PUT body; on failure it has answered.
func readNoteIn(w http.ResponseWriter, r *http.Request) (noteIn, bool) {
	fields, ok := readObject(w, r)
	if !ok {
		return noteIn{}, false
	}
	var in noteIn
	var present bool
	var msg string
	in.text, present, msg = stringField(fields, "text")
	if msg == "" && !present {
		msg = `The field "text" (a string) is required.`
	}
	if msg == "" && strings.ContainsRune(in.text, 0) {
		msg = `The field "text" must not contain NUL characters.`
	}
	if msg == "" {
		in.completed, _, msg = boolField(fields, "completed")
	}
	if msg != "" {
		writeError(w, http.StatusUnprocessableEntity, msg)
		return noteIn{}, false
	}
	return in, true
}

// readObject reads a body of at most MaxBodyBytes that must be one JSON object, and returns
// its fields; on failure it has answered (413 too large, 422 not an object).
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", MaxBodyBytes))
		} else {
			writeError(w, http.StatusBadRequest, "The request body could not be read.")
		}
		return nil, false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		writeError(w, http.StatusUnprocessableEntity, "The request body is empty: it must be a JSON object.")
		return nil, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			writeError(w, http.StatusUnprocessableEntity, "The request body must be a JSON object, not a JSON "+typeErr.Value+".")
		} else {
			writeError(w, http.StatusUnprocessableEntity, "The request body is not valid JSON: "+err.Error()+".")
		}
		return nil, false
	}
	if fields == nil { // the body was null
		writeError(w, http.StatusUnprocessableEntity, "The request body must be a JSON object, not null.")
		return nil, false
	}
	return fields, true
}

// stringField decodes fields[name] as a string. msg is a 422's detail when it is not one.
func stringField(fields map[string]json.RawMessage, name string) (v string, present bool, msg string) {
	raw, ok := fields[name]
	if !ok {
		return "", false, ""
	}
	if string(raw) == "null" || json.Unmarshal(raw, &v) != nil {
		return "", true, fmt.Sprintf("The field %q must be a string, not %s.", name, jsonKind(raw))
	}
	return v, true, ""
}

// boolField decodes fields[name] as a boolean. msg is a 422's detail when it is not one.
func boolField(fields map[string]json.RawMessage, name string) (v bool, present bool, msg string) {
	raw, ok := fields[name]
	if !ok {
		return false, false, ""
	}
	if string(raw) == "null" || json.Unmarshal(raw, &v) != nil {
		return false, true, fmt.Sprintf("The field %q must be a boolean, not %s.", name, jsonKind(raw))
	}
	return v, true, ""
}

// jsonKind names the kind of a JSON value for an error message.
func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// intParam reads query parameter name as an integer of at least lo and at most hi (no
// limit when hi < lo), def when absent. msg is a 422's detail when it is not one.
func intParam(q url.Values, name string, def, lo, hi int64) (v int64, msg string) {
	vs, ok := q[name]
	if !ok || len(vs) == 0 {
		return def, ""
	}
	v, err := strconv.ParseInt(vs[0], 10, 64)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("The query parameter %s must be an integer, not %s.", name, quoteInput(vs[0]))
	case hi < lo && v < lo:
		return 0, fmt.Sprintf("The query parameter %s must be at least %d, not %d.", name, lo, v)
	case hi >= lo && (v < lo || v > hi):
		return 0, fmt.Sprintf("The query parameter %s must be between %d and %d, not %d.", name, lo, hi, v)
	}
	return v, ""
}

// quoteInput quotes a client's value for an error message, cut to 64 bytes.
func quoteInput(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}
