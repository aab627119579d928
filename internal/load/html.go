package load

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// series is one line of a chart.
type series struct {
	name   string
	color  color.Color
	dashed bool
	y      func(s Second) float64
}

var (
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	green  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	red    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	purple = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	brown  = color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}
	grey   = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
)

// chart draws series over the seconds as an SVG element (no XML prolog), for inlining.
func chart(title, ylabel string, secs []Second, lines []series) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds from the start"
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	top := 0.0
	for _, l := range lines {
		xy := make(plotter.XYs, len(secs))
		for i, s := range secs {
			// A second's requests are drawn at its middle.
			xy[i] = plotter.XY{X: float64(s.T) + 0.5, Y: l.y(s)}
			top = max(top, xy[i].Y)
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return "", fmt.Errorf("chart %q: %w", title, err)
		}
		ln.Color = l.color
		ln.Width = vg.Points(1.5)
		if l.dashed {
			ln.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(ln)
		p.Legend.Add(l.name, ln)
	}
	// Room above the lines for the legend.
	p.Y.Max = max(top*1.35, 1)
	p.X.Min, p.X.Max = 0, float64(secs[len(secs)-1].T+1)
	c := vgsvg.New(9*vg.Inch, 3.2*vg.Inch)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	svg := b.String()
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	return template.HTML(svg), nil
}

func codeClass(s Second, class byte) float64 {
	n := 0
	for code, c := range s.Codes {
		if len(code) == 3 && code[0] == class {
			n += c
		}
	}
	return float64(n)
}

func netErrs(s Second) float64 {
	n := 0
	for _, c := range s.NetErrors {
		n += c
	}
	return float64(n)
}

// WriteHTML writes a self-contained HTML report: the summary, per-tag totals and three
// inline SVG charts (rate, latency quantiles, codes and errors over time). It loads nothing
// from elsewhere.
func (r *Result) WriteHTML(w io.Writer) error {
	secs := r.Seconds
	if len(secs) == 0 {
		secs = []Second{{}}
	}
	rate, err := chart("Requests per second", "rps", secs, []series{
		{"scheduled", grey, true, func(s Second) float64 { return float64(s.Target) }},
		{"sent", blue, false, func(s Second) float64 { return float64(s.Sent) }},
	})
	if err != nil {
		return err
	}
	lat, err := chart("Response time quantiles", "ms", secs, []series{
		{"p50", green, false, func(s Second) float64 { return s.Latency.P50 }},
		{"p90", blue, false, func(s Second) float64 { return s.Latency.P90 }},
		{"p95", purple, false, func(s Second) float64 { return s.Latency.P95 }},
		{"p99", orange, false, func(s Second) float64 { return s.Latency.P99 }},
		{"max", red, true, func(s Second) float64 { return s.Latency.Max }},
	})
	if err != nil {
		return err
	}
	codes, err := chart("HTTP codes and network errors", "per second", secs, []series{
		{"2xx", green, false, func(s Second) float64 { return codeClass(s, '2') }},
		{"3xx", blue, false, func(s Second) float64 { return codeClass(s, '3') }},
		{"4xx", orange, false, func(s Second) float64 { return codeClass(s, '4') }},
		{"5xx", red, false, func(s Second) float64 { return codeClass(s, '5') }},
		{"network errors", brown, true, netErrs},
	})
	if err != nil {
		return err
	}
	var summary bytes.Buffer
	if err := r.WriteText(&summary); err != nil {
		return err
	}
	return reportPage.Execute(w, map[string]any{
		"R": r, "Summary": summary.String(), "Charts": []template.HTML{rate, lat, codes},
		"Pass": r.Summary.Passed,
	})
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"list": countList,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pghac load test: {{.R.Summary.Verdict}} — {{.R.Config.File}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 span { padding: 0 .4em; border-radius: 4px; color: #fff; }
.pass { background: #2ca02c; } .fail { background: #d62728; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
svg { display: block; max-width: 100%; height: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 90%; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #eee; }
</style>
</head>
<body>
<h1>Load test <span class="{{if .Pass}}pass{{else}}fail{{end}}">{{.R.Summary.Verdict}}</span></h1>
<pre>{{.Summary}}</pre>
{{range .Charts}}{{.}}
{{end}}
{{if .R.Tags}}<h2>Tags</h2>
<table>
<tr><th>tag</th><th>requests</th><th>codes</th><th>net errors</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>
{{range .R.Tags}}<tr><td>{{.Tag}}</td><td>{{.Requests}}</td><td>{{list .Codes}}</td><td>{{.NetErrors}}</td><td>{{.Latency.P50}}</td><td>{{.Latency.P90}}</td><td>{{.Latency.P99}}</td><td>{{.Latency.Max}}</td></tr>
{{end}}</table>
{{end}}
<details>
<summary>Per second</summary>
<table>
<tr><th>t</th><th>scheduled</th><th>sent</th><th>codes</th><th>net errors</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>in flight</th></tr>
{{range .R.Seconds}}<tr><td>{{.T}}</td><td>{{.Target}}</td><td>{{.Sent}}</td><td>{{list .Codes}}</td><td>{{list .NetErrors}}</td><td>{{.Latency.P50}}</td><td>{{.Latency.P99}}</td><td>{{.Latency.Max}}</td><td>{{.MaxInFlight}}</td></tr>
{{end}}</table>
</details>
</body>
</html>
`))
