package backend

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// check503 checks an outage answer: 503, Retry-After: 1, a JSON detail. It reports with
// t.Errorf only, so that goroutines other than the test's may call it.
func check503(t *testing.T, what string, r response) {
	t.Helper()
	if r.status != 503 {
		t.Errorf("%s during the outage: %d %s, want 503", what, r.status, strings.TrimSpace(string(r.body)))
		return
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("%s: Retry-After %q, want 1", what, got)
	}
	var d struct {
		Detail string `json:"detail"`
	}
	if r.decodeOK(t, &d) && d.Detail == "" {
		t.Errorf("%s: empty detail in %s", what, r.body)
	}
}

// hangLimit is how long a request may take during an outage: the request timeout, which it
// may wait for in full, and a margin for a machine busy with other packages' tests. A request
// that hangs waits for PgBouncer's query_wait_timeout (30 s) or longer.
const hangLimit = 3 * requestTimeout

// timedCall is call that also fails the test when the answer took longer than limit.
func timedCall(t *testing.T, limit time.Duration, method, url, body string) response {
	t.Helper()
	start := time.Now()
	r, err := send(method, url, body)
	if err != nil {
		t.Errorf("%v", err)
		return response{}
	}
	if d := time.Since(start); d > limit {
		t.Errorf("%s %s took %s, more than %s: requests must not hang during an outage", method, url, d.Round(time.Millisecond), limit)
	}
	return r
}

// waitWrite polls POST /notes/ until it succeeds within 30 s (a second or two on an idle
// machine). A 500 on the way fails the test.
func waitWrite(t *testing.T, s *testServer) {
	t.Helper()
	var last response
	ok := waitFor(30*time.Second, func() bool {
		r, err := send("POST", s.URL+"/notes/", `{"text": "after"}`)
		if err != nil {
			t.Fatal(err)
		}
		if r.status == 500 {
			t.Errorf("a POST while recovering got a 500: %s", r.body)
		}
		last = r
		return r.status == 201
	})
	if !ok {
		t.Fatalf("writes did not recover within 30 s of the database coming back: last %d %s\nlog:\n%s", last.status, last.body, s.log)
	}
}

// waitUp waits until the metric pghac_backend_db_up of both pools is up (1 or 0).
func waitUp(t *testing.T, s *testServer, up bool) {
	t.Helper()
	want := b2f(up)
	// The probes run every second: a second or two, or longer on a busy machine.
	if !waitFor(30*time.Second, func() bool {
		m := scrape(t, s.URL)
		return sum(m, "pghac_backend_db_up", map[string]string{"pool": "write"}) == want &&
			sum(m, "pghac_backend_db_up", map[string]string{"pool": "read"}) == want
	}) {
		t.Fatalf("pghac_backend_db_up is not %v for both pools after 30 s", want)
	}
}

