package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pghac/pghac/internal/backend/pgtest"
)

// TestAPI runs every route against PostgreSQL through PgBouncer in transaction mode, as
// the nodes do.
func TestAPI(t *testing.T) {
	pg := newDB(t)
	pb := newBouncer(t, pg)
	s := startServer(t, pb, pb, patient)
	waitReady(t, s)
	u := s.URL

	var created note
	t.Run("create with the seed's body", func(t *testing.T) {
		r := call(t, "POST", u+"/notes/", `{"text": "Modi aliquam dolore amet <b>&</b> ünïcode"}`)
		if r.status != 201 {
			t.Fatalf("POST /notes/: %d %s", r.status, r.body)
		}
		r.decode(t, &created)
		if created.ID < 1 || created.Text != "Modi aliquam dolore amet <b>&</b> ünïcode" || created.Completed {
			t.Errorf("created %+v", created)
		}
	})
	t.Run("create completed, without the trailing slash", func(t *testing.T) {
		r := call(t, "POST", u+"/notes", `{"text": "second", "completed": true, "extra": [1]}`)
		var n note
		if r.status != 201 {
			t.Fatalf("POST /notes: %d %s", r.status, r.body)
		}
		r.decode(t, &n)
		if n.ID <= created.ID || n.Text != "second" || !n.Completed {
			t.Errorf("created %+v after %+v", n, created)
		}
	})
	t.Run("get", func(t *testing.T) {
		for _, path := range []string{"/notes/%d/", "/notes/%d"} {
			r := call(t, "GET", u+fmt.Sprintf(path, created.ID), "")
			var n note
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			r.decode(t, &n)
			if n != created {
				t.Errorf("GET %s = %+v, want %+v", path, n, created)
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		for i := range 25 {
			if r := call(t, "POST", u+"/notes/", fmt.Sprintf(`{"text": "n%d"}`, i)); r.status != 201 {
				t.Fatalf("POST: %d %s", r.status, r.body)
			}
		}
		var all []note
		call(t, "GET", u+"/notes/?take=1000", "").decode(t, &all)
		if len(all) != 27 {
			t.Fatalf("GET /notes/?take=1000 returned %d notes, want 27", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID <= all[i-1].ID {
				t.Fatalf("notes not ordered by id: %d after %d", all[i].ID, all[i-1].ID)
			}
		}
		var page []note
		call(t, "GET", u+"/notes/", "").decode(t, &page)
		if len(page) != 20 || page[0] != all[0] {
			t.Errorf("default page: %d notes starting with %+v, want 20 starting with %+v", len(page), page[0], all[0])
		}
		call(t, "GET", u+"/notes?skip=5&take=3", "").decode(t, &page)
		if len(page) != 3 || page[0] != all[5] || page[2] != all[7] {
			t.Errorf("skip=5&take=3 gave %+v, want %+v", page, all[5:8])
		}
		r := call(t, "GET", u+"/notes/?skip=1000", "")
		if r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
			t.Errorf("past the end: %d %s, want 200 []", r.status, r.body)
		}
	})
	t.Run("put", func(t *testing.T) {
		r := call(t, "PUT", u+fmt.Sprintf("/notes/%d/", created.ID), `{"text": "changed", "completed": true}`)
		var n note
		if r.status != 200 {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		r.decode(t, &n)
		if want := (note{created.ID, "changed", true}); n != want {
			t.Errorf("PUT = %+v, want %+v", n, want)
		}
		// completed is optional and defaults to false, as in POST.
		r = call(t, "PUT", u+fmt.Sprintf("/notes/%d", created.ID), `{"text": "again"}`)
		r.decode(t, &n)
		if want := (note{created.ID, "again", false}); r.status != 200 || n != want {
			t.Errorf("PUT without completed: %d %+v, want %+v", r.status, n, want)
		}
		var mdate *time.Time
		if err := queryRow(t, pg, "SELECT mdate FROM notes WHERE id = $1", created.ID).Scan(&mdate); err != nil || mdate == nil {
			t.Errorf("mdate after PUT: %v %v, want a time", mdate, err)
		}
	})
	t.Run("patch", func(t *testing.T) {
		r := call(t, "PATCH", u+fmt.Sprintf("/notes/%d/", created.ID), `{"completed": true}`)
		var c completion
		if r.status != 200 {
			t.Fatalf("PATCH: %d %s", r.status, r.body)
		}
		r.decode(t, &c) // exactly id and completed: DisallowUnknownFields
		if c != (completion{created.ID, true}) {
			t.Errorf("PATCH = %+v", c)
		}
		var n note
		call(t, "GET", u+fmt.Sprintf("/notes/%d/", created.ID), "").decode(t, &n)
		if !n.Completed || n.Text != "again" {
			t.Errorf("after PATCH: %+v", n)
		}
	})
	t.Run("delete", func(t *testing.T) {
		path := u + fmt.Sprintf("/notes/%d/", created.ID)
		r := call(t, "DELETE", path, "")
		var m map[string]string
		if r.status != 200 {
			t.Fatalf("DELETE: %d %s", r.status, r.body)
		}
		r.decode(t, &m)
		if want := fmt.Sprintf("Note with id: %d deleted successfully!", created.ID); len(m) != 1 || m["message"] != want {
			t.Errorf("DELETE = %v, want message %q", m, want)
		}
		for _, c := range []struct{ method, body string }{
			{"GET", ""}, {"DELETE", ""}, {"PUT", `{"text": "x"}`}, {"PATCH", `{"completed": false}`},
		} {
			d := call(t, c.method, path, c.body).detail(t, 404)
			if !strings.Contains(d, fmt.Sprint(created.ID)) {
				t.Errorf("%s of a deleted note: detail %q does not name the id", c.method, d)
			}
		}
	})
	t.Run("unknown ids", func(t *testing.T) {
		for _, id := range []string{"0", "-1", "9223372036854775807"} {
			call(t, "GET", u+"/notes/"+id+"/", "").detail(t, 404)
		}
	})
	t.Run("invalid input", func(t *testing.T) {
		big := `{"text": "` + strings.Repeat("x", MaxBodyBytes) + `"}`
		tests := []struct {
			name, method, path, body string
			status                   int
			detail                   string // a part of the detail
		}{
			{"malformed JSON", "POST", "/notes/", `{"text": `, 422, "not valid JSON"},
			{"trailing garbage", "POST", "/notes/", `{"text": "a"} x`, 422, "not valid JSON"},
			{"empty body", "POST", "/notes/", ``, 422, "empty"},
			{"array body", "POST", "/notes/", `["text"]`, 422, "JSON object"},
			{"null body", "POST", "/notes/", `null`, 422, "JSON object"},
			{"missing text", "POST", "/notes/", `{"completed": true}`, 422, `"text"`},
			{"text a number", "POST", "/notes/", `{"text": 5}`, 422, `"text" must be a string, not a number`},
			{"text null", "POST", "/notes/", `{"text": null}`, 422, `"text" must be a string, not null`},
			{"completed a string", "POST", "/notes/", `{"text": "a", "completed": "yes"}`, 422, `"completed" must be a boolean`},
			{"completed null", "POST", "/notes/", `{"text": "a", "completed": null}`, 422, `"completed"`},
			{"NUL in text", "POST", "/notes/", `{"text": "a\u0000b"}`, 422, "NUL"},
			{"body over 1 MiB", "POST", "/notes/", big, 413, "larger than"},
			{"put without text", "PUT", "/notes/1/", `{}`, 422, `"text"`},
			{"put body over 1 MiB", "PUT", "/notes/1/", big, 413, "larger than"},
			{"patch without completed", "PATCH", "/notes/1/", `{"text": "a"}`, 422, `"completed"`},
			{"patch completed a number", "PATCH", "/notes/1/", `{"completed": 1}`, 422, `"completed" must be a boolean`},
			{"non-integer id", "GET", "/notes/abc/", "", 422, `"abc"`},
			{"id too large", "DELETE", "/notes/99999999999999999999/", "", 422, "integer"},
			{"fractional id", "PUT", "/notes/1.5", `{"text": "a"}`, 422, "integer"},
			{"negative skip", "GET", "/notes/?skip=-1", "", 422, "skip"},
			{"skip not a number", "GET", "/notes/?skip=x", "", 422, "skip"},
			{"take 0", "GET", "/notes/?take=0", "", 422, "take"},
			{"take 1001", "GET", "/notes/?take=1001", "", 422, "take"},
			{"take empty", "GET", "/notes/?take=", "", 422, "take"},
			{"wrong method on the collection", "DELETE", "/notes/", "", 405, "Method Not Allowed"},
			{"wrong method on a note", "POST", "/notes/1/", `{"text": "a"}`, 405, "Method Not Allowed"},
			{"wrong method on healthz", "POST", "/healthz", "", 405, "Method Not Allowed"},
			{"unknown path", "GET", "/nope", "", 404, "Not Found"},
			{"below a note", "GET", "/notes/1/x", "", 404, "Not Found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := call(t, tt.method, u+tt.path, tt.body)
				d := r.detail(t, tt.status)
				if !strings.Contains(d, tt.detail) {
					t.Errorf("detail %q does not contain %q", d, tt.detail)
				}
				if tt.status == 405 && r.header.Get("Allow") == "" {
					t.Error("a 405 without an Allow header")
				}
			})
		}
	})
	t.Run("healthz", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/healthz/"} {
			var h map[string]string
			r := call(t, "GET", u+path, "")
			r.decode(t, &h)
			if r.status != 200 || len(h) != 1 || h["status"] != "ok" {
				t.Errorf("GET %s: %d %s", path, r.status, r.body)
			}
		}
	})
	t.Run("readyz", func(t *testing.T) {
		var rd readiness
		r := call(t, "GET", u+"/readyz", "")
		r.decode(t, &rd)
		if want := (readiness{Status: "ok", Write: "ok", Read: "ok", Schema: "ok"}); r.status != 200 || rd != want {
			t.Errorf("/readyz: %d %+v, want 200 %+v", r.status, rd, want)
		}
	})
}

