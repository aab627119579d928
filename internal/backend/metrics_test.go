package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMetrics counts every request to the notes routes exactly once, under its route
// pattern, method and code, outages and scrapes included; and exports the pools' statistics
// and the Go and process collectors.
func TestMetrics(t *testing.T) {
	pg := newDB(t)
	pb := newBouncer(t, pg)
	s := startServer(t, pb, pb, patient)
	waitReady(t, s)
	var n note
	call(t, "POST", s.URL+"/notes/", `{"text": "x"}`).decode(t, &n)
	id := fmt.Sprint(n.ID)

	type key struct{ method, route, code string }
	sent := map[key]int{}
	do := func(method, path, body string, k key) {
		t.Helper()
		r := call(t, method, s.URL+path, body)
		if got := fmt.Sprint(r.status); got != k.code {
			t.Fatalf("%s %s: %s %s, want %s", method, path, got, r.body, k.code)
		}
		sent[k]++
	}
	before := scrape(t, s.URL)
	for range 3 {
		do("POST", "/notes/", `{"text": "m"}`, key{"POST", routeNotes, "201"})
	}
	do("GET", "/notes/", "", key{"GET", routeNotes, "200"})
	do("GET", "/notes?take=2", "", key{"GET", routeNotes, "200"})
	do("GET", "/notes/"+id+"/", "", key{"GET", routeNote, "200"})
	do("GET", "/notes/"+id, "", key{"GET", routeNote, "200"})
	do("PATCH", "/notes/"+id+"/", `{"completed": true}`, key{"PATCH", routeNote, "200"})
	do("PUT", "/notes/999999/", `{"text": "y"}`, key{"PUT", routeNote, "404"})
	do("GET", "/notes/abc/", "", key{"GET", routeNote, "422"})
	do("POST", "/notes/", `{"text": 1}`, key{"POST", routeNotes, "422"})
	do("DELETE", "/notes/", "", key{"DELETE", routeNotes, "405"})
	do("BREW", "/notes/", "", key{"other", routeNotes, "405"})
	do("POST", "/notes/", `{"text": "`+strings.Repeat("z", MaxBodyBytes)+`"}`, key{"POST", routeNotes, "413"})
	do("GET", "/healthz", "", key{"GET", routeHealthz, "200"})
	do("GET", "/nope/notes", "", key{"GET", routeOther, "404"})
	pb.Stop(t)
	for range 2 {
		do("POST", "/notes/", `{"text": "down"}`, key{"POST", routeNotes, "503"})
	}
	do("GET", "/notes/"+id+"/", "", key{"GET", routeNote, "503"})
	pb.Start(t)
	after := scrape(t, s.URL)

	notesSent := 0
	for k, want := range sent {
		labels := map[string]string{"method": k.method, "route": k.route, "code": k.code}
		got := sum(after, "pghac_backend_http_requests_total", labels) - sum(before, "pghac_backend_http_requests_total", labels)
		if got != float64(want) {
			t.Errorf("pghac_backend_http_requests_total%v rose by %v, want %d", labels, got, want)
		}
		if strings.HasPrefix(k.route, "/notes") {
			notesSent += want
		}
	}
	// The sum the load tests compare with their own count: scrapes and probes add nothing.
	var notesCounted float64
	for _, route := range []string{routeNotes, routeNote} {
		r := map[string]string{"route": route}
		notesCounted += sum(after, "pghac_backend_http_requests_total", r) - sum(before, "pghac_backend_http_requests_total", r)
	}
	if notesCounted != float64(notesSent) {
		t.Errorf("the /notes routes counted %v requests, %d were sent", notesCounted, notesSent)
	}
	// The histogram sees the same requests.
	for _, k := range []key{{"POST", routeNotes, ""}, {"GET", routeNote, ""}} {
		want := 0
		for s, c := range sent {
			if s.method == k.method && s.route == k.route {
				want += c
			}
		}
		labels := map[string]string{"method": k.method, "route": k.route}
		name := "pghac_backend_http_request_duration_seconds_count"
		if got := sum(after, name, labels) - sum(before, name, labels); got != float64(want) {
			t.Errorf("%s%v rose by %v, want %d", name, labels, got, want)
		}
	}
	if got := sum(after, "pghac_backend_http_requests_total", map[string]string{"route": routeMetrics}); got < 1 {
		t.Errorf("scrapes are not counted under route %s", routeMetrics)
	}

	present := map[string]bool{}
	for _, smp := range after {
		present[smp.name+"/"+smp.labels["pool"]+"/"+smp.labels["le"]] = true
	}
	var want []string
	for _, name := range []string{"pghac_backend_db_up", "pghac_backend_db_pool_acquired_conns", "pghac_backend_db_pool_idle_conns",
		"pghac_backend_db_pool_total_conns", "pghac_backend_db_pool_acquires_total", "pghac_backend_db_pool_empty_acquires_total",
		"pghac_backend_db_pool_canceled_acquires_total"} {
		want = append(want, name+"/write/", name+"/read/")
	}
	want = append(want, "pghac_backend_http_request_duration_seconds_bucket//0.001", "pghac_backend_http_request_duration_seconds_bucket//10",
		"pghac_backend_schema_ready//", "pghac_backend_build_info//", "go_goroutines//", "process_cpu_seconds_total//")
	for _, w := range want {
		if !present[w] {
			t.Errorf("/metrics has no sample %s (name/pool/le)", w)
		}
	}
	if sum(after, "pghac_backend_db_pool_acquires_total", map[string]string{"pool": "write"}) < 4 {
		t.Error("the write pool's acquire count did not rise with the writes")
	}
}