// TestOutage takes the database path away in three ways (PgBouncer stopped, PostgreSQL shut
// down, PostgreSQL killed): every request gets a quick 503 with Retry-After and a JSON
// detail, /readyz says so, and the backend recovers by itself when the database is back.
func TestOutage(t *testing.T) {
	pg := newDB(t)
	pb := newBouncer(t, pg)
	s := startServer(t, pb, pb)
	waitReady(t, s)
	var n note
	call(t, "POST", s.URL+"/notes/", `{"text": "before"}`).decode(t, &n)
	const limit = hangLimit

	for _, phase := range []struct {
		name     string
		down, up func(testing.TB)
	}{
		{"PgBouncer stopped", pb.Stop, pb.Start},
		{"PostgreSQL shut down", pg.Stop, pg.Start},
		{"PostgreSQL killed", pg.Kill, pg.Start},
	} {
		t.Run(phase.name, func(t *testing.T) {
			phase.down(t)
			requests := []struct{ method, path, body string }{
				{"POST", "/notes/", `{"text": "during"}`},
				{"POST", "/notes", `{"text": "during", "completed": true}`},
				{"PUT", fmt.Sprintf("/notes/%d/", n.ID), `{"text": "during"}`},
				{"PATCH", fmt.Sprintf("/notes/%d/", n.ID), `{"completed": true}`},
				{"DELETE", "/notes/123456/", ""},
				{"GET", fmt.Sprintf("/notes/%d/", n.ID), ""},
				{"GET", "/notes/", ""},
			}
			var wg sync.WaitGroup
			for _, rq := range requests {
				wg.Go(func() {
					check503(t, rq.method+" "+rq.path, timedCall(t, limit, rq.method, s.URL+rq.path, rq.body))
				})
			}
			wg.Go(func() {
				r := timedCall(t, limit, "GET", s.URL+"/readyz", "")
				var rd readiness
				if !r.decodeOK(t, &rd) {
					return
				}
				if r.status != 503 || r.header.Get("Retry-After") != "1" || rd.Write != "down" || rd.Read != "down" || !strings.Contains(rd.Detail, "write pool") {
					t.Errorf("/readyz during the outage: %d %s", r.status, r.body)
				}
			})
			// /healthz is about the process: it stays 200.
			if r := call(t, "GET", s.URL+"/healthz", ""); r.status != 200 {
				t.Errorf("/healthz during the outage: %d", r.status)
			}
			wg.Wait()
			// The probes notice (and log) the outage within a second or two.
			waitUp(t, s, false)
			phase.up(t)
			waitWrite(t, s)
			waitReady(t, s)
			waitUp(t, s, true)
		})
	}
	if got := sum(scrape(t, s.URL), "pghac_backend_http_requests_total", map[string]string{"code": "500"}); got != 0 {
		t.Errorf("%v requests got a 500", got)
	}
	// One line per change of state, however many probes failed.
	if got := strings.Count(s.log.String(), `msg="database unreachable`); got != 6 {
		t.Errorf("%d 'unreachable' lines for 3 outages of 2 pools, want 6:\n%s", got, s.log)
	}
}

// TestReadsSurviveWriteOutage stops only the write path: reads keep working, writes get
// 503s, /readyz names the write pool, and writes recover by themselves.
func TestReadsSurviveWriteOutage(t *testing.T) {
	pg := newDB(t)
	wpb := newBouncer(t, pg)
	rpb := newBouncer(t, pg)
	s := startServer(t, wpb, rpb)
	waitReady(t, s)
	var n note
	call(t, "POST", s.URL+"/notes/", `{"text": "kept"}`).decode(t, &n)

	wpb.Stop(t)
	for range 3 {
		var got note
		r := call(t, "GET", fmt.Sprintf("%s/notes/%d/", s.URL, n.ID), "")
		if r.status != 200 {
			t.Fatalf("GET with the write path down: %d %s", r.status, r.body)
		}
		r.decode(t, &got)
		if got != n {
			t.Errorf("GET = %+v, want %+v", got, n)
		}
		if r := call(t, "GET", s.URL+"/notes/", ""); r.status != 200 {
			t.Errorf("GET /notes/ with the write path down: %d %s", r.status, r.body)
		}
		check503(t, "POST", timedCall(t, hangLimit, "POST", s.URL+"/notes/", `{"text": "lost"}`))
		check503(t, "DELETE", timedCall(t, hangLimit, "DELETE", fmt.Sprintf("%s/notes/%d/", s.URL, n.ID), ""))
	}
	r := call(t, "GET", s.URL+"/readyz", "")
	var rd readiness
	r.decode(t, &rd)
	if r.status != 503 || rd.Write != "down" || rd.Read != "ok" || !strings.HasPrefix(rd.Detail, "write pool:") {
		t.Errorf("/readyz with the write path down: %d %s", r.status, r.body)
	}

	wpb.Start(t)
	waitWrite(t, s)
	waitReady(t, s)
}