// queryRow runs a query as the superuser on the notes database.
func queryRow(t *testing.T, pg *pgtest.Postgres, sql string, args ...any) pgx.Row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, pg.DSN(pgtest.Superuser, pg.SuperuserPassword(), dbName))
	if err != nil {
		t.Fatalf("connect as the superuser: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(ctx, sql, args...)
}

// TestPgBouncerTransactionMode shows why the pools use QueryExecModeExec: through PgBouncer
// in transaction mode with one server connection, two clients in pgx's default mode collide
// on a named prepared statement, while the backend, hammered by concurrent requests through a
// pool of two server connections, answers every one.
func TestPgBouncerTransactionMode(t *testing.T) {
	pg := newDB(t)
	one := newBouncer(t, pg, pgtest.DefaultPoolSize(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var errs []error
	for range 2 {
		c, err := pgx.Connect(ctx, one.DSN(dbUser, dbPassword, dbName)) // default: cached prepared statements
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		var n int
		errs = append(errs, c.QueryRow(ctx, "SELECT $1::int + 1", 1).Scan(&n))
	}
	var pgErr *pgconn.PgError
	if !errors.As(errs[1], &pgErr) || pgErr.Code != "42P05" {
		t.Errorf("the second client in pgx's default mode got %v, want 42P05 duplicate_prepared_statement: the fixture is not in transaction mode", errs[1])
	}

	pb := newBouncer(t, pg, pgtest.DefaultPoolSize(2))
	s := startServer(t, pb, pb, patient, func(c *Config) { c.MaxConns = 8 })
	waitReady(t, s)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	failures := make(chan string, workers*each*2)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r, err := send("POST", s.URL+"/notes/", fmt.Sprintf(`{"text": "w%d-%d"}`, w, i))
				if err != nil {
					failures <- err.Error()
					continue
				}
				if r.status != 201 {
					failures <- fmt.Sprintf("POST: %d %s", r.status, r.body)
					continue
				}
				var n note
				if err := json.Unmarshal(r.body, &n); err != nil {
					failures <- err.Error()
					continue
				}
				if r, err := send("GET", fmt.Sprintf("%s/notes/%d/", s.URL, n.ID), ""); err != nil || r.status != 200 {
					failures <- fmt.Sprintf("GET: %d %s %v", r.status, r.body, err)
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	n := 0
	for f := range failures {
		if n++; n <= 5 {
			t.Error(f)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d requests failed through PgBouncer in transaction mode", n, workers*each*2)
	}
}

// TestPanicIsA500 checks that a panicking handler gives a JSON 500 without details, is
// logged, and is counted.
func TestPanicIsA500(t *testing.T) {
	logs := &syncBuffer{}
	s, err := New(Config{
		WriteDSN: "postgres://notes@127.0.0.1:1/notes", ReadDSN: "postgres://notes@127.0.0.1:1/notes",
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := s.instrument(routeNotes, func(http.ResponseWriter, *http.Request) { panic("secret internals") })
	w := httptest.NewRecorder()
	h(w, httptest.NewRequest("GET", "/notes/", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret") || !strings.Contains(w.Body.String(), `"detail"`) {
		t.Errorf("panic answered %d %s, want a 500 with a bare detail", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "secret internals") {
		t.Errorf("the panic was not logged:\n%s", logs)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if got := sum(scrape(t, ts.URL), "pghac_backend_http_requests_total", map[string]string{"route": routeNotes, "code": "500", "method": "GET"}); got != 1 {
		t.Errorf("the panic was counted %v times, want 1", got)
	}
}
