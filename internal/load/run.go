package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// ErrUnreachable is returned (wrapped) by Run when the target does not accept connections
// before the test starts (Tank's connection_test).
var ErrUnreachable = errors.New("target unreachable")

// Options tune Run; the zero value runs quietly.
type Options struct {
	// Progress gets a line about each completed second; nil for none.
	Progress io.Writer
	// InPlace rewrites a single progress line (for a terminal) instead of writing one line
	// per second.
	InPlace bool
	// StopGrace is how long requests in flight may still finish when the test is stopped
	// early (autostop, Ctrl-C) before they are cut off; 0 means 2s.
	StopGrace time.Duration
	// RootCAs, when set, are the authorities an https target's certificate must verify
	// against (for the address dialled); nil takes any certificate, as phantom does.
	RootCAs *x509.CertPool
}

// ammoIndexHeader carries a request's ammo index from the targeter to the transport, which
// removes it: vegeta's Target has no field for a tag.
const ammoIndexHeader = "X-Pghac-Ammo"

// vegetaSeqHeader is the header vegeta numbers its hits with; the transport removes it too,
// so that the target gets exactly the ammo's headers.
const vegetaSeqHeader = "X-Vegeta-Seq"

var errStopped = errors.New("pghac: test stopped")

// tlsConfig verifies an https target against roots, or takes any certificate without them
// (phantom verifies none).
func tlsConfig(roots *x509.CertPool) *tls.Config {
	if roots == nil {
		return &tls.Config{InsecureSkipVerify: true}
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// Run runs the test cfg describes with ammo (cycled in order) against cfg's address: hits at
// the schedule's times (an open model: late responses do not slow the schedule down), at
// most cfg.Instances in flight, each cut off after cfg.Timeout. Every completed second is
// checked against the autostop criteria; the first that fires stops the test, as does a
// limit criterion or cancelling ctx. Requests still in flight then get Options.StopGrace
// to finish.
//
// The error is only for a test that could not start: bad ammo for the address, ctx
// cancelled before the start, or (with cfg.ConnectionTest) a target that refuses
// connections, wrapping ErrUnreachable. Whatever happens once it runs is in the Result.
func Run(ctx context.Context, cfg *Config, ammo []Request, opts Options) (*Result, error) {
	if len(ammo) == 0 {
		return nil, errors.New("no ammo")
	}
	if cfg.Instances < 1 || cfg.Timeout <= 0 || cfg.Schedule.Hits() == 0 {
		return nil, errors.New("config without instances, timeout or schedule")
	}
	targets := make([]vegeta.Target, len(ammo))
	for i, r := range ammo {
		h := r.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Del("Content-Length")
		h.Set("Host", cfg.Host)
		h.Set(ammoIndexHeader, strconv.Itoa(i))
		targets[i] = vegeta.Target{Method: r.Method, URL: cfg.URL() + r.Path, Body: r.Body, Header: h}
		if _, err := targets[i].Request(); err != nil {
			return nil, fmt.Errorf("ammo request %d (%s %s): %v", i+1, r.Method, clip(r.Path), err)
		}
	}
	if cfg.ConnectionTest {
		d := net.Dialer{Timeout: min(cfg.Timeout, 5*time.Second)}
		conn, err := d.DialContext(ctx, "tcp", cfg.Address)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, cfg.Address, errors.Unwrap(err))
		}
		conn.Close()
	}
	grace := opts.StopGrace
	if grace <= 0 {
		grace = 2 * time.Second
	}

	total := cfg.Schedule.Hits()
	if cfg.Loop > 0 {
		total = min(total, int64(cfg.Loop)*int64(len(ammo)))
	}
	if cfg.AmmoLimit > 0 {
		total = min(total, int64(cfg.AmmoLimit))
	}
	limit := cfg.Limit()

	abort, abortNow := context.WithCancel(context.Background())
	defer abortNow()
	var stopped atomic.Bool
	tr := &tracker{
		base: &http.Transport{
			Proxy:               nil, // a load generator talks to its target directly, as phantom does
			DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     tlsConfig(opts.RootCAs),
			MaxIdleConnsPerHost: cfg.Instances,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true, // send the ammo's headers, not an added Accept-Encoding
		},
		abort:    abort,
		timeout:  cfg.Timeout,
		inflight: map[int]int{},
		active:   map[int]int{},
		hits:     map[uint64]hitInfo{},
	}
	client := &http.Client{
		Transport: tr,
		// Phantom does not follow redirects: a 3xx is the response.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	atk := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.MaxWorkers(uint64(cfg.Instances)),
		vegeta.MaxBody(0), // count responses, do not keep their bodies
	)
	pc := &pacer{sched: cfg.Schedule, total: total, limit: limit, stopped: &stopped}
	var taken atomic.Int64
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		taken.Add(1)
		if stopped.Load() {
			return errStopped
		}
		*t = targets[(next.Add(1)-1)%int64(len(targets))]
		return nil
	}

	a := newAggregator(cfg, ammo, total, limit, opts)
	began := time.Now()
	tr.began, a.began = began, began
	results := atk.Attack(targeter, pc, 0, "")

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	done := ctx.Done()
	var graceOver <-chan time.Time
	var received int64
	stop := func(s Stop) {
		if a.stop != nil {
			return
		}
		s.At = time.Since(began).Seconds()
		a.stop = &s
		stopped.Store(true)
		atk.Stop()
		graceOver = time.After(grace)
	}
	open := true
	for open {
		select {
		case r, ok := <-results:
			if !ok {
				open = false
				break
			}
			received++
			if r.Error == errStopped.Error() {
				break
			}
			h, ok := tr.take(r.Seq)
			a.add(r, h, ok)
		case <-tick.C:
		case <-done:
			done = nil
			stop(Stop{Criterion: "interrupted", Reason: "the test was interrupted", Interrupt: true})
		case <-graceOver:
			graceOver = nil
			abortNow() // cut off what is still in flight
		}
		if stopped.Load() && taken.Load() == received {
			// Every hit taken has reported; vegeta may still sleep towards the next one.
			break
		}
		now := time.Since(began)
		for {
			closed, fired := a.closeNext(now, tr)
			if fired != nil {
				stop(*fired)
			}
			if !closed {
				break
			}
		}
	}
	if open {
		go func() {
			for range results { // let vegeta's workers finish; their hits were refused
			}
		}()
	}
	a.end = time.Since(began)
	for a.closeAll(tr) {
	}
	if a.stop == nil && pc.limited.Load() {
		for _, c := range cfg.Autostop {
			if c.Limit() == limit {
				a.stop = &Stop{Criterion: c.Text, Line: c.Line, Second: int(limit / time.Second), At: limit.Seconds(),
					Reason: fmt.Sprintf("the test reached its limit of %s before the schedule's end (%s)", fmtDur(limit), fmtDur(cfg.Schedule.Duration()))}
				break
			}
		}
	}
	a.finishProgress()
	return a.result(), nil
}

