package backend

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/backend/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// The role and database the backend uses, as on the nodes.
const (
	dbUser     = "notes"
	dbPassword = "n0tes-pa55word"
	dbName     = "notes"
)

// newDB starts PostgreSQL with the notes role and database.
func newDB(t testing.TB) *pgtest.Postgres {
	t.Helper()
	pg := pgtest.StartPostgres(t)
	pg.CreateRole(t, dbUser, dbPassword)
	pg.CreateDatabase(t, dbName, dbUser)
	return pg
}

// newBouncer starts PgBouncer in transaction mode in front of pg for the notes role.
func newBouncer(t testing.TB, pg *pgtest.Postgres, opts ...pgtest.PgBouncerOption) *pgtest.PgBouncer {
	t.Helper()
	return pgtest.StartPgBouncer(t, pg, map[string]string{dbUser: dbPassword}, opts...)
}

// dsnTo is a DSN without a password (the backend gets it separately) to a port.
type dsnTo interface {
	DSN(user, password, database string) string
}

// testServer is a Server behind an httptest server, with its log captured.
type testServer struct {
	*Server
	URL string
	log *syncBuffer
}

// requestTimeout is startServer's request timeout: short, so that a request waiting for a
// database that is gone gets its 503 quickly in the outage tests.
const requestTimeout = 2 * time.Second

// patient gives startServer's Server a request timeout that a request to a healthy database
// does not reach, however busy the machine is with other packages' tests: for the tests that
// want every request answered, where requestTimeout would turn a slow answer into a 503.
func patient(c *Config) { c.RequestTimeout = 20 * time.Second }

// startServer starts a Server writing through w and reading through r, with a short
// request timeout (requestTimeout) unless tweaked; both are closed when the test ends.
func startServer(t testing.TB, w, r dsnTo, tweak ...func(*Config)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		WriteDSN:       w.DSN(dbUser, "", dbName),
		ReadDSN:        r.DSN(dbUser, "", dbName),
		Password:       dbPassword,
		RequestTimeout: requestTimeout,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
		if strings.Contains(logs.String(), dbPassword) {
			t.Errorf("the log holds the database password:\n%s", logs)
		}
	})
	return &testServer{Server: s, URL: ts.URL, log: logs}
}

// syncBuffer is a bytes.Buffer for concurrent writers.
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

// response is what a test request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

var client = &http.Client{Timeout: 30 * time.Second}

// call sends a request with body (none when empty) and returns the response; a transport
// error ends the test.
func call(t testing.TB, method, url, body string) response {
	t.Helper()
	r, err := send(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is call for goroutines other than the test's: it returns the error.
func send(method, url, body string) (response, error) {
	return sendVia(client, method, url, body)
}

// sendVia is send through hc.
func sendVia(hc *http.Client, method, url, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the body: %w", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// decode unmarshals the body into v strictly, failing the test on any problem.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if !r.decodeOK(t, v) {
		t.FailNow()
	}
}

// decodeOK is decode for goroutines other than the test's: it reports a problem with
// t.Errorf and returns whether v was decoded.
func (r response) decodeOK(t testing.TB, v any) bool {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json (body %s)", ct, r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("body %s: %v", r.body, err)
		return false
	}
	return true
}

// detail checks that r is an error with status and a JSON {"detail": "..."} body, and
// returns the detail.
func (r response) detail(t testing.TB, status int) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	var d struct {
		Detail string `json:"detail"`
	}
	r.decode(t, &d)
	if d.Detail == "" {
		t.Errorf("empty detail in %s", r.body)
	}
	return d.Detail
}

// waitFor calls f every 50 ms until it returns true or timeout passes, and reports which.
func waitFor(timeout time.Duration, f func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReady waits until /readyz answers 200: a second or two, or longer on a busy machine.
func waitReady(t testing.TB, s *testServer) {
	t.Helper()
	var last response
	if !waitFor(30*time.Second, func() bool {
		last = call(t, "GET", s.URL+"/readyz", "")
		return last.status == 200
	}) {
		t.Fatalf("/readyz is still %d after 30 s: %s\nlog:\n%s", last.status, last.body, s.log)
	}
}

// sample is one scraped sample: the metric name, its labels, its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// scrape fetches /metrics and parses the text format.
func scrape(t testing.TB, url string) []sample {
	t.Helper()
	r := call(t, "GET", url+"/metrics", "")
	if r.status != 200 {
		t.Fatalf("/metrics: %d %s", r.status, r.body)
	}
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("/metrics: cannot parse line %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("/metrics: bad value in %q", line)
		}
		labels := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			labels[p[1]] = p[2]
		}
		out = append(out, sample{name: m[1], labels: labels, value: v})
	}
	return out
}

// sum adds the values of the samples named name whose labels include want.
func sum(samples []sample, name string, want map[string]string) float64 {
	var total float64
outer:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue outer
			}
		}
		total += s.value
	}
	return total
}
