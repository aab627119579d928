package load

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Schedule is a Tank rps load profile: segments run one after another, each a constant rate
// or a linear ramp (a step is a run of constants). It knows the time of every hit: hit n
// of a segment is sent when the integral of the segment's rate reaches n, and a segment of
// duration d sends ⌊∫rate⌋ hits, as Tank's stepper (stepper/load_plan.py) computes them.
// The zero Schedule sends nothing.
type Schedule struct {
	text     string
	segs     []segment
	cum      []int64 // hits before each segment
	total    int64
	duration time.Duration
}

// segment is a constant (from == to) or a linear ramp from `from` to `to` rps.
type segment struct {
	start    time.Duration // offset in the schedule
	dur      time.Duration
	from, to float64
	hits     int64
}

// seconds of d as a float.
func secs(d time.Duration) float64 { return d.Seconds() }

func (g segment) slope() float64 { return (g.to - g.from) / secs(g.dur) }

// hitTime is when the segment's hit n (0-based) is sent, from the segment's start: the
// root of from·t + slope·t²/2 = n, written so that it is exact for slope 0 and stable for
// ramps up and down.
func (g segment) hitTime(n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	var t float64
	if g.from == g.to {
		t = float64(n) / g.from
	} else {
		d := g.from*g.from + 2*g.slope()*float64(n)
		if d < 0 { // rounding at the very end of a ramp down to 0
			d = 0
		}
		t = 2 * float64(n) / (g.from + math.Sqrt(d))
	}
	return time.Duration(math.Round(t * 1e9))
}

// scheduleSegment matches one `name(args)` segment; Tank's stepper strips spaces before "(".
var scheduleSegment = regexp.MustCompile(`^\s*([A-Za-z_]+)\s*\(([^()]*)\)`)

// scheduleNumber is Tank's rate/step argument: digits and a point ([0-9.]+ in load_plan.py).
var scheduleNumber = regexp.MustCompile(`^(\d+\.?\d*|\.\d+)$`)

// scheduleDuration is Tank's validator's duration: bare seconds or d, h, m, s parts in that
// order, whole numbers only (validator.py DURATION_RE, without its empty match).
var scheduleDuration = regexp.MustCompile(`^(\d+d)?(\d+h)?(\d+m)?(\d+s?)?$`)

// ParseSchedule parses a Tank rps schedule: a whitespace-separated sequence of
// line(from, to, duration), const(rps, duration) and step(from, to, step, duration)
// (Tank's stepper splits on ")", so no space is needed between segments).
// Rates are non-negative numbers (fractions allowed); durations are bare seconds or
// combinations like 1h30m or 2m15s (no fractions, no ms). Errors read
// `schedule "<text>": <what is wrong>`.
func ParseSchedule(text string) (Schedule, error) {
	s := Schedule{text: strings.Join(strings.Fields(text), " ")}
	fail := func(format string, args ...any) (Schedule, error) {
		return Schedule{}, fmt.Errorf("schedule %q: %s", s.text, fmt.Sprintf(format, args...))
	}
	rest := text
	if strings.TrimSpace(rest) == "" {
		return fail("empty: want segments like line(1, 100, 2m) const(100, 5m)")
	}
	var at time.Duration
	for strings.TrimSpace(rest) != "" {
		m := scheduleSegment.FindStringSubmatchIndex(rest)
		if m == nil {
			bad := strings.Fields(rest)[0]
			if strings.Contains(rest, "(") && !strings.Contains(rest[strings.Index(rest, "("):], ")") {
				return fail("%q has no closing parenthesis", bad)
			}
			return fail("unexpected %q: want line(from, to, duration), const(rps, duration) or step(from, to, step, duration)", bad)
		}
		name, argText := rest[m[2]:m[3]], rest[m[4]:m[5]]
		rest = rest[m[1]:]
		args := strings.Split(argText, ",")
		for i := range args {
			args[i] = strings.TrimSpace(args[i])
		}
		var want int
		var names string
		switch name {
		case "line":
			want, names = 3, "from, to, duration"
		case "const":
			want, names = 2, "rps, duration"
		case "step":
			want, names = 4, "from, to, step, duration"
		default:
			return fail("unknown segment %q: want line(from, to, duration), const(rps, duration) or step(from, to, step, duration)", name)
		}
		if len(args) != want {
			return fail("%s takes %d arguments (%s)", name, want, names)
		}
		nums := make([]float64, want-1)
		argNames := strings.Split(names, ", ")
		for i, a := range args[:want-1] {
			if !scheduleNumber.MatchString(a) {
				return fail("%s: %s %q is not a non-negative number", name, argNames[i], a)
			}
			nums[i], _ = strconv.ParseFloat(a, 64)
		}
		dur, err := parseScheduleDuration(args[want-1])
		if err != nil {
			return fail("%s: %v", name, err)
		}
		switch name {
		case "const":
			s.add(&at, nums[0], nums[0], dur)
		case "line":
			if dur == 0 {
				return fail("line: duration must be more than 0")
			}
			s.add(&at, nums[0], nums[1], dur)
		case "step":
			from, to, inc := nums[0], nums[1], nums[2]
			if inc <= 0 {
				return fail("step: step must be more than 0")
			}
			if to < from {
				inc = -inc
			}
			// Tank's Stairway: from, from+inc, ... while not past `to`, then `to` itself
			// when the stairs did not land on it.
			n := int(math.Floor((to-from)/inc + 1e-9))
			for i := 0; i <= n; i++ {
				r := from + float64(i)*inc
				s.add(&at, r, r, dur)
			}
			if last := from + float64(n)*inc; (inc > 0 && last < to-1e-9) || (inc < 0 && last > to+1e-9) {
				s.add(&at, to, to, dur)
			}
		}
	}
	s.duration = at
	return s, nil
}