// TestStartsBeforeDatabase starts the backend while the primary is unreachable and the table
// does not exist: reads get a 503 that says so (not a 500), and once the primary answers the
// backend creates the table and serves.
func TestStartsBeforeDatabase(t *testing.T) {
	pg := newDB(t)
	wpb := newBouncer(t, pg)
	wpb.Stop(t)
	s := startServer(t, wpb, pg) // reads straight from PostgreSQL, where there is no table yet

	r := call(t, "GET", s.URL+"/notes/", "")
	check503(t, "GET before the table exists", r)
	if d := r.detail(t, 503); !strings.Contains(d, "does not exist yet") {
		t.Errorf("GET before the table exists: detail %q does not say so", d)
	}
	check503(t, "POST before the primary answers", call(t, "POST", s.URL+"/notes/", `{"text": "early"}`))
	r = call(t, "GET", s.URL+"/readyz", "")
	var rd readiness
	r.decode(t, &rd)
	if r.status != 503 || rd.Write != "down" || rd.Read != "ok" || rd.Schema != "pending" {
		t.Errorf("/readyz before the primary answers: %d %s", r.status, r.body)
	}
	// The first failed probe logs the outage; a few more must not log it again.
	unreachable := `msg="database unreachable; requests get 503 until it is back" pool=write`
	if !waitFor(30*time.Second, func() bool { return strings.Contains(s.log.String(), unreachable) }) {
		t.Fatalf("no %s within 30 s:\n%s", unreachable, s.log)
	}
	time.Sleep(2 * probeInterval)

	wpb.Start(t)
	waitReady(t, s)
	if !s.SchemaReady() {
		t.Error("ready but SchemaReady() is false")
	}
	waitWrite(t, s)
	if r := call(t, "GET", s.URL+"/notes/", ""); r.status != 200 {
		t.Errorf("GET after the table was created: %d %s", r.status, r.body)
	}
	log := s.log.String()
	for line, want := range map[string]int{
		unreachable:                           1,
		`msg="database reachable" pool=write`: 1,
		`msg="notes table ready"`:             1,
	} {
		if got := strings.Count(log, line); got != want {
			t.Errorf("%d log lines with %s, want %d:\n%s", got, line, want, log)
		}
	}
}

// TestReadOnlyPrimary makes the primary read-only, as a demoted primary that HAProxy still
// routes to is: writes get 503s saying so (SQLSTATE 25006), reads go on, and writes recover
// once the database is writable again.
func TestReadOnlyPrimary(t *testing.T) {
	pg := newDB(t)
	pb := newBouncer(t, pg)
	s := startServer(t, pb, pb, patient)
	waitReady(t, s)
	var n note
	call(t, "POST", s.URL+"/notes/", `{"text": "before"}`).decode(t, &n)

	setReadOnly := func(on bool) {
		if on {
			pg.Exec(t, "postgres", "ALTER ROLE notes SET default_transaction_read_only = on")
		} else {
			pg.Exec(t, "postgres", "ALTER ROLE notes RESET default_transaction_read_only")
		}
		// PgBouncer's server connections pick the setting up when they log in again.
		pg.Exec(t, "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'notes'")
	}
	setReadOnly(true)
	var last response
	if !waitFor(10*time.Second, func() bool {
		last = call(t, "POST", s.URL+"/notes/", `{"text": "refused"}`)
		if last.status != 503 {
			t.Errorf("POST to a read-only primary: %d %s, want 503", last.status, last.body)
			return true
		}
		return strings.Contains(string(last.body), "read-only")
	}) {
		t.Fatalf("no 503 saying read-only within 10 s; last %s", last.body)
	}
	check503(t, "POST to a read-only primary", last)
	check503(t, "PATCH to a read-only primary", call(t, "PATCH", fmt.Sprintf("%s/notes/%d/", s.URL, n.ID), `{"completed": true}`))
	if r := call(t, "GET", fmt.Sprintf("%s/notes/%d/", s.URL, n.ID), ""); r.status != 200 {
		t.Errorf("GET from a read-only database: %d %s", r.status, r.body)
	}

	setReadOnly(false)
	waitWrite(t, s)
}

