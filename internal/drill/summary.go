package drill

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Run is one drill run: what was recorded and how it was judged.
type Run struct {
	Scenario string // e.g. "leader-crash"
	Rep      int    // 1-based repetition
	History  History
	Report   Report
}

// name is the run's scenario, falling back to the one the history or report names.
func (r Run) name() string {
	return cmp.Or(r.Scenario, r.Report.Scenario, r.History.Scenario, "(unnamed)")
}

// summaryColumns are the headings of the summary table, text and HTML alike.
var summaryColumns = []string{"SCENARIO", "REP", "WRITE OUTAGE", "LOST", "SPLIT-BRAIN", "AMBIGUOUS",
	"READ ERRORS", "RECOVERY", "FAILOVERS", "LIBPQ RW", "VERDICT"}

// summaryRow is one run's cells, in the order of summaryColumns.
func summaryRow(r Run) []string {
	rp := r.Report
	return []string{
		r.name(),
		strconv.Itoa(r.Rep),
		outageText(rp.Writes.Outage),
		strconv.Itoa(rp.Writes.Lost),
		strconv.Itoa(rp.Writes.SplitBrain),
		strconv.Itoa(rp.Writes.Ambiguous),
		strconv.Itoa(rp.Reads.Failed),
		recoveryText(rp.Recovery),
		strconv.Itoa(rp.Leadership.Failovers),
		libpqCell(rp.Libpq),
		verdict(rp),
	}
}

// libpqCell is how long the read-write libpq client took to get its session, from the new
// leader's first sighting (or the recovery); "never" when it did not, "-" without a probe.
func libpqCell(ps []Libpq) string {
	for _, p := range ps {
		if p.Attrs != "read-write" {
			continue
		}
		if !p.Connected {
			return "never"
		}
		return p.Took.String()
	}
	return "-"
}

// outageText is the outage's length, marked "open" when the history ended inside it
// (the length is then a lower bound); "-" when nothing was measured.
func outageText(g Gap) string {
	if g.From.IsZero() && g.To.IsZero() {
		return "-"
	}
	if !g.Closed {
		return g.Length.String() + " open"
	}
	return g.Length.String()
}

func recoveryText(rc Recovery) string {
	switch {
	case rc.From == "":
		return "-" // no fault, nothing to recover from
	case !rc.Recovered:
		return "never"
	default:
		return rc.Duration.String()
	}
}

func verdict(r Report) string { return cond(r.OK(), "PASS", "FAIL") }

// outageSpread is the write outage of one scenario's repetitions.
type outageSpread struct {
	Scenario         string
	Runs             int // runs of the scenario
	Measured         int // runs with a measured outage (a run without writes has none)
	Open             int // measured outages the history ended inside: lower bounds
	Min, Median, Max Millis
}

// outageSpreads returns the spread of every scenario with two runs or more, in the
// order the scenarios first appear in runs.
func outageSpreads(runs []Run) []outageSpread {
	var order []string
	byName := map[string][]Gap{} // looked up only; output follows order
	for _, r := range runs {
		n := r.name()
		if _, ok := byName[n]; !ok {
			order = append(order, n)
		}
		byName[n] = append(byName[n], r.Report.Writes.Outage)
	}
	var out []outageSpread
	for _, n := range order {
		gaps := byName[n]
		if len(gaps) < 2 {
			continue
		}
		s := outageSpread{Scenario: n, Runs: len(gaps)}
		var lengths []Millis
		for _, g := range gaps {
			if g.From.IsZero() && g.To.IsZero() {
				continue
			}
			lengths = append(lengths, g.Length)
			if !g.Closed {
				s.Open++
			}
		}
		slices.Sort(lengths)
		if s.Measured = len(lengths); s.Measured > 0 {
			s.Min, s.Max = lengths[0], lengths[len(lengths)-1]
			mid := len(lengths) / 2
			s.Median = lengths[mid]
			if len(lengths)%2 == 0 {
				s.Median = (lengths[mid-1] + lengths[mid]) / 2
			}
		}
		out = append(out, s)
	}
	return out
}

// text is "min / median / max" followed by how many runs it covers.
func (s outageSpread) text() string {
	if s.Measured == 0 {
		return fmt.Sprintf("- (no outage measured in %d runs)", s.Runs)
	}
	t := fmt.Sprintf("%s / %s / %s  (%d %s", s.Min, s.Median, s.Max, s.Measured, plural(s.Measured, "run", "runs"))
	if s.Measured < s.Runs {
		t += fmt.Sprintf(" of %d", s.Runs)
	}
	if s.Open > 0 {
		t += fmt.Sprintf("; %d open, a lower bound", s.Open)
	}
	return t + ")"
}

// WriteSummary writes a fixed-width table for people, one row per run in the given
// order, with the columns
//
//	SCENARIO  REP  WRITE OUTAGE  LOST  SPLIT-BRAIN  AMBIGUOUS  READ ERRORS  RECOVERY  FAILOVERS  VERDICT
//
// WRITE OUTAGE is Report.Writes.Outage ("open" when the history ended inside it, "-"
// without writes); READ ERRORS counts failed reads; RECOVERY is Report.Recovery.Duration,
// "never" when the cluster did not recover from a fault, "-" without a fault; VERDICT is
// PASS or FAIL from Report.OK. Then, for each scenario with two runs or more, the
// spread (min / median / max) of the write outage, and then every failed run's
// violations, indented. For example:
//
//	SCENARIO      REP  WRITE OUTAGE  LOST  SPLIT-BRAIN  AMBIGUOUS  READ ERRORS  RECOVERY  FAILOVERS  VERDICT
//	leader-crash  1    12.3s         0     0            0          4            15.2s     1          PASS
//	leader-crash  2    13.1s         1     0            2          5            14.8s     1          FAIL
//
//	write outage, min / median / max
//	  leader-crash  12.3s / 12.7s / 13.1s  (2 runs)
//
//	violations
//	  leader-crash #2
//	    - 1 acknowledged write was lost (absent from the final primary): id 5 (...).
//
// The output depends only on runs. The only error is the writer's.
func WriteSummary(w io.Writer, runs []Run) error {
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(summaryColumns, "\t"))
	for _, r := range runs {
		fmt.Fprintln(tw, strings.Join(summaryRow(r), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if spreads := outageSpreads(runs); len(spreads) > 0 {
		fmt.Fprintf(ew, "\nwrite outage, min / median / max\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, s := range spreads {
			fmt.Fprintf(tw, "  %s\t%s\n", s.Scenario, s.text())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	header := false
	for _, r := range runs {
		v := r.Report.Violations()
		if len(v) == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(ew, "\nviolations\n")
			header = true
		}
		fmt.Fprintf(ew, "  %s #%d\n", r.name(), r.Rep)
		for _, s := range v {
			fmt.Fprintf(ew, "    - %s\n", s)
		}
	}
	return ew.err
}