func (s *Schedule) add(at *time.Duration, from, to float64, dur time.Duration) {
	g := segment{start: *at, dur: dur, from: from, to: to}
	// ⌊mean rate · duration⌋ hits, as Tank's Const and Line __len__; the epsilon keeps
	// 0.1·30 from flooring to 2.
	g.hits = int64(math.Floor((from+to)/2*secs(dur) + 1e-9))
	s.cum = append(s.cum, s.total)
	s.segs = append(s.segs, g)
	s.total += g.hits
	*at += dur
}

// parseScheduleDuration parses a schedule duration: bare seconds or d/h/m/s parts.
func parseScheduleDuration(v string) (time.Duration, error) {
	if v == "" || !scheduleDuration.MatchString(v) {
		return 0, fmt.Errorf("duration %q is not a schedule duration (like 90, 2m, 1h30m: whole numbers with d, h, m, s in that order; no fractions, no ms)", v)
	}
	var d time.Duration
	num := 0
	for _, c := range v {
		if c >= '0' && c <= '9' {
			num = num*10 + int(c-'0')
			if num > 1e7 {
				return 0, fmt.Errorf("duration %q is too long", v)
			}
			continue
		}
		unit := time.Second
		switch c {
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		}
		d += time.Duration(num) * unit
		num = 0
	}
	d += time.Duration(num) * time.Second
	return d, nil
}

// String is the schedule as written, with runs of white space made one space.
func (s Schedule) String() string { return s.text }

// Duration is the sum of the segments' durations.
func (s Schedule) Duration() time.Duration { return s.duration }

// Hits is the number of hits the schedule sends.
func (s Schedule) Hits() int64 { return s.total }

// Rate is the scheduled rate in requests per second at t from the start; 0 outside the
// schedule. At a boundary between segments it is the later segment's rate.
func (s Schedule) Rate(t time.Duration) float64 {
	if t < 0 || t >= s.duration {
		return 0
	}
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].start+s.segs[i].dur > t })
	g := s.segs[i]
	if g.from == g.to {
		return g.from
	}
	return g.from + g.slope()*secs(t-g.start)
}

// HitTime is when hit n (0-based, n < Hits()) is sent, from the start of the schedule.
// It increases with n.
func (s Schedule) HitTime(n int64) time.Duration {
	if n < 0 {
		return 0
	}
	if n >= s.total {
		return s.duration
	}
	// The last segment starting at or before hit n; segments without hits share their
	// cum with the next one, so this is never one of them.
	i := sort.Search(len(s.cum), func(i int) bool { return s.cum[i] > n }) - 1
	g := s.segs[i]
	return g.start + g.hitTime(n-s.cum[i])
}

// HitsBefore is the number of hits sent before t: those whose HitTime is < t.
func (s Schedule) HitsBefore(t time.Duration) int64 {
	return int64(sort.Search(int(s.total), func(n int) bool { return s.HitTime(int64(n)) >= t }))
}
