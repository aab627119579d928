package backend

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// benchServer is a backend behind PgBouncer (transaction mode) with one note, for the
// benchmarks: HTTP over loopback, real pools, real database.
func benchServer(b *testing.B) (*testServer, note) {
	b.Helper()
	pg := newDB(b)
	pb := newBouncer(b, pg)
	s := startServer(b, pb, pb)
	waitReady(b, s)
	var n note
	call(b, "POST", s.URL+"/notes/", `{"text": "bench"}`).decode(b, &n)
	return s, n
}

// BenchmarkGetNote measures GET /notes/{id}/ through the read pool, one client at a time.
func BenchmarkGetNote(b *testing.B) {
	s, n := benchServer(b)
	url := fmt.Sprintf("%s/notes/%d/", s.URL, n.ID)
	b.ResetTimer()
	for b.Loop() {
		if r := call(b, "GET", url, ""); r.status != http.StatusOK {
			b.Fatalf("GET: %d %s", r.status, r.body)
		}
	}
}

// BenchmarkCreateNote measures POST /notes/ (the seed's body) through the write pool, with
// as many concurrent clients as GOMAXPROCS.
func BenchmarkCreateNote(b *testing.B) {
	s, _ := benchServer(b)
	body := `{"text": "` + strings.Repeat("lorem ipsum ", 10) + `"}`
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := send("POST", s.URL+"/notes/", body)
			if err != nil || r.status != http.StatusCreated {
				b.Errorf("POST: %d %s %v", r.status, r.body, err)
				return
			}
		}
	})
}
