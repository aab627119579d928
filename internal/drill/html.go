package drill

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The timeline chart counts attempts in bins of chartBin, or of a multiple of it when
// a long drill would need more than about maxBins: beyond that the steps are thinner
// than a pixel at the chart's width.
const (
	chartBin = 250 * time.Millisecond
	maxBins  = 600
)

// The chart is 9 in (864 CSS px) wide: readable on a ~900 px page without scaling.
const chartWidth, chartHeight = 9 * vg.Inch, 3.4 * vg.Inch

var (
	green  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	red    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	purple = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	black  = color.RGBA{A: 0xff}
	grey   = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
	teal   = color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
)

// marker is a vertical line on the chart: the fault, the heal, the recovery or a
// change of the leader lock's holder.
type marker struct {
	at     time.Time
	label  string
	color  color.Color
	dashes []vg.Length
}

// timeline is one run's attempts, counted per bin by the time each ended (when its
// outcome was known). Bin k covers [origin+k·bin, origin+(k+1)·bin); the counts are
// of bins first, first+1, ...
type timeline struct {
	origin     time.Time
	originName string // what x = 0 is, for the axis label
	bin        time.Duration
	first      int
	acked      []float64
	failed     []float64
	unknown    []float64
	readFailed []float64
	markers    []marker
}

// newTimeline bins h's writes and reads. The origin is the fault, or the first write
// without one (the first read without writes either). ok is false when there is
// nothing to draw.
func newTimeline(h History, rp Report) (tl timeline, ok bool) {
	tl.origin, tl.originName = h.FaultAt, "the fault"
	if tl.origin.IsZero() {
		tl.origin, tl.originName = earliest(h.Writes, func(w Write) time.Time { return w.Start }), "the first write"
	}
	if tl.origin.IsZero() {
		tl.origin, tl.originName = earliest(h.Reads, func(r Read) time.Time { return r.Start }), "the first read"
	}
	if tl.origin.IsZero() {
		return tl, false
	}

	for _, m := range []marker{
		{at: h.FaultAt, label: "fault", color: black},
		{at: h.HealAt, label: "heal", color: grey, dashes: dash(5, 3)},
		{at: h.RecoveredAt, label: "recovered", color: teal, dashes: dash(5, 3)},
	} {
		if !m.at.IsZero() {
			tl.markers = append(tl.markers, m)
		}
	}
	for _, c := range rp.Leadership.Changes {
		if c.Kind == ChangeLeader && !c.At.IsZero() {
			tl.markers = append(tl.markers, marker{at: c.At, label: "leader " + cmp.Or(c.To, "none"),
				color: blue, dashes: dash(2, 2)})
		}
	}
	// Stable, so that markers at the same time keep the order above.
	slices.SortStableFunc(tl.markers, func(a, b marker) int { return a.at.Compare(b.at) })

	// The bins span every attempt's end and every marker.
	var lo, hi time.Time
	span := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	span(tl.origin)
	for _, w := range h.Writes {
		span(w.End)
	}
	for _, r := range h.Reads {
		span(r.End)
	}
	for _, m := range tl.markers {
		span(m.at)
	}
	tl.bin = chartBin * time.Duration(max(1, (hi.Sub(lo)+maxBins*chartBin-1)/(maxBins*chartBin)))
	tl.first = tl.index(lo)
	n := tl.index(hi) - tl.first + 1
	tl.acked, tl.failed, tl.unknown, tl.readFailed = make([]float64, n), make([]float64, n),
		make([]float64, n), make([]float64, n)
	for _, w := range h.Writes {
		if w.End.IsZero() {
			continue // an input error, reported by Check; it has no place on the chart
		}
		k := tl.index(w.End) - tl.first
		switch w.Outcome {
		case Acked:
			tl.acked[k]++
		case Failed:
			tl.failed[k]++
		case Unknown:
			tl.unknown[k]++
		}
	}
	for _, r := range h.Reads {
		if !r.OK && !r.End.IsZero() {
			tl.readFailed[tl.index(r.End)-tl.first]++
		}
	}
	return tl, true
}

// index is the bin of t, rounding down also before the origin.
func (tl timeline) index(t time.Time) int {
	d := t.Sub(tl.origin)
	k := d / tl.bin
	if d%tl.bin < 0 {
		k--
	}
	return int(k)
}

// x is the start of bin k in seconds from the origin.
func (tl timeline) x(k int) float64 { return (time.Duration(k) * tl.bin).Seconds() }