// TestSchemaIdempotent starts backends on an empty database at once and one more later:
// each makes sure of the table, none fails, and there is one table. A table made by the
// seed (serial id, varchar text) is used as it is.
func TestSchemaIdempotent(t *testing.T) {
	t.Run("empty database", func(t *testing.T) {
		pg := newDB(t)
		a := startServer(t, pg, pg, patient)
		b := startServer(t, pg, pg, patient)
		waitReady(t, a)
		waitReady(t, b)
		var n note
		call(t, "POST", a.URL+"/notes/", `{"text": "via a"}`).decode(t, &n)
		c := startServer(t, pg, pg, patient)
		waitReady(t, c)
		var got note
		call(t, "GET", fmt.Sprintf("%s/notes/%d/", c.URL, n.ID), "").decode(t, &got)
		if got != n {
			t.Errorf("GET via a third backend = %+v, want %+v", got, n)
		}
		var tables int
		if err := queryRow(t, pg, "SELECT count(*) FROM pg_class WHERE relname = 'notes' AND relkind = 'r'").Scan(&tables); err != nil || tables != 1 {
			t.Errorf("%d notes tables (%v), want 1", tables, err)
		}
	})
	t.Run("the seed's table", func(t *testing.T) {
		pg := newDB(t)
		pg.Exec(t, dbName, `CREATE TABLE notes (id serial PRIMARY KEY, cdate timestamptz DEFAULT now(),
			mdate timestamptz, text varchar NOT NULL, completed boolean NOT NULL DEFAULT false)`)
		pg.Exec(t, dbName, `ALTER TABLE notes OWNER TO notes`)
		pg.Exec(t, dbName, `INSERT INTO notes (text) VALUES ('from the seed')`)
		s := startServer(t, pg, pg, patient)
		waitReady(t, s)
		var got []note
		call(t, "GET", s.URL+"/notes/", "").decode(t, &got)
		if len(got) != 1 || got[0] != (note{1, "from the seed", false}) {
			t.Errorf("GET /notes/ on the seed's table = %+v", got)
		}
		var n note
		call(t, "POST", s.URL+"/notes/", `{"text": "new"}`).decode(t, &n)
		if n.ID != 2 {
			t.Errorf("POST on the seed's table = %+v, want id 2", n)
		}
		if r := call(t, "PUT", s.URL+"/notes/1/", `{"text": "edited", "completed": true}`); r.status != 200 {
			t.Errorf("PUT on the seed's table: %d %s", r.status, r.body)
		}
	})
}

// TestTimedOutWrites fills a small pool with writes that time out while PostgreSQL is down
// behind PgBouncer. Each gets a 503, none of them is applied when PostgreSQL comes back,
// and writes succeed again within seconds.
func TestTimedOutWrites(t *testing.T) {
	pg := newDB(t)
	pb := newBouncer(t, pg)
	s := startServer(t, pb, pb, func(c *Config) { c.MaxConns = 3 })
	waitReady(t, s)
	pg.Stop(t)
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			check503(t, "POST", timedCall(t, hangLimit, "POST", s.URL+"/notes/", `{"text": "timed out"}`))
		})
	}
	wg.Wait()
	pg.Start(t)
	start := time.Now()
	waitWrite(t, s)
	// PgBouncer retries its login every second (server_login_retry): a few seconds at most.
	d := time.Since(start)
	t.Logf("writes recovered %s after PostgreSQL was back", d.Round(time.Millisecond))
	if d > 6*time.Second {
		t.Errorf("writes recovered %s after PostgreSQL was back, want a few seconds", d.Round(time.Millisecond))
	}
	time.Sleep(time.Second)
	var applied int
	if err := queryRow(t, pg, "SELECT count(*) FROM notes WHERE text = 'timed out'").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 0 {
		t.Errorf("%d writes answered with a 503 were applied after PostgreSQL came back", applied)
	}
}
