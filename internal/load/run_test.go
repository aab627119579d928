package load

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/nettest"
	"github.com/pghac/pghac/internal/pki"
)

// target is a local HTTP server that counts what it gets.
type target struct {
	*httptest.Server
	requests    atomic.Int64
	byCode      sync.Map // int -> *atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	mu          sync.Mutex
	hosts       map[string]int
	leaked      []string // headers the runner must not send
	bodies      int      // POSTs with a JSON body
}

// newTarget starts a server answering every request with handle's code after delay.
func newTarget(t *testing.T, delay time.Duration, code func(n int64) int) *target {
	t.Helper()
	tg := &target{hosts: map[string]int{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tg.requests.Add(1)
		cur := tg.inFlight.Add(1)
		defer tg.inFlight.Add(-1)
		for {
			m := tg.maxInFlight.Load()
			if cur <= m || tg.maxInFlight.CompareAndSwap(m, cur) {
				break
			}
		}
		var body bytes.Buffer
		body.ReadFrom(r.Body)
		tg.mu.Lock()
		tg.hosts[r.Host]++
		for _, h := range []string{ammoIndexHeader, vegetaSeqHeader} {
			if r.Header.Get(h) != "" {
				tg.leaked = append(tg.leaked, h)
			}
		}
		if r.Method == http.MethodPost && json.Valid(body.Bytes()) {
			tg.bodies++
		}
		tg.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		c := code(n)
		v, _ := tg.byCode.LoadOrStore(c, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		w.WriteHeader(c)
	}))
	t.Cleanup(tg.Close)
	return tg
}

func ok200(int64) int { return http.StatusOK }

