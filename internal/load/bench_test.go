package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkGeneratorAccuracy runs const(rate, 3s) against a local server that answers at
// once, and reports how closely the generator kept to the schedule:
//
//	achieved_rps  requests sent within the schedule's 3 s, divided by 3
//	error_%       |achieved_rps - rate| / rate
//	lag_p99_ms    99th percentile of how late a hit went out against its scheduled time
//	failed_%      requests that got no 2xx (the local server's, or the host's, limit)
//
// Run it with `go test ./internal/load -run '^$' -bench GeneratorAccuracy -benchtime 1x`.
func BenchmarkGeneratorAccuracy(b *testing.B) {
	for _, rate := range []int{100, 500, 1000, 2000, 5000} {
		b.Run(fmt.Sprintf("const_%d", rate), func(b *testing.B) {
			var served atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served.Add(1)
				w.WriteHeader(http.StatusOK)
			}))
			defer srv.Close()
			yaml := fmt.Sprintf("phantom:\n  address: %s\n  uris: [/]\n  load_profile: {load_type: rps, schedule: \"const(%d, 3s)\"}\n",
				strings.TrimPrefix(srv.URL, "http://"), rate)
			c, err := ParseConfig("bench.yaml", []byte(yaml), ".")
			if err != nil {
				b.Fatal(err)
			}
			reqs, err := c.ReadAmmo()
			if err != nil {
				b.Fatal(err)
			}
			var achieved, lag, failed float64
			for b.Loop() {
				r, err := Run(context.Background(), c, reqs, Options{})
				if err != nil {
					b.Fatal(err)
				}
				inWindow := 0
				for _, s := range r.Seconds {
					if s.T < 3 {
						inWindow += s.Sent
					}
				}
				ok := 0
				for code, n := range r.Summary.Codes {
					if code[0] == '2' {
						ok += n
					}
				}
				achieved += float64(inWindow) / 3
				lag += r.Summary.SendLag.P99
				failed += float64(r.Summary.Requests-ok) / float64(r.Summary.Requests) * 100
			}
			n := float64(b.N)
			b.ReportMetric(achieved/n, "achieved_rps")
			b.ReportMetric(math.Abs(achieved/n-float64(rate))/float64(rate)*100, "error_%")
			b.ReportMetric(lag/n, "lag_p99_ms")
			b.ReportMetric(failed/n, "failed_%")
		})
	}
}