func earliest[T any](items []T, at func(T) time.Time) time.Time {
	var first time.Time
	for _, it := range items {
		if t := at(it); !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first
}

func dash(on, off float64) []vg.Length { return []vg.Length{vg.Points(on), vg.Points(off)} }

// series is one line of counts on the chart.
type series struct {
	name   string
	counts []float64
	style  draw.LineStyle
}

func (tl timeline) series() []series {
	line := func(c color.Color, dashes []vg.Length) draw.LineStyle {
		return draw.LineStyle{Color: c, Width: vg.Points(1.3), Dashes: dashes}
	}
	return []series{
		{"writes acked", tl.acked, line(green, nil)},
		{"writes failed", tl.failed, line(red, nil)},
		{"writes unknown", tl.unknown, line(orange, nil)},
		{"reads failed", tl.readFailed, line(purple, dash(4, 2))},
	}
}

// chart draws the timeline as an SVG element (no XML prolog), for inlining in HTML.
// vgsvg escapes the text it draws, so the element is safe to embed as template.HTML.
func (tl timeline) chart() (template.HTML, error) {
	c := vgsvg.New(chartWidth, chartHeight)
	if err := tl.draw(draw.New(c)); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:] // drop the XML prolog and comment: they are not valid inside HTML
	}
	return template.HTML(s), nil
}

// legendHeight is the strip above the plot that holds the legend in one row: inside
// the plot, a legend covered the labels of markers near its corner.
const legendHeight vg.Length = 18

// draw draws the legend strip and, below it, the plot.
func (tl timeline) draw(dc draw.Canvas) error {
	p, err := tl.plot()
	if err != nil {
		return err
	}
	p.Draw(draw.Crop(dc, 0, 0, 0, -legendHeight))

	sty := p.Legend.TextStyle
	sty.XAlign, sty.YAlign = text.XLeft, text.YCenter
	x, y := dc.Min.X+vg.Points(50), dc.Max.Y-legendHeight/2
	for _, s := range tl.series() {
		dc.StrokeLine2(s.style, x, y, x+vg.Points(20), y)
		x += vg.Points(24)
		dc.FillText(sty, vg.Point{X: x, Y: y}, s.name)
		x += sty.Width(s.name) + vg.Points(16)
	}
	return nil
}

// plot draws the counts as steps over their bins and the markers as labelled
// vertical lines.
func (tl timeline) plot() (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "seconds from " + tl.originName
	p.X.Tick.Marker = plot.TickerFunc(secondTicks)
	p.Y.Label.Text = "attempts per " + tl.bin.String()
	p.Y.Tick.Marker = plot.TickerFunc(countTicks)
	p.Add(plotter.NewGrid())

	n := len(tl.acked)
	top := 0.0
	for _, s := range tl.series() {
		// n+1 points: the last repeats the last count to the end of its bin.
		xy := make(plotter.XYs, n+1)
		for i := range n + 1 {
			xy[i] = plotter.XY{X: tl.x(tl.first + i), Y: s.counts[min(i, n-1)]}
			top = max(top, xy[i].Y)
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		ln.StepStyle, ln.LineStyle = plotter.PostStep, s.style
		p.Add(ln)
	}
	// Headroom above the counts for the markers' labels.
	ymax := max(top, 1) * 1.45
	p.Y.Min, p.Y.Max = 0, ymax
	p.X.Min, p.X.Max = tl.x(tl.first), tl.x(tl.first+n)

	// Labels of markers close together would overlap: step each one down a line from
	// its neighbour's, and put labels near the right edge left of their line.
	xspan := p.X.Max - p.X.Min
	level, prevX := 0, 0.0
	for i, m := range tl.markers {
		x := m.at.Sub(tl.origin).Seconds()
		ln, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: ymax}})
		if err != nil {
			return nil, err
		}
		ln.Color, ln.Width, ln.Dashes = m.color, vg.Points(1), m.dashes
		p.Add(ln)

		if i > 0 && x-prevX < 0.12*xspan {
			level = (level + 1) % 4
		} else {
			level = 0
		}
		prevX = x
		lb, err := plotter.NewLabels(plotter.XYLabels{
			XYs:    plotter.XYs{{X: x, Y: ymax * (0.98 - 0.075*float64(level))}},
			Labels: []string{m.label},
		})
		if err != nil {
			return nil, err
		}
		lb.TextStyle[0].Color = m.color
		lb.TextStyle[0].YAlign = text.YTop
		lb.Offset.X = vg.Points(3)
		if x-p.X.Min > 0.85*xspan {
			lb.TextStyle[0].XAlign = text.XRight
			lb.Offset.X = -lb.Offset.X
		}
		p.Add(lb)
	}
	return p, nil
}

// secondSteps are the spacings of the x axis' labelled ticks, in seconds.
var secondSteps = []float64{0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200}

// secondTicks labels the x axis at round seconds, 15 ticks at most: gonum's default
// puts three on a drill's chart, too few to read when a step happened.
func secondTicks(lo, hi float64) []plot.Tick { return roundTicks(lo, hi, secondSteps, 15) }

