package load

import (
	"fmt"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// aggregator collects results per second of sending, closes a second once every hit sent in
// it has reported, and checks the autostop criteria on each closed second.
type aggregator struct {
	cfg   *Config
	ammo  []Request
	total int64         // hits the test may send
	limit time.Duration // of the limit criterion, 0 for none
	opts  Options
	began time.Time
	end   time.Duration // when the last result came in

	secs      []*second
	nextClose int
	watches   []*watch
	stop      *Stop

	overall  histogram
	lag      histogram     // how late hits went out, against the schedule
	lastSend time.Duration // when the last hit went out
	tags     map[string]*tagTotal
	tagList  []string // in order of first appearance in the ammo

	lastLine int // length of the in-place progress line
}

// tagTotal is the test-wide tally of one tag.
type tagTotal struct {
	hist     histogram
	requests int
	codes    map[int]int
	net      int
}

func newAggregator(cfg *Config, ammo []Request, total int64, limit time.Duration, opts Options) *aggregator {
	a := &aggregator{cfg: cfg, ammo: ammo, total: total, limit: limit, opts: opts, tags: map[string]*tagTotal{}}
	for _, c := range cfg.Autostop {
		if c.Kind != "limit" {
			a.watches = append(a.watches, &watch{c: c})
		}
	}
	for _, r := range ammo {
		if _, ok := a.tags[r.Tag]; !ok && r.Tag != "" {
			a.tags[r.Tag] = &tagTotal{codes: map[int]int{}}
			a.tagList = append(a.tagList, r.Tag)
		}
	}
	return a
}

func (a *aggregator) sec(i int) *second {
	for len(a.secs) <= i {
		a.secs = append(a.secs, &second{})
	}
	return a.secs[i]
}

// add counts result r; h is what the transport knew of it (ok false when the request never
// reached the transport).
func (a *aggregator) add(r *vegeta.Result, h hitInfo, ok bool) {
	sec := h.sec
	if !ok {
		sec = max(int(r.Timestamp.Sub(a.began)/time.Second), 0)
		h.ammo = -1
	}
	s := a.sec(sec)
	if h.aborted || (r.Code == 0 && strings.Contains(r.Error, "context canceled")) {
		s.aborted++
		return
	}
	a.lastSend = max(a.lastSend, r.Timestamp.Sub(a.began))
	if lag := r.Timestamp.Sub(a.began) - a.cfg.Schedule.HitTime(int64(r.Seq)); lag > 0 {
		a.lag.add(lag)
	} else {
		a.lag.add(0)
	}
	code, errno, kind := int(r.Code), 0, netOther
	if code == 0 {
		if h.err {
			kind, errno = h.kind, h.errno
		} else {
			kind, errno = classifyNetErrorText(r.Error)
		}
	}
	s.all.add(code, errno, kind, r.Latency)
	a.overall.add(r.Latency)
	if h.ammo >= 0 && h.ammo < len(a.ammo) && a.ammo[h.ammo].Tag != "" {
		tag := a.ammo[h.ammo].Tag
		s.tag(tag).add(code, errno, kind, r.Latency)
		tt := a.tags[tag]
		tt.hist.add(r.Latency)
		tt.requests++
		if code > 0 {
			tt.codes[code]++
		} else {
			tt.net++
		}
	}
}

// closeNext closes the next second when it is over (now is past it) and every hit sent in
// it has reported; it evaluates the autostop criteria on it and returns the first that
// fired, if any.
func (a *aggregator) closeNext(now time.Duration, tr *tracker) (closed bool, fired *Stop) {
	i := a.nextClose
	if now < time.Duration(i+1)*time.Second {
		return false, nil
	}
	if pending, _ := tr.pending(i); pending {
		return false, nil
	}
	return true, a.closeSecond(i, tr)
}

// closeAll closes the seconds left after the test ended; it returns false when none is.
func (a *aggregator) closeAll(tr *tracker) bool {
	n := max(len(a.secs), int((a.planned()+time.Second-1)/time.Second))
	if a.nextClose >= n {
		return false
	}
	if s := a.closeSecond(a.nextClose, tr); s != nil && a.stop == nil {
		s.At = a.end.Seconds()
		a.stop = s
	}
	return true
}

// planned is how long the test was to send: the schedule, cut short by the limit or a stop.
func (a *aggregator) planned() time.Duration {
	d := a.cfg.Schedule.Duration()
	if a.limit > 0 {
		d = min(d, a.limit)
	}
	if a.stop != nil {
		d = min(d, time.Duration(a.stop.At*float64(time.Second)))
	}
	return d
}

// closeSecond closes second i: its statistics are final (a result that still comes, which
// only a request that never reached the transport can do, adds to its counts but not its
// quantiles). It evaluates the autostop criteria unless the test stopped already.
func (a *aggregator) closeSecond(i int, tr *tracker) *Stop {
	s := a.sec(i)
	s.closed = true
	_, s.active = tr.pending(i)
	a.nextClose = i + 1
	a.progress(i, s)
	var fired *Stop
	if a.stop == nil {
		for _, w := range a.watches {
			if w.observe(i, s, a.cfg.Instances) {
				fired = &Stop{Criterion: w.c.Text, Line: w.c.Line, Second: i, Reason: w.reason(), Fails: true}
				break
			}
		}
	}
	// Keep the quantiles, drop the latencies: memory stays bounded however long the test.
	s.latency = s.all.latency()
	s.all.lats = nil
	for _, t := range s.tags {
		t.lats = nil
	}
	return fired
}

// target is the number of hits scheduled in second i, within the test's hits and the
// time it was to send.
func (a *aggregator) target(i int) int64 {
	from, to := time.Duration(i)*time.Second, time.Duration(i+1)*time.Second
	end := a.planned()
	if from >= end {
		return 0
	}
	to = min(to, end)
	hits := func(t time.Duration) int64 { return min(a.cfg.Schedule.HitsBefore(t), a.total) }
	return hits(to) - hits(from)
}

func (a *aggregator) progress(i int, s *second) {
	w := a.opts.Progress
	if w == nil {
		return
	}
	sent := s.all.n + s.aborted
	http := 0
	for code, n := range s.all.codes {
		if code >= 400 {
			http += n
		}
	}
	line := fmt.Sprintf("%6s / %s  rps %d of %d  p99 %s  4xx/5xx %d  net errors %d",
		fmtDur(time.Duration(i+1)*time.Second), fmtDur(a.cfg.Schedule.Duration()), sent, a.target(i),
		fmtDur(s.all.quantile(0.99)), http, s.all.netErrors())
	if a.opts.InPlace {
		pad := ""
		if n := a.lastLine - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(w, "\r%s%s", line, pad)
		a.lastLine = len(line)
		return
	}
	fmt.Fprintln(w, line)
}

func (a *aggregator) finishProgress() {
	if a.opts.Progress != nil && a.opts.InPlace && a.lastLine > 0 {
		fmt.Fprintln(a.opts.Progress)
	}
}

// fmtDur shows a duration short: 850µs, 12.3ms, 1.25s, 2m0s.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 10*time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
