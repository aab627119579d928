package scenario

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pghac/pghac/internal/drill"
)

// The files of a drill report folder, one folder per `pghac drill` invocation: per run
// NAME-REP.history.json (what was recorded, written even when the run failed, for a
// post-mortem) and NAME-REP.report.json (drill.Check's judgement), and for all runs
// summary.txt (drill.WriteSummary's table) and report.html (drill.WriteHTML's page).

// WriteHistory writes run rep of scenario name's history into dir.
func WriteHistory(dir, name string, rep int, h drill.History) error {
	return writeFile(runFile(dir, name, rep, "history.json"), h.WriteJSON)
}

// WriteReport writes run rep of scenario name's report into dir.
func WriteReport(dir, name string, rep int, r drill.Report) error {
	return writeFile(runFile(dir, name, rep, "report.json"), r.WriteJSON)
}

// WriteReports writes summary.txt and report.html of runs into dir, the page titled by dir's
// name, and returns the summary table for the caller to print. The table comes back, with the
// error, also when writing the files fails after it was made, so that the user still sees the
// results.
func WriteReports(dir string, runs []drill.Run) (table []byte, err error) {
	var b bytes.Buffer
	if err := drill.WriteSummary(&b, runs); err != nil {
		return nil, err
	}
	table = b.Bytes()
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), table, 0o644); err != nil {
		return table, err
	}
	write := func(w io.Writer) error { return drill.WriteHTML(w, "pghac drill "+filepath.Base(dir), runs) }
	return table, writeFile(filepath.Join(dir, "report.html"), write)
}

func runFile(dir, name string, rep int, kind string) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%d.%s", name, rep, kind))
}

// writeFile writes what write produces into path, and nothing when write fails, so that a
// report is never left half written.
func writeFile(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// RunAll runs each of scenarios repeat times on env, judging every run against its
// scenario's limits and writing its history and report into dir, which must exist. It says
// on log what starts and each run's verdict. It returns the runs judged; err is a drill that
// could not run (a fault not injected, the cluster not healthy, an interruption), which ends
// the campaign.
func RunAll(ctx context.Context, env Env, scenarios []Scenario, repeat int, dir string, log io.Writer) (runs []drill.Run, err error) {
	for _, sc := range scenarios {
		for rep := 1; rep <= repeat; rep++ {
			fmt.Fprintf(log, "drill %s (%d/%d): %s\n", sc.Name, rep, repeat, sc.Summary)
			h, err := Run(ctx, env, sc)
			if werr := WriteHistory(dir, sc.Name, rep, h); werr != nil {
				return runs, werr
			}
			if err != nil {
				return runs, fmt.Errorf("%s: %w", sc.Name, err)
			}
			r := drill.Check(h, sc.Limits)
			if err := WriteReport(dir, sc.Name, rep, r); err != nil {
				return runs, err
			}
			runs = append(runs, drill.Run{Scenario: sc.Name, Rep: rep, History: h, Report: r})
			verdict := "PASS"
			if !r.OK() {
				verdict = "FAIL"
			}
			fmt.Fprintf(log, "drill %s (%d/%d): %s: write outage %s, %d lost, %d split-brain\n\n",
				sc.Name, rep, repeat, verdict, r.Writes.Outage.Length, r.Writes.Lost, r.Writes.SplitBrain)
		}
	}
	return runs, nil
}