// pacer sends hit n at the schedule's HitTime(n), until total hits, the limit, or a stop.
type pacer struct {
	sched   Schedule
	total   int64
	limit   time.Duration
	stopped *atomic.Bool
	limited atomic.Bool // stopped by the limit
}

func (p *pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.stopped.Load() || int64(hits) >= p.total {
		return 0, true
	}
	at := p.sched.HitTime(int64(hits))
	if p.limit > 0 && at >= p.limit {
		p.limited.Store(true)
		return 0, true
	}
	return at - elapsed, false
}

func (p *pacer) Rate(elapsed time.Duration) float64 { return p.sched.Rate(elapsed) }

// hitInfo is what the transport learnt of one hit, by vegeta's sequence number.
type hitInfo struct {
	sec     int // second of the test it was sent in
	ammo    int
	err     bool
	kind    netKind
	errno   int
	aborted bool
}

// tracker is the attack's transport: it strips the ammo index and vegeta's sequence
// headers, notes when each hit went out and how it failed, counts requests in flight, cuts
// each request off after timeout, and all of them when abort is cancelled.
type tracker struct {
	base    http.RoundTripper
	abort   context.Context
	timeout time.Duration
	began   time.Time

	mu       sync.Mutex
	inflight map[int]int // second -> hits sent in it whose results the aggregator has not had
	current  int         // requests in flight
	active   map[int]int // second -> most requests in flight during it
	hits     map[uint64]hitInfo
}

