package drill

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteHTML(t *testing.T) {
	runs := append(summaryRuns(), checked(1, History{Scenario: "empty", FinalIDs: []int64{}}, Limits{}))
	var buf bytes.Buffer
	if err := WriteHTML(&buf, `Drill <sandbox> & "friends"`, runs); err != nil {
		t.Fatal(err)
	}
	page := buf.String()

	// Four runs have something to draw; the empty one says so instead.
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d SVG charts, want 4", n)
	}
	if n := strings.Count(page, "Nothing to draw"); n != 1 {
		t.Errorf("%d runs without a chart, want 1 (the empty one)", n)
	}
	for _, external := range []string{"<script", "<link", "src=", "@import", "url(", "<?xml"} {
		if strings.Contains(page, external) {
			t.Errorf("the page contains %q: it must be self-contained, with inline SVG only", external)
		}
	}
	for _, want := range []string{
		"<title>Drill &lt;sandbox&gt; &amp; &#34;friends&#34;</title>",
		"5 runs: 3 passed, 2 failed.",
		// The summary table and the spread.
		`<td><a href="#run-2">leader-crash</a></td><td>2</td><td>9.05s</td><td>1</td>`,
		"<td>9.05s / 11.05s / 13.05s  (3 runs)</td>",
		// Run 2's section: verdict, violation, figures.
		`<h2>leader-crash #2 <span class="verdict fail">FAIL</span></h2>`,
		"<li>1 acknowledged write was lost (absent from the final primary): id 100 (acknowledged by node0 at 12:00:04.955).</li>",
		"<tr><th>write outage</th><td>9.05s (12:00:04.955 → 12:00:14.005)  (limit 15s)</td></tr>",
		"<tr><th>recovery</th><td>4s after the heal</td></tr>",
		// Run 1's changes, relative to the fault at 5 s: the lock is released at 15 s.
		"<tr><td>10.000</td><td>12:00:15.000</td><td>(leader lock)</td><td>leader</td><td>node0 → -</td></tr>",
		"<tr><td>11.000</td><td>12:00:16.000</td><td>node1</td><td>role</td><td>replica → leader</td></tr>",
		"<th>s from the fault</th>",
		// The empty run fails on the checker's input error.
		"<li>Checker input error: the history has no writes.</li>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	// The first chart labels the fault, the release of the lock and the new leader.
	charts := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1)
	if len(charts) == 0 {
		t.Fatal("no chart")
	}
	for _, label := range []string{">fault<", ">leader none<", ">leader node1<", ">heal<", ">recovered<",
		">writes acked<", ">reads failed<", ">seconds from the fault<", ">attempts per 250ms<"} {
		if !strings.Contains(charts[0], label) {
			t.Errorf("the first chart lacks the text %s", label)
		}
	}

	var again bytes.Buffer
	if err := WriteHTML(&again, `Drill <sandbox> & "friends"`, runs); err != nil {
		t.Fatal(err)
	}
	if again.String() != page {
		t.Error("two renderings of the same runs differ")
	}
	if err := WriteHTML(failWriter{}, "x", runs); err == nil {
		t.Error("WriteHTML to a failing writer returned no error")
	}
}

func TestWriteHTMLEscapes(t *testing.T) {
	h := cleanHistory()
	h.Scenario = `<img onerror="x">`
	// The lock moves to a member whose name is markup: the chart labels it.
	h.Samples = append(samples(-100, 500, "node0", 1), samples(700, 1100, "<b>evil</b>", 1)...)
	runs := []Run{checked(1, h, Limits{AllowFailover: true})}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, "", runs); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<img") || strings.Contains(page, "<b>") {
		t.Errorf("unescaped markup from the history in the page:\n%s", page)
	}
	for _, want := range []string{"&lt;img onerror=&#34;x&#34;&gt;", "leader &lt;b&gt;evil&lt;/b&gt;", "<title>pghac drill</title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestTimeline(t *testing.T) {
	h := crashHistory(16000)
	r := Check(h, Limits{})
	tl, ok := newTimeline(h, r)
	if !ok {
		t.Fatal("no timeline for a crash history")
	}
	if !tl.origin.Equal(h.FaultAt) || tl.bin != 250*time.Millisecond {
		t.Errorf("origin %s, bin %s; want the fault at %s, 250ms", tl.origin, tl.bin, h.FaultAt)
	}
	// Ends run from 5 ms to 30.01 s, the fault is at 5 s: bins -20 to 100.
	if n := len(tl.acked); tl.first != -20 || n != 121 {
		t.Errorf("bins %d to %d, want -20 to 100", tl.first, tl.first+n-1)
	}
	sum := func(xs []float64) (s int) {
		for _, x := range xs {
			s += int(x)
		}
		return s
	}
	w := r.Writes
	got := []int{sum(tl.acked), sum(tl.failed), sum(tl.unknown), sum(tl.readFailed)}
	if want := []int{w.Acked, w.Failed, w.Unknown, r.Reads.Failed}; !cmp.Equal(want, got) {
		t.Errorf("acked, failed, unknown, failed reads = %v, want %v", got, want)
	}
	// Five writes end in each 250 ms bin; the last acknowledgement by node0 ends at
	// 4955 ms, in bin -1; the first by node1 at 16005 ms, in bin 44.
	if tl.acked[-1-tl.first] != 5 || tl.acked[0-tl.first] != 0 || tl.acked[43-tl.first] != 0 || tl.acked[44-tl.first] != 5 {
		t.Errorf("acked around the outage: bin -1 %v, 0 %v, 43 %v, 44 %v; want 5, 0, 0, 5",
			tl.acked[-1-tl.first], tl.acked[-tl.first], tl.acked[43-tl.first], tl.acked[44-tl.first])
	}
	var labels []string
	for _, m := range tl.markers {
		labels = append(labels, m.label)
	}
	if want := []string{"fault", "leader none", "leader node1", "heal", "recovered"}; !cmp.Equal(want, labels) {
		t.Errorf("markers %q, want %q", labels, want)
	}

	// The x axis reaches a marker after the last attempt.
	late := crashHistory(16000)
	late.RecoveredAt = at(45000)
	tl, _ = newTimeline(late, Check(late, Limits{}))
	if end := tl.x(tl.first + len(tl.acked)); end < 40 {
		t.Errorf("the chart ends %gs after the fault, before the recovery at 40s", end)
	}

	// A run of an hour gets wider bins, at most 600 of them, and no fault: x = 0 is the
	// first write.
	long := History{Writes: []Write{ack(1, 1000, 1010, "node0", 1), ack(2, 3_600_000, 3_600_010, "node0", 1)}}
	tl, ok = newTimeline(long, Check(long, Limits{}))
	if !ok || tl.bin != 6*time.Second || len(tl.acked) > maxBins || tl.originName != "the first write" {
		t.Errorf("hour-long run: ok %t, bin %s, %d bins, origin %q; want 6s, at most %d, the first write",
			ok, tl.bin, len(tl.acked), tl.originName, maxBins)
	}
	if _, ok := newTimeline(History{}, Report{}); ok {
		t.Error("a timeline for an empty history")
	}
}
