package load

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what a test did: the summary, per-tag totals and one entry per second of
// sending. It is what report.json holds.
type Result struct {
	Config   RunConfig  `json:"config"`
	Started  time.Time  `json:"started"`
	Summary  Summary    `json:"summary"`
	Tags     []TagStats `json:"tags,omitempty"`
	Seconds  []Second   `json:"seconds"`
	Warnings []string   `json:"warnings,omitempty"`
}

// RunConfig is the part of the Config a report shows.
type RunConfig struct {
	File              string   `json:"file"`
	URL               string   `json:"url"`
	Host              string   `json:"host"`
	Schedule          string   `json:"schedule"`
	ScheduleSeconds   float64  `json:"schedule_s"`
	ScheduledRequests int64    `json:"scheduled_requests"` // within loop, ammo_limit and limit
	Instances         int      `json:"instances"`
	TimeoutMs         float64  `json:"timeout_ms"`
	AmmoRequests      int      `json:"ammo_requests"`
	Autostop          []string `json:"autostop,omitempty"`
}

// Summary is the whole test in numbers. Requests count every request sent: responses,
// network errors and those aborted when the test stopped early.
type Summary struct {
	Duration       float64        `json:"duration_s"` // sending time: the schedule (until the stop), or longer when hits went out late
	Elapsed        float64        `json:"elapsed_s"`  // until the last result
	Requests       int            `json:"requests"`
	Responses      int            `json:"responses"`
	NetErrors      int            `json:"net_errors"`
	Aborted        int            `json:"aborted,omitempty"`
	TargetRequests int64          `json:"target_requests"` // scheduled within Duration
	TargetRPS      float64        `json:"target_rps"`      // their mean rate over the schedule (until the stop)
	AchievedRPS    float64        `json:"achieved_rps"`    // Requests / Duration
	Codes          map[string]int `json:"codes"`           // HTTP code -> responses
	NetErrorKinds  map[string]int `json:"net_error_kinds"` // timeout, refused, reset, other
	NetCodes       map[string]int `json:"net_codes"`       // errno -> errors, as phantom's net codes
	Latency        Latency        `json:"latency_ms"`
	SendLag        Latency        `json:"send_lag_ms"` // how much later than scheduled hits went out
	MaxInFlight    int            `json:"max_in_flight"`
	Autostop       *Stop          `json:"autostop,omitempty"`
	Passed         bool           `json:"passed"`
	Verdict        string         `json:"verdict"` // PASS, FAIL or INTERRUPTED
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// TagStats are the totals of the requests of one ammo tag.
type TagStats struct {
	Tag       string         `json:"tag"`
	Requests  int            `json:"requests"`
	NetErrors int            `json:"net_errors"`
	Codes     map[string]int `json:"codes"`
	Latency   Latency        `json:"latency_ms"`
}

// Second is one second of the test: the requests sent in it and what became of them.
// Latencies are exact.
type Second struct {
	T           int            `json:"t"`      // seconds from the start
	Target      int64          `json:"target"` // requests scheduled in it
	Sent        int            `json:"sent"`
	Codes       map[string]int `json:"codes,omitempty"`
	NetErrors   map[string]int `json:"net_errors,omitempty"` // by kind
	Aborted     int            `json:"aborted,omitempty"`
	Latency     Latency        `json:"latency_ms"`
	MaxInFlight int            `json:"max_in_flight"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (t *tally) latency() Latency {
	return Latency{P50: ms(t.quantile(0.5)), P90: ms(t.quantile(0.9)), P95: ms(t.quantile(0.95)),
		P99: ms(t.quantile(0.99)), Max: ms(t.quantile(1)), Mean: ms(t.mean())}
}

func (h *histogram) latency() Latency {
	return Latency{P50: ms(h.quantile(0.5)), P90: ms(h.quantile(0.9)), P95: ms(h.quantile(0.95)),
		P99: ms(h.quantile(0.99)), Max: ms(h.quantile(1)), Mean: ms(h.mean())}
}

func codeMap(m map[int]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[strconv.Itoa(k)] = v
	}
	return out
}

func (a *aggregator) result() *Result {
	c := a.cfg
	r := &Result{
		Config: RunConfig{File: c.File, URL: c.URL(), Host: c.Host, Schedule: c.Schedule.String(),
			ScheduleSeconds: c.Schedule.Duration().Seconds(), Instances: c.Instances,
			TimeoutMs: ms(c.Timeout), AmmoRequests: len(a.ammo)},
		Started:  a.began.UTC().Truncate(time.Millisecond),
		Warnings: c.Warnings,
	}
	r.Config.ScheduledRequests = a.total
	if a.limit > 0 {
		r.Config.ScheduledRequests = min(a.total, c.Schedule.HitsBefore(a.limit))
	}
	for _, cr := range c.Autostop {
		r.Config.Autostop = append(r.Config.Autostop, cr.Text)
	}
	s := &r.Summary
	s.Codes, s.NetErrorKinds, s.NetCodes = map[string]int{}, map[string]int{}, map[string]int{}
	for i, sec := range a.secs {
		out := Second{T: i, Target: a.target(i), Sent: sec.all.n + sec.aborted, Aborted: sec.aborted,
			Latency: sec.latency, MaxInFlight: sec.active}
		if len(sec.all.codes) > 0 {
			out.Codes = codeMap(sec.all.codes)
		}
		for k, n := range sec.all.netKinds {
			if n > 0 {
				if out.NetErrors == nil {
					out.NetErrors = map[string]int{}
				}
				out.NetErrors[netKindNames[k]] = n
				s.NetErrorKinds[netKindNames[k]] += n
			}
		}
		for code, n := range sec.all.codes {
			s.Codes[strconv.Itoa(code)] += n
			s.Responses += n
		}
		for code, n := range sec.all.netCodes {
			s.NetCodes[strconv.Itoa(code)] += n
			s.NetErrors += n
		}
		s.Requests += out.Sent
		s.Aborted += sec.aborted
		s.MaxInFlight = max(s.MaxInFlight, sec.active)
		s.TargetRequests += out.Target
		r.Seconds = append(r.Seconds, out)
	}
	// Seconds of the schedule in which nothing was sent still show their target.
	for i := len(r.Seconds); i < int((a.planned()+time.Second-1)/time.Second); i++ {
		t := a.target(i)
		r.Seconds = append(r.Seconds, Second{T: i, Target: t})
		s.TargetRequests += t
	}
	planned := a.planned()
	s.Duration = math.Round(max(planned, a.lastSend).Seconds()*1000) / 1000
	s.Elapsed = math.Round(a.end.Seconds()*1000) / 1000
	if s.Duration > 0 {
		s.AchievedRPS = math.Round(float64(s.Requests)/s.Duration*100) / 100
	}
	if planned > 0 {
		s.TargetRPS = math.Round(float64(s.TargetRequests)/planned.Seconds()*100) / 100
	}
	s.Latency = a.overall.latency()
	s.SendLag = a.lag.latency()
	s.Autostop = a.stop
	ran := s.Responses+s.NetErrors > 0
	switch {
	case a.stop != nil && a.stop.Interrupt:
		s.Verdict = "INTERRUPTED"
	case !ran || (a.stop != nil && a.stop.Fails):
		s.Verdict = "FAIL"
	default:
		s.Verdict, s.Passed = "PASS", true
	}
	for _, tag := range a.tagList {
		tt := a.tags[tag]
		r.Tags = append(r.Tags, TagStats{Tag: tag, Requests: tt.requests, NetErrors: tt.net,
			Codes: codeMap(tt.codes), Latency: tt.hist.latency()})
	}
	return r
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// sortedKeys returns m's keys, numeric ones in numeric order.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, ea := strconv.Atoi(keys[i])
		b, eb := strconv.Atoi(keys[j])
		if ea == nil && eb == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys
}

func countList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (l Latency) String() string {
	f := func(v float64) string { return fmtDur(time.Duration(v * float64(time.Millisecond))) }
	return fmt.Sprintf("p50 %s, p90 %s, p95 %s, p99 %s, max %s", f(l.P50), f(l.P90), f(l.P95), f(l.P99), f(l.Max))
}

// WriteText writes the summary as aligned lines, ending with the verdict.
func (r *Result) WriteText(w io.Writer) error {
	s := r.Summary
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	line("Load test", "%s", r.Config.File)
	line("Target", "%s (Host %s), at most %d in flight, timeout %s", r.Config.URL, r.Config.Host,
		r.Config.Instances, fmtDur(time.Duration(r.Config.TimeoutMs*float64(time.Millisecond))))
	line("Schedule", "%s: %d requests over %s", r.Config.Schedule, r.Config.ScheduledRequests,
		fmtDur(time.Duration(r.Config.ScheduleSeconds*float64(time.Second))))
	line("Started", "%s", r.Started.Format(time.RFC3339))
	line("Duration", "%s of sending, %s until the last response", fmtDur(secDur(s.Duration)), fmtDur(secDur(s.Elapsed)))
	req := fmt.Sprintf("%d sent: %d responses, %d network errors", s.Requests, s.Responses, s.NetErrors)
	if s.Aborted > 0 {
		req += fmt.Sprintf(", %d cut off by the stop", s.Aborted)
	}
	line("Requests", "%s", req)
	line("Rate", "%.1f rps achieved of %.1f rps scheduled (%d of %d requests)", s.AchievedRPS, s.TargetRPS, s.Requests, s.TargetRequests)
	line("HTTP codes", "%s", countList(s.Codes))
	if s.NetErrors > 0 {
		line("Net errors", "%s (errno %s)", countList(s.NetErrorKinds), countList(s.NetCodes))
	} else {
		line("Net errors", "none")
	}
	line("Latency", "%s", s.Latency)
	line("Send lag", "%s", s.SendLag)
	line("In flight", "%d at most (limit %d)", s.MaxInFlight, r.Config.Instances)
	for _, t := range r.Tags {
		line("Tag "+t.Tag, "%d requests, codes %s, %d network errors, %s", t.Requests, countList(t.Codes), t.NetErrors, t.Latency)
	}
	switch st := s.Autostop; {
	case st == nil:
		line("Autostop", "none fired")
	case st.Interrupt:
		line("Autostop", "none; interrupted at %s", fmtDur(secDur(st.At)))
	default:
		where := ""
		if st.Line > 0 {
			where = fmt.Sprintf(" (line %d)", st.Line)
		}
		line("Autostop", "%s%s fired at %s: %s", st.Criterion, where, fmtDur(secDur(st.At)), st.Reason)
	}
	for _, wn := range r.Warnings {
		line("Warning", "%s", wn)
	}
	line("Result", "%s", s.Verdict)
	return tw.Flush()
}

func secDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Report file names in a report directory.
const (
	SummaryFile = "summary.txt"
	JSONFile    = "report.json"
	HTMLFile    = "report.html"
)

// WriteReports writes summary.txt, report.json and report.html into dir (created when
// missing) and returns their paths.
func (r *Result) WriteReports(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{SummaryFile, r.WriteText}, {JSONFile, r.WriteJSON}, {HTMLFile, r.WriteHTML}} {
		p := filepath.Join(dir, f.name)
		file, err := os.Create(p)
		if err != nil {
			return paths, err
		}
		err = f.write(file)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return paths, fmt.Errorf("%s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