func (t *tracker) RoundTrip(req *http.Request) (*http.Response, error) {
	seq, _ := strconv.ParseUint(req.Header.Get(vegetaSeqHeader), 10, 64)
	idx, _ := strconv.Atoi(req.Header.Get(ammoIndexHeader))
	// The timeout is the tracker's, not http.Client's: the client's races its own timer
	// against the context's deadline, and the transport then cannot tell a timeout from a
	// cancellation. It covers reading the body too: cancel runs when the body is closed.
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	unhook := context.AfterFunc(t.abort, cancel)
	r := req.Clone(ctx)
	r.Header.Del(vegetaSeqHeader)
	r.Header.Del(ammoIndexHeader)

	t.mu.Lock()
	sec := int(time.Since(t.began) / time.Second)
	t.inflight[sec]++
	t.current++
	t.active[sec] = max(t.active[sec], t.current)
	t.hits[seq] = hitInfo{sec: sec, ammo: idx}
	t.mu.Unlock()
	var once sync.Once
	finish := func() {
		once.Do(func() {
			unhook()
			cancel()
			t.mu.Lock()
			t.current--
			t.mu.Unlock()
		})
	}

	resp, err := t.base.RoundTrip(r)
	if err != nil {
		aborted := t.abort.Err() != nil
		finish()
		kind, errno := classifyNetError(err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			kind, errno = netTimeout, int(syscall.ETIMEDOUT)
		}
		t.mu.Lock()
		h := t.hits[seq]
		h.err, h.kind, h.errno, h.aborted = true, kind, errno, aborted
		t.hits[seq] = h
		t.mu.Unlock()
		return nil, err
	}
	resp.Body = &trackedBody{ReadCloser: resp.Body, done: finish}
	return resp, nil
}

// take hands the aggregator what is known of hit seq, and counts it as no longer pending.
func (t *tracker) take(seq uint64) (hitInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.hits[seq]
	if ok {
		delete(t.hits, seq)
		t.inflight[h.sec]--
		if t.inflight[h.sec] == 0 {
			delete(t.inflight, h.sec)
		}
	}
	return h, ok
}

// pending reports whether hits sent in second sec have results still to come.
func (t *tracker) pending(sec int) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inflight[sec] > 0, t.active[sec]
}

type trackedBody struct {
	io.ReadCloser
	done func()
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// classifyNetError sorts a transport error into a kind and an errno, as phantom reports
// network codes: 110 for a timeout, 111 refused, 104 reset; other errno values as they
// are, 999 when there is none.
func classifyNetError(err error) (netKind, int) {
	var errno syscall.Errno
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return netTimeout, int(syscall.ETIMEDOUT)
	case errors.As(err, &errno):
		switch errno {
		case syscall.ECONNREFUSED:
			return netRefused, int(errno)
		case syscall.ECONNRESET, syscall.EPIPE:
			return netReset, int(syscall.ECONNRESET)
		case syscall.ETIMEDOUT:
			return netTimeout, int(errno)
		}
		return netOther, int(errno)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return netReset, int(syscall.ECONNRESET) // the server closed the connection
	}
	return netOther, 999
}

// classifyNetErrorText does what classifyNetError does for an error vegeta only has the
// text of: one that happened while reading the response body, outside the transport.
func classifyNetErrorText(s string) (netKind, int) {
	switch {
	case strings.Contains(s, "Client.Timeout"), strings.Contains(s, "deadline exceeded"), strings.Contains(s, "timeout"):
		return netTimeout, int(syscall.ETIMEDOUT)
	case strings.Contains(s, "connection refused"):
		return netRefused, int(syscall.ECONNREFUSED)
	case strings.Contains(s, "connection reset"), strings.Contains(s, "broken pipe"), strings.Contains(s, "EOF"):
		return netReset, int(syscall.ECONNRESET)
	}
	return netOther, 999
}