// TestServe runs Serve as the binary does: a request in flight when the context ends still
// gets its answer, then Serve closes the pools and returns nil.
func TestServe(t *testing.T) {
	pg := newDB(t)
	pb := newBouncer(t, pg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The listener tells when the server has read the request that is to be in flight.
	inflightRead := make(chan struct{})
	wl := &watchListener{Listener: ln, want: []byte("POST /notes/ "), seen: inflightRead}
	url := "http://" + ln.Addr().String()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, wl, Config{
			WriteDSN: pb.DSN(dbUser, "", dbName), ReadDSN: pb.DSN(dbUser, "", dbName), Password: dbPassword,
			RequestTimeout: requestTimeout, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		})
	}()
	if !waitFor(30*time.Second, func() bool {
		r, err := send("GET", url+"/readyz", "")
		return err == nil && r.status == 200
	}) {
		t.Fatalf("Serve is not ready after 30 s:\n%s", logs)
	}

	// With PostgreSQL gone, a write waits in PgBouncer until the request timeout (2 s). It
	// goes on a connection of its own: Serve's shutdown closes idle connections, and one
	// kept alive from the requests above is idle until the server has parsed the request.
	pg.Stop(t)
	inflight := make(chan response, 1)
	go func() {
		own := &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
		r, err := sendVia(own, "POST", url+"/notes/", `{"text": "in flight"}`)
		if err != nil {
			r.status = -1
			r.body = []byte(err.Error())
		}
		inflight <- r
	}()
	select {
	case <-inflightRead:
	case r := <-inflight:
		t.Fatalf("the request answered before the shutdown: %d %s", r.status, r.body)
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not read the request within 30 s")
	}
	cancel()
	// A request in flight gets its answer (after the request timeout); the waits below only
	// end a test that would otherwise hang.
	select {
	case r := <-inflight:
		if r.status != 503 {
			t.Errorf("the request in flight at shutdown got %d %s, want its 503", r.status, r.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the request in flight at shutdown got no answer within 30 s")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v after a shutdown, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30 s of its last request's answer")
	}
	if _, err := send("GET", url+"/healthz", ""); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after Serve returned, a request got %v, want a refused connection", err)
	}
	for _, line := range []string{`msg="serving the notes API"`, `msg="shutting down`, `msg=stopped`} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("the log has no %s:\n%s", line, logs)
		}
	}
}

// watchListener closes seen once a connection it accepted has read want (the start of a
// request) off the wire.
type watchListener struct {
	net.Listener
	want []byte
	seen chan struct{}
	once sync.Once
}

func (l *watchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &watchConn{Conn: c, l: l}, nil
}

type watchConn struct {
	net.Conn
	l *watchListener
}

func (c *watchConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if bytes.Contains(p[:n], c.l.want) {
		c.l.once.Do(func() { close(c.l.seen) })
	}
	return n, err
}