func (tg *target) count(code int) int64 {
	v, ok := tg.byCode.Load(code)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// bundle writes a load.yaml (with ADDRESS replaced by the target's) and the seed's ammo
// next to it, and parses it.
func bundle(t *testing.T, addr, yaml, ammo string) *Config {
	t.Helper()
	dir := t.TempDir()
	if ammo != "" {
		if err := os.WriteFile(filepath.Join(dir, "ammo.txt"), readFile(t, ammo), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "load.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(yaml, "ADDRESS", addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, ctx context.Context, c *Config) *Result {
	t.Helper()
	reqs, err := c.ReadAmmo()
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	r, err := Run(ctx, c, reqs, Options{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	return r
}

func addrOf(tg *target) string { return strings.TrimPrefix(tg.URL, "http://") }

func TestRunConstSchedule(t *testing.T) {
	tg := newTarget(t, 0, ok200)
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  ammofile: ammo.txt
  instances: 50
  timeout: 5s
  load_profile:
    load_type: rps
    schedule: const(50, 3s)
autostop:
  autostop:
    - http(5xx,10%,2s)
    - limit(1m)
`, seedGet)
	start := time.Now()
	r := run(t, context.Background(), c)
	took := time.Since(start)
	s := r.Summary
	// The schedule has exactly 150 hits; the server must have had each, and the report must
	// agree with the server.
	if got := tg.requests.Load(); got != 150 {
		t.Errorf("server got %d requests, want 150", got)
	}
	if int64(s.Requests) != tg.requests.Load() || int64(s.Responses) != tg.count(200) || int64(s.Codes["200"]) != tg.count(200) {
		t.Errorf("report: %d requests, %d responses, codes %v; server: %d requests, %d 200s",
			s.Requests, s.Responses, s.Codes, tg.requests.Load(), tg.count(200))
	}
	if took < 2900*time.Millisecond || took > 6*time.Second {
		t.Errorf("the test took %s, want about 3s", took)
	}
	late := lateness(t, s)
	// Duration runs to the last send: the last hit is due at 2.98 s and goes out late by up
	// to late.
	if s.AchievedRPS > 51 || s.AchievedRPS < min(49, 150/(3+late)-0.01) || s.TargetRequests != 150 ||
		s.Duration < 3 || s.Duration > 3+late+0.001 {
		t.Errorf("achieved %.2f rps, target %d requests over %gs (hits up to %.0fms late)", s.AchievedRPS, s.TargetRequests, s.Duration, late*1000)
	}
	if n := len(r.Seconds); n != 3 && (n != 4 || late < 0.02) {
		t.Fatalf("%d seconds in the report, want 3 (4 only if the last hit went out late)", len(r.Seconds))
	}
	slack := max(5, int(math.Ceil(late*50))+2)
	for _, sec := range r.Seconds {
		want := int64(50)
		if sec.T >= 3 {
			want = 0
		}
		if sec.Target != want || sec.Sent < int(want)-slack || sec.Sent > int(want)+slack {
			t.Errorf("second %d: sent %d, target %d (hits up to %.0fms late)", sec.T, sec.Sent, sec.Target, late*1000)
		}
	}
	if !s.Passed || s.Verdict != "PASS" || s.Autostop != nil {
		t.Errorf("verdict %s, autostop %+v", s.Verdict, s.Autostop)
	}
	// The seed's Host (10.128.0.16:1443) is replaced by the target's address, and pghac's
	// own bookkeeping headers do not reach the server.
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if len(tg.hosts) != 1 || tg.hosts[addrOf(tg)] != 150 {
		t.Errorf("Host headers seen: %v, want only %s", tg.hosts, addrOf(tg))
	}
	if len(tg.leaked) > 0 {
		t.Errorf("headers leaked to the target: %v", tg.leaked[:1])
	}
	if s.Latency.P50 <= 0 || s.Latency.Max < s.Latency.P99 || s.Latency.P99 < s.Latency.P50 {
		t.Errorf("latency %+v", s.Latency)
	}
	if len(r.Tags) != 1 || r.Tags[0].Tag != "Normal_Requests" || r.Tags[0].Requests != 150 {
		t.Errorf("tags %+v", r.Tags)
	}
}

func TestRunPostAmmo(t *testing.T) {
	tg := newTarget(t, 0, func(int64) int { return http.StatusCreated })
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  ammofile: ammo.txt
  load_profile: {load_type: rps, schedule: "const(100, 1s)"}
`, seedPost)
	r := run(t, context.Background(), c)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.bodies != 100 || r.Summary.Codes["201"] != 100 {
		t.Errorf("server got %d JSON bodies, report %v, want 100", tg.bodies, r.Summary.Codes)
	}
}

func TestRunAutostopHTTP(t *testing.T) {
	tg := newTarget(t, 0, func(int64) int { return http.StatusInternalServerError })
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  uris: [/notes/]
  load_profile:
    load_type: rps
    schedule: const(20, 30s)
autostop:
  autostop:
    - limit(1m)
    - http(5xx,50%,2s)
`, "")
	start := time.Now()
	r := run(t, context.Background(), c)
	took := time.Since(start)
	s := r.Summary
	if s.Autostop == nil || s.Autostop.Criterion != "http(5xx,50%,2s)" || !s.Autostop.Fails || s.Autostop.Line != 10 {
		t.Fatalf("autostop = %+v, want http(5xx,50%%,2s) at line 10", s.Autostop)
	}
	// Seconds 0 and 1 are all 500s: it fires when second 1 closes, just after 2s.
	if s.Autostop.Second != 1 || took > 5*time.Second {
		t.Errorf("fired with second %d, test took %s; want second 1, well before the schedule's 30s", s.Autostop.Second, took)
	}
	if s.Passed || s.Verdict != "FAIL" {
		t.Errorf("verdict %s", s.Verdict)
	}
	if got := tg.requests.Load(); got > 80 || int64(s.Requests) != got || int64(s.Codes["500"]) != got {
		t.Errorf("server got %d requests, report %d (codes %v); want them equal and far below the schedule's 600", got, s.Requests, s.Codes)
	}
	if !strings.Contains(s.Autostop.Reason, "in every second from 0 to 1") {
		t.Errorf("reason %q", s.Autostop.Reason)
	}
}

func TestRunLimit(t *testing.T) {
	tg := newTarget(t, 0, ok200)
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  uris: [/]
  load_profile: {load_type: rps, schedule: "const(20, 30s)"}
autostop:
  autostop: ["limit(2s)"]
`, "")
	r := run(t, context.Background(), c)
	s := r.Summary
	if tg.requests.Load() != 40 || s.Requests != 40 {
		t.Errorf("server got %d, report %d requests, want 40 (2s at 20 rps)", tg.requests.Load(), s.Requests)
	}
	if s.Autostop == nil || s.Autostop.Criterion != "limit(2s)" || s.Autostop.Fails || !s.Passed {
		t.Errorf("autostop %+v, passed %t: limit is a scheduled end, not a failure", s.Autostop, s.Passed)
	}
	if s.TargetRequests != 40 || s.Duration != 2 {
		t.Errorf("target %d over %gs, want 40 over 2s", s.TargetRequests, s.Duration)
	}
}

func TestRunInstancesLimit(t *testing.T) {
	tg := newTarget(t, 100*time.Millisecond, ok200)
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  uris: [/]
  instances: 4
  load_profile: {load_type: rps, schedule: "const(100, 1s)"}
`, "")
	r := run(t, context.Background(), c)
	if m := tg.maxInFlight.Load(); m > 4 || m < 3 {
		t.Errorf("the server saw %d requests at once, want at most instances (4), and the load to reach it", m)
	}
	if r.Summary.MaxInFlight > 4 {
		t.Errorf("report: %d in flight", r.Summary.MaxInFlight)
	}
	// 4 at a time, 100ms each: about 40 rps of the 100 scheduled, every hit still sent.
	if r.Summary.Requests != 100 || int64(r.Summary.Requests) != tg.requests.Load() {
		t.Errorf("%d requests sent, server %d, want 100", r.Summary.Requests, tg.requests.Load())
	}
	if r.Summary.AchievedRPS > 60 || r.Summary.Duration < 2 {
		t.Errorf("achieved %g rps over %gs: 4 at a time for 100ms each is about 40 rps over 2.5s", r.Summary.AchievedRPS, r.Summary.Duration)
	}
	if r.Summary.SendLag.Max < 1000 {
		t.Errorf("send lag max %gms: hits held back by the instance limit must show as lag", r.Summary.SendLag.Max)
	}
}

func TestRunTimeout(t *testing.T) {
	// The server answers long after the 100ms timeout, so that a latency cut at the timeout
	// tells from an answer, with room for a late timer on a busy machine.
	tg := newTarget(t, 1500*time.Millisecond, ok200)
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  uris: [/]
  timeout: 100ms
  load_profile: {load_type: rps, schedule: "const(10, 1s)"}
autostop:
  autostop: ["net(110,100%,1s)"]
`, "")
	r := run(t, context.Background(), c)
	s := r.Summary
	if s.NetErrors != 10 || s.NetErrorKinds["timeout"] != 10 || s.NetCodes["110"] != 10 || s.Responses != 0 {
		t.Errorf("net errors %d %v %v, responses %d; want 10 timeouts", s.NetErrors, s.NetErrorKinds, s.NetCodes, s.Responses)
	}
	if s.Latency.Max < 100 || s.Latency.Max > 1000 {
		t.Errorf("max latency %gms, want about the 100ms timeout (the server answers after 1500ms)", s.Latency.Max)
	}
	if s.Autostop == nil || s.Autostop.Criterion != "net(110,100%,1s)" {
		t.Errorf("autostop %+v", s.Autostop)
	}
}

func TestRunInterrupted(t *testing.T) {
	// Ctrl-C once the server has had 30 requests (1.5 s at 20 rps).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var interrupted atomic.Int64 // UnixNano of the interrupt
	tg := newTarget(t, 0, func(n int64) int {
		if n == 30 {
			interrupted.Store(time.Now().UnixNano())
			cancel()
		}
		return http.StatusOK
	})
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  uris: [/]
  load_profile: {load_type: rps, schedule: "const(20, 30s) const(0, 1h) const(1, 1s)"}
`, "")
	r := run(t, ctx, c)
	if at := interrupted.Load(); at == 0 {
		t.Fatal("the server never got its 30th request")
	} else if took := time.Since(time.Unix(0, at)); took > 2500*time.Millisecond {
		t.Errorf("took %s to stop after Ctrl-C", took)
	}
	s := r.Summary
	if s.Verdict != "INTERRUPTED" || s.Passed || s.Autostop == nil || !s.Autostop.Interrupt {
		t.Errorf("verdict %s, autostop %+v", s.Verdict, s.Autostop)
	}
	if got := tg.requests.Load(); got < 30 || got > 35 || int64(s.Requests) != got {
		t.Errorf("server got %d, report %d; want about 30", got, s.Requests)
	}
	paths, err := r.WriteReports(t.TempDir())
	if err != nil || len(paths) != 3 {
		t.Fatalf("reports %v: %v", paths, err)
	}
}

// lateness is how late, in seconds, the runner sent its latest hit against the schedule, by its
// own account (the report's send lag). On an idle machine it is a few milliseconds; on one busy
// with other packages' tests, hits can go out tens of milliseconds late and so fall into the
// next second: the checks of per-second counts allow for that much and no more. A runner more
// than a second behind its schedule fails the test.
func lateness(t *testing.T, s Summary) float64 {
	t.Helper()
	if s.SendLag.Max > 1000 {
		t.Errorf("hits went out up to %gms late: the runner did not keep to the schedule", s.SendLag.Max)
	}
	return s.SendLag.Max / 1000
}

func TestRunUnreachable(t *testing.T) {
	addr := nettest.ClosedAddr(t)
	c := bundle(t, addr, `phantom:
  address: ADDRESS
  uris: [/]
  load_profile: {load_type: rps, schedule: "const(1, 1s)"}
`, "")
	reqs, _ := c.ReadAmmo()
	_, err := Run(context.Background(), c, reqs, Options{})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error = %v, want ErrUnreachable naming %s", err, addr)
	}
	// Without the connection test it runs, and every request is refused.
	c.ConnectionTest = false
	r, err := Run(context.Background(), c, reqs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.NetErrorKinds["refused"] != 1 || r.Summary.NetCodes["111"] != 1 {
		t.Errorf("net errors %v %v", r.Summary.NetErrorKinds, r.Summary.NetCodes)
	}
}

func TestReports(t *testing.T) {
	tg := newTarget(t, 0, func(n int64) int {
		if n%10 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	c := bundle(t, addrOf(tg), `phantom:
  address: ADDRESS
  ammofile: ammo.txt
  load_profile: {load_type: rps, schedule: "line(20, 60, 2s)"}
autostop:
  autostop: ["http(5xx,50%,2s)"]
`, seedPost)
	r := run(t, context.Background(), c)
	dir := t.TempDir()
	paths, err := r.WriteReports(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, SummaryFile), filepath.Join(dir, JSONFile), filepath.Join(dir, HTMLFile)}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("paths %v", paths)
	}
	var back Result
	if err := json.Unmarshal(readFile(t, want[1]), &back); err != nil {
		t.Fatal(err)
	}
	s := back.Summary
	if int64(s.Requests) != tg.requests.Load() || int64(s.Codes["200"]) != tg.count(200) || int64(s.Codes["503"]) != tg.count(503) {
		t.Errorf("report.json: %d requests, codes %v; server: %d requests, %d 200s, %d 503s",
			s.Requests, s.Codes, tg.requests.Load(), tg.count(200), tg.count(503))
	}
	// line(20, 60, 2s) ends with a hit due just before 2 s: a third second only if it went out late.
	late := lateness(t, s)
	if n := len(back.Seconds); s.Requests != 80 || n != 2 && (n != 3 || late < 0.02) || !s.Passed {
		t.Errorf("%d requests in %d seconds, passed %t; want 80 in 2, passed", s.Requests, n, s.Passed)
	}
	sent := 0
	for _, sec := range back.Seconds {
		sent += sec.Sent
	}
	if sent != s.Requests {
		t.Errorf("seconds add up to %d requests, summary says %d", sent, s.Requests)
	}
	html := string(readFile(t, want[2]))
	if n := strings.Count(html, "<svg"); n != 3 {
		t.Errorf("%d SVG charts in the HTML, want 3", n)
	}
	for _, external := range []string{"<script", "<link", "src=", "@import", "url(http"} {
		if strings.Contains(html, external) {
			t.Errorf("the HTML report loads something (%q): it must be self-contained", external)
		}
	}
	if !strings.Contains(html, "Requests per second") || !strings.Contains(html, "PASS") {
		t.Error("the HTML lacks its charts' titles or the verdict")
	}
	text := string(readFile(t, want[0]))
	for _, line := range []string{`(?m)^Requests +80 sent`, `(?m)^HTTP codes +200: \d+, 503: \d+$`, `(?m)^Result +PASS$`, `(?m)^Tag Normal_Requests +80 requests`} {
		if !regexp.MustCompile(line).MatchString(text) {
			t.Errorf("summary.txt lacks %s:\n%s", line, text)
		}
	}
}

// TestRunTLS fires at an https target (phantom's ssl: true): with the target's authority in
// RootCAs every request is answered; with another authority none reaches it; without
// RootCAs any certificate is taken, as phantom does.
func TestRunTLS(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	c := bundle(t, strings.TrimPrefix(srv.URL, "https://"), `phantom:
  address: ADDRESS
  ssl: true
  ammofile: ammo.txt
  timeout: 5s
  load_profile: {load_type: rps, schedule: "const(20, 1s)"}
`, seedGet)
	reqs, err := c.ReadAmmo()
	if err != nil {
		t.Fatal(err)
	}
	own := x509.NewCertPool()
	own.AddCert(srv.Certificate())
	ca, _, err := pki.NewAuthority("other", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other := x509.NewCertPool()
	other.AppendCertsFromPEM(ca.CertPEM)
	for _, tt := range []struct {
		name  string
		roots *x509.CertPool
		want  int64
	}{{"the target's authority", own, 20}, {"any certificate", nil, 20}, {"another authority", other, 0}} {
		before := hits.Load()
		r, err := Run(context.Background(), c, reqs, Options{RootCAs: tt.roots})
		if err != nil {
			t.Fatal(err)
		}
		if got := hits.Load() - before; got != tt.want || int64(r.Summary.Codes["200"]) != tt.want {
			t.Errorf("%s: %d requests reached the target, %d answered 200; want %d", tt.name, got, r.Summary.Codes["200"], tt.want)
		}
	}
}