// countTicks labels the y axis with whole counts, 1-2-5 apart, 6 ticks at most
// (gonum's default writes 2.50 for a count).
func countTicks(lo, hi float64) []plot.Tick {
	var steps []float64
	for m := 1.0; m < 1e9; m *= 10 {
		steps = append(steps, m, 2*m, 5*m)
	}
	return roundTicks(lo, hi, steps, 6)
}

// roundTicks labels the integer multiples of the first of steps that gives at most
// most ticks between lo and hi.
func roundTicks(lo, hi float64, steps []float64, most int) []plot.Tick {
	step := steps[len(steps)-1]
	for _, s := range steps {
		if (hi-lo)/s < float64(most) {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	// Multiplying, not adding, keeps the labels free of float noise.
	for k := math.Ceil(lo / step); k*step <= hi; k++ {
		ticks = append(ticks, plot.Tick{Value: k * step, Label: strconv.FormatFloat(k*step, 'f', -1, 64)})
	}
	return ticks
}

// htmlRun is one run as the page shows it.
type htmlRun struct {
	Anchor     string
	Name       string
	Rep        int
	Verdict    string
	Cells      []string // the summary row
	Violations []string
	Warnings   []string
	Figures    []figure
	Chart      template.HTML // "" when there is nothing to draw
	Origin     string        // what the change times are relative to
	Changes    []htmlChange
}

type figure struct{ Name, Value string }

type htmlChange struct{ Rel, Clock, Who, Kind, From, To string }

// figures are the run's key numbers, as in Report.WriteText.
func figures(r Report) []figure {
	w, rd, rc, l := r.Writes, r.Reads, r.Recovery, r.Leadership
	fs := []figure{
		{"writes", fmt.Sprintf("%d attempted, %d acked, %d failed, %d unknown (%d of them landed)",
			w.Attempted, w.Acked, w.Failed, w.Unknown, w.UnknownLanded)},
		{"lost", fmt.Sprintf("%d%s", w.Lost, idSuffix(w.LostWrites))},
		{"split-brain", fmt.Sprintf("%d%s (ambiguous %d, unchecked %d)", w.SplitBrain, idSuffix(w.SplitBrainWrites),
			w.Ambiguous, w.Unchecked)},
		{"write outage", gapText(w.Outage) + limitText(r.Limits.MaxOutage)},
	}
	if g := w.FaultOutage; g != nil {
		fs = append(fs, figure{"write outage around the fault", gapText(*g)})
	}
	if w.ResumedAfterFault > 0 {
		fs = append(fs, figure{"writes resumed", w.ResumedAfterFault.String() + " after the fault"})
	}
	if len(w.Errors) > 0 {
		fs = append(fs, figure{"write errors", strings.Join(topErrors(w.Errors), "; ")})
	}
	fs = append(fs, figure{"reads", fmt.Sprintf("%d attempted, %d failed; longest outage %s%s",
		rd.Attempted, rd.Failed, gapText(rd.Outage), limitText(r.Limits.MaxReadOutage))})
	if len(rd.Errors) > 0 {
		fs = append(fs, figure{"read errors", strings.Join(topErrors(rd.Errors), "; ")})
	}
	rec := "never"
	switch {
	case rc.From == "":
		rec = "no fault"
	case rc.Recovered:
		rec = fmt.Sprintf("%s after the %s%s", rc.Duration, rc.From, limitText(r.Limits.MaxRecovery))
	}
	return append(fs,
		figure{"recovery", rec},
		figure{"failovers", fmt.Sprintf("%d (%s)%s", l.Failovers, cmp.Or(strings.Join(l.Leaders, " → "), "no leader seen"),
			cond(r.Limits.AllowFailover, "", ", none allowed"))},
		figure{"leader lock", fmt.Sprintf("lost %d %s; longest without holder %s", l.LockLosses,
			plural(l.LockLosses, "time", "times"), gapText(l.Leaderless))},
	)
}

// relSeconds is t - origin in seconds to the millisecond: "1.250", "-0.400". No "+":
// html/template would write it as an entity.
func relSeconds(t, origin time.Time) string {
	return fmt.Sprintf("%.3f", t.Sub(origin).Round(time.Millisecond).Seconds())
}

// WriteHTML writes one self-contained HTML page: the title, the summary table of
// WriteSummary (with the outage spread per scenario), and per run a section with its
// verdict, violations and warnings, key figures, an inline SVG chart of its timeline
// and the table of the changes the leader samples show. The page loads nothing from
// elsewhere: no scripts, style sheets, fonts or images.
//
// The chart's x axis is in seconds from History.FaultAt (from the first write for a
// run without a fault); it counts acknowledged, failed and unknown writes and failed
// reads per 250 ms bin (a multiple of 250 ms when the run would need more than 600
// bins), by the time each attempt ended, and marks the fault, the heal, the recovery
// and every change of the leader lock's holder (labelled with the new holder, "none"
// when the lock was released). A run that recorded nothing has a sentence instead.
//
// All text is escaped. The output depends only on the arguments; errors are the
// chart's or the writer's.
func WriteHTML(w io.Writer, title string, runs []Run) error {
	title = cmp.Or(title, "pghac drill")
	page := struct {
		Title          string
		Columns        []string
		Runs           []htmlRun
		Spreads        []struct{ Scenario, Text string }
		Passed, Failed int
	}{Title: title, Columns: summaryColumns}
	for _, s := range outageSpreads(runs) {
		page.Spreads = append(page.Spreads, struct{ Scenario, Text string }{s.Scenario, s.text()})
	}

	for i, r := range runs {
		hr := htmlRun{
			Anchor:     fmt.Sprintf("run-%d", i+1),
			Name:       r.name(),
			Rep:        r.Rep,
			Verdict:    verdict(r.Report),
			Cells:      summaryRow(r),
			Violations: r.Report.Violations(),
			Warnings:   r.Report.Warnings,
			Figures:    figures(r.Report),
		}
		if hr.Verdict == "PASS" {
			page.Passed++
		} else {
			page.Failed++
		}
		tl, ok := newTimeline(r.History, r.Report)
		if ok {
			chart, err := tl.chart()
			if err != nil {
				return fmt.Errorf("drill: chart of %s #%d: %w", hr.Name, r.Rep, err)
			}
			hr.Chart, hr.Origin = chart, tl.originName
		}
		for _, c := range r.Report.Leadership.Changes {
			hc := htmlChange{Clock: clock(c.At), Who: c.Member, Kind: string(c.Kind),
				From: cmp.Or(c.From, "-"), To: cmp.Or(c.To, "-")}
			if c.Kind == ChangeLeader {
				hc.Who = "(leader lock)"
			}
			if ok {
				hc.Rel = relSeconds(c.At, tl.origin)
			}
			hr.Changes = append(hr.Changes, hc)
		}
		page.Runs = append(page.Runs, hr)
	}
	if err := drillPage.Execute(w, page); err != nil {
		return fmt.Errorf("drill: write the HTML report: %w", err)
	}
	return nil
}

var drillPage = template.Must(template.New("drill").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1000px; }
.verdict { padding: 0 .4em; border-radius: 4px; color: #fff; font-size: 80%; }
.verdict.pass { background: #2ca02c; } .verdict.fail { background: #d62728; }
svg { display: block; max-width: 100%; height: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 90%; margin: .5em 0; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
table.summary td { text-align: right; } table.summary td:first-child { text-align: left; }
tr.failed td:last-child { color: #d62728; font-weight: bold; }
section { border-top: 1px solid #ccc; margin-top: 2em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{len .Runs}} runs: {{.Passed}} passed, {{.Failed}} failed.</p>
<table class="summary">
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Runs}}{{$run := .}}<tr{{if ne .Verdict "PASS"}} class="failed"{{end}}>{{range $i, $c := .Cells}}<td>{{if eq $i 0}}<a href="#{{$run.Anchor}}">{{$c}}</a>{{else}}{{$c}}{{end}}</td>{{end}}</tr>
{{end}}</table>
{{with .Spreads}}<h2>Write outage over repetitions</h2>
<table>
<tr><th>scenario</th><th>min / median / max</th></tr>
{{range .}}<tr><td>{{.Scenario}}</td><td>{{.Text}}</td></tr>
{{end}}</table>
{{end}}{{range .Runs}}{{$run := .}}
<section id="{{.Anchor}}">
<h2>{{.Name}} #{{.Rep}} <span class="verdict {{if eq .Verdict "PASS"}}pass{{else}}fail{{end}}">{{.Verdict}}</span></h2>
{{with .Violations}}<h3>Violations</h3>
<ul>
{{range .}}<li>{{.}}</li>
{{end}}</ul>
{{end}}{{with .Warnings}}<h3>Warnings</h3>
<ul>
{{range .}}<li>{{.}}</li>
{{end}}</ul>
{{end}}<table>
{{range .Figures}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{if .Chart}}{{.Chart}}
{{else}}<p>Nothing to draw: the run recorded no write, read or fault.</p>
{{end}}{{with .Changes}}<h3>Changes seen by the monitor</h3>
<table>
<tr><th>{{with $run.Origin}}s from {{.}}{{end}}</th><th>time</th><th>member</th><th>change</th><th>from → to</th></tr>
{{range .}}<tr><td>{{.Rel}}</td><td>{{.Clock}}</td><td>{{.Who}}</td><td>{{.Kind}}</td><td>{{.From}} → {{.To}}</td></tr>
{{end}}</table>
{{end}}</section>
{{end}}
</body>
</html>
`))
