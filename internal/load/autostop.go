package load

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Criterion is one Tank autostop criterion (the autostop section's list). The basic ones
// are evaluated on each completed second, as Tank's Autostop plugin does
// (plugins/Autostop/criterions.py):
//
//	http(codes, level, period[, tag])     responses whose HTTP code matches codes (5xx, 404, xx:
//	                                      x is any digit, matched as a prefix) >= level in every
//	                                      second of period; level is a count per second or N%
//	                                      of that second's results
//	net(codes, level, period[, tag])      the same for network errors, by errno (110 timeout,
//	                                      111 refused, 104 reset); xx is any error
//	quantile(q, rt, period[, tag])        the q-th percentile of response time > rt in every
//	                                      second of period; q is 50, 75, 80, 85, 90, 95, 98, 99
//	                                      or 100
//	time(rt, period[, tag])               the average response time > rt every second of period
//	instances(level, period)              more than level requests in flight (a count or N% of
//	                                      phantom.instances) in every second of period
//	limit(duration)                       stop after duration: a scheduled end, not a failure
//
// Periods and durations take Tank's units (ms, s, m, h, d, w, combined as 1m30s; a bare
// number is seconds); response times too, but a bare number is milliseconds. Seconds without
// any result are skipped: they neither count nor break a period.
type Criterion struct {
	Text string // as written
	Kind string // http, net, quantile, time, instances or limit
	Line int    // of the criterion in load.yaml; 0 when not read from a file

	codes    *regexp.Regexp
	level    float64
	relative bool
	quantile float64
	rt       time.Duration
	period   int // seconds
	limit    time.Duration
	tag      string
}

// FailsTest reports whether the criterion firing fails the test: every one but limit, which
// is the test's scheduled end.
func (c Criterion) FailsTest() bool { return c.Kind != "limit" }

// Limit is a limit criterion's duration, 0 for the other kinds.
func (c Criterion) Limit() time.Duration { return c.limit }

// String is the criterion as written.
func (c Criterion) String() string { return c.Text }

// tankQuantiles are the quantiles Tank's aggregator computes (aggregator/aggregator.py);
// a quantile criterion on any other never fires in Tank, so it is an error here.
var tankQuantiles = []float64{50, 75, 80, 85, 90, 95, 98, 99, 100}

// unsupportedCriteria are Tank's criteria that pghac does not evaluate.
var unsupportedCriteria = map[string]string{
	"total_time":        "cumulative",
	"total_http":        "cumulative",
	"total_net":         "cumulative",
	"negative_http":     "cumulative",
	"negative_net":      "cumulative",
	"http_trend":        "cumulative",
	"steady_cumulative": "cumulative (and not implemented by Tank either)",
	"metric_lower":      "telegraf metric",
	"metric_higher":     "telegraf metric",
}

var (
	criterionForm = regexp.MustCompile(`^\s*([A-Za-z_]+)\s*\((.*)\)\s*$`)
	codesForm     = regexp.MustCompile(`^[0-9x]+$`)
)

// ParseCriterion parses one autostop criterion such as "http(5xx,10%,5s)" or "limit(3m)".
func ParseCriterion(text string) (Criterion, error) {
	c := Criterion{Text: strings.TrimSpace(text)}
	fail := func(format string, args ...any) (Criterion, error) {
		return Criterion{}, fmt.Errorf("autostop %q: %s", c.Text, fmt.Sprintf(format, args...))
	}
	m := criterionForm.FindStringSubmatch(text)
	if m == nil {
		return fail("want a criterion like http(5xx,10%%,5s), net(xx,10%%,5s), quantile(95,500ms,10s), time(1s,10s) or limit(5m)")
	}
	c.Kind = strings.ToLower(m[1])
	var args []string
	if strings.TrimSpace(m[2]) != "" {
		args = strings.Split(m[2], ",")
		for i := range args {
			args[i] = strings.TrimSpace(args[i])
		}
	}
	nargs := func(min, max int, names string) error {
		if len(args) < min || len(args) > max {
			if min == max {
				return fmt.Errorf("%s takes %d arguments (%s)", c.Kind, min, names)
			}
			return fmt.Errorf("%s takes %d or %d arguments (%s)", c.Kind, min, max, names)
		}
		return nil
	}
	period := func(v string) error {
		d, err := parseTankTime(v, time.Second)
		if err != nil {
			return fmt.Errorf("period: %v", err)
		}
		// Tank truncates periods to whole seconds; a period of 0 fires on the first
		// matching second, as one of 1 does.
		c.period = max(int(d/time.Second), 1)
		return nil
	}
	switch c.Kind {
	case "http", "net":
		if err := nargs(3, 4, "codes, level, period[, tag]"); err != nil {
			return fail("%v", err)
		}
		codes := strings.ToLower(args[0])
		if !codesForm.MatchString(codes) {
			return fail("codes %q: want digits and x, like 5xx, 404 or xx", args[0])
		}
		c.codes = regexp.MustCompile("^" + strings.ReplaceAll(codes, "x", "[0-9]"))
		lv := args[1]
		if strings.HasSuffix(lv, "%") {
			c.relative = true
			lv = strings.TrimSpace(strings.TrimSuffix(lv, "%"))
		}
		f, err := strconv.ParseFloat(lv, 64)
		if err != nil || f < 0 || (!c.relative && f != float64(int64(f))) {
			return fail("level %q: want a count per second like 10 or a share like 10%%", args[1])
		}
		c.level = f
		if err := period(args[2]); err != nil {
			return fail("%v", err)
		}
		if len(args) == 4 {
			c.tag = args[3]
		}
	case "quantile":
		if err := nargs(3, 4, "quantile, response time, period[, tag]"); err != nil {
			return fail("%v", err)
		}
		q, err := strconv.ParseFloat(args[0], 64)
		ok := err == nil
		if ok {
			ok = false
			for _, tq := range tankQuantiles {
				ok = ok || q == tq
			}
		}
		if !ok {
			return fail("quantile %q: want one of 50, 75, 80, 85, 90, 95, 98, 99, 100 (the ones Tank computes)", args[0])
		}
		c.quantile = q
		if c.rt, err = parseTankTime(args[1], time.Millisecond); err != nil {
			return fail("response time: %v", err)
		}
		if err := period(args[2]); err != nil {
			return fail("%v", err)
		}
		if len(args) == 4 {
			c.tag = args[3]
		}
	case "time":
		if err := nargs(2, 3, "response time, period[, tag]"); err != nil {
			return fail("%v", err)
		}
		var err error
		if c.rt, err = parseTankTime(args[0], time.Millisecond); err != nil {
			return fail("response time: %v", err)
		}
		if err := period(args[1]); err != nil {
			return fail("%v", err)
		}
		if len(args) == 3 {
			c.tag = args[2]
		}
	case "instances":
		if err := nargs(2, 2, "level, period"); err != nil {
			return fail("%v", err)
		}
		lv := args[0]
		if strings.HasSuffix(lv, "%") {
			c.relative = true
			lv = strings.TrimSpace(strings.TrimSuffix(lv, "%"))
		}
		f, err := strconv.ParseFloat(lv, 64)
		if err != nil || f < 0 {
			return fail("level %q: want a number of instances like 90 or a share like 90%%", args[0])
		}
		c.level = f
		if err := period(args[1]); err != nil {
			return fail("%v", err)
		}
	case "limit":
		if err := nargs(1, 1, "duration"); err != nil {
			return fail("%v", err)
		}
		d, err := parseTankTime(args[0], time.Second)
		if err != nil {
			return fail("duration: %v", err)
		}
		if d < time.Second {
			return fail("duration %q: want at least 1s", args[0])
		}
		c.limit = d
	default:
		if why, ok := unsupportedCriteria[c.Kind]; ok {
			return fail("%s is a %s criterion, which pghac does not evaluate; supported: http, net, quantile, time, instances, limit", c.Kind, why)
		}
		return fail("unknown criterion %q; supported: http, net, quantile, time, instances, limit", m[1])
	}
	return c, nil
}

var tankTimePart = regexp.MustCompile(`(?i)^(\d+)(ms|s|m|h|d|w)?`)

// parseTankTime parses Tank's time strings (common/util.py expand_time): one or more
// <digits><unit> parts, units ms, s, m, h, d, w in any case; a part without a unit is in
// unit def. Fractions are not Tank's and are errors.
func parseTankTime(v string, def time.Duration) (time.Duration, error) {
	rest := strings.TrimSpace(v)
	if rest == "" {
		return 0, fmt.Errorf("empty time: want one like 500ms, 5s, 1m30s")
	}
	var d time.Duration
	for rest != "" {
		m := tankTimePart.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("time %q: want digits with ms, s, m, h, d or w, like 500ms, 5s, 1m30s", v)
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > 1e9 {
			return 0, fmt.Errorf("time %q is too long", v)
		}
		unit := def
		switch strings.ToLower(m[2]) {
		case "ms":
			unit = time.Millisecond
		case "s":
			unit = time.Second
		case "m":
			unit = time.Minute
		case "h":
			unit = time.Hour
		case "d":
			unit = 24 * time.Hour
		case "w":
			unit = 7 * 24 * time.Hour
		}
		d += time.Duration(n) * unit
		rest = rest[len(m[0]):]
	}
	return d, nil
}

// Stop is why a test stopped before its schedule ended.
type Stop struct {
	Criterion string  `json:"criterion"`            // as written in load.yaml, or "interrupted"
	Second    int     `json:"second"`               // the second (from the start) that completed it
	At        float64 `json:"at_s"`                 // seconds from the start when the test was stopped
	Reason    string  `json:"reason"`               // a sentence saying what was seen
	Fails     bool    `json:"fails_test"`           // false for limit and for an interruption
	Line      int     `json:"line,omitempty"`       // of the criterion in load.yaml
	Interrupt bool    `json:"interrupted,omitzero"` // stopped by the user (Ctrl-C)
}

// watch is a criterion's state while the test runs: how many seconds in a row matched.
type watch struct {
	c     Criterion
	run   int // matching seconds in a row
	first int // the first of them
	last  string
}

// observe evaluates second sec and reports whether the criterion fired with it.
// instances is phantom.instances, for relative instances levels.
func (w *watch) observe(sec int, s *second, instances int) bool {
	if s.all.n == 0 {
		return false // Tank has no aggregate for an empty second
	}
	t := &s.all
	if w.c.tag != "" {
		t = s.tags[w.c.tag]
		if t == nil || t.n == 0 {
			return false
		}
	}
	var hit bool
	switch w.c.Kind {
	case "http", "net":
		codes := t.codes
		what := "responses"
		if w.c.Kind == "net" {
			codes, what = t.netCodes, "network errors"
		}
		matched := 0
		for code, n := range codes {
			if w.c.codes.MatchString(strconv.Itoa(code)) {
				matched += n
			}
		}
		v := float64(matched)
		if w.c.relative {
			v = v / float64(t.n) * 100
			w.last = fmt.Sprintf("%s %s were %.1f%% of %d results", w.codesText(), what, v, t.n)
		} else {
			w.last = fmt.Sprintf("%d %s %s of %d results", matched, w.codesText(), what, t.n)
		}
		hit = v >= w.c.level
	case "quantile":
		q := t.quantile(w.c.quantile / 100)
		w.last = fmt.Sprintf("p%g was %s", w.c.quantile, fmtDur(q))
		hit = q > w.c.rt
	case "time":
		avg := t.mean()
		w.last = fmt.Sprintf("the mean response time was %s", fmtDur(avg))
		hit = avg > w.c.rt
	case "instances":
		level := w.c.level
		if w.c.relative {
			level = level * float64(instances) / 100
		}
		w.last = fmt.Sprintf("%d requests were in flight at most (limit %g)", s.active, level)
		hit = float64(s.active) > level
	}
	if !hit {
		w.run = 0
		return false
	}
	if w.run == 0 {
		w.first = sec
	}
	w.run++
	return w.run >= w.c.period
}

func (w *watch) codesText() string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.ReplaceAll(w.c.codes.String(), "[0-9]", "x"), "^"), "$")
}

// reason says what made the criterion fire, after observe returned true.
func (w *watch) reason() string {
	span := fmt.Sprintf("in second %d", w.first)
	if w.c.period > 1 {
		span = fmt.Sprintf("in every second from %d to %d (%d s)", w.first, w.first+w.c.period-1, w.c.period)
	}
	switch w.c.Kind {
	case "http", "net":
		lv := fmt.Sprintf("%g per second", w.c.level)
		if w.c.relative {
			lv = fmt.Sprintf("%g%%", w.c.level)
		}
		return fmt.Sprintf("at least %s %s; in the last one %s", lv, span, w.last)
	case "quantile":
		return fmt.Sprintf("p%g above %s %s; in the last one %s", w.c.quantile, fmtDur(w.c.rt), span, w.last)
	case "time":
		return fmt.Sprintf("mean response time above %s %s; in the last one %s", fmtDur(w.c.rt), span, w.last)
	case "instances":
		return fmt.Sprintf("too many requests in flight %s; in the last one %s", span, w.last)
	}
	return w.last
}
