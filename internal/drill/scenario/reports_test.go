package scenario

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/drill"
)

// history is a run in which node0 acknowledged one write that the final read found.
func history() drill.History {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return drill.History{
		Scenario: "switchover",
		FaultAt:  t0.Add(time.Second), RecoveredAt: t0.Add(3 * time.Second),
		Writes: []drill.Write{{ID: 1, Node: "node0", Start: t0, End: t0.Add(time.Millisecond),
			Outcome: drill.Acked, Server: "node0", Timeline: 1}},
		Samples:  []drill.LeaderSample{{At: t0, Leader: "node0"}},
		FinalIDs: []int64{1},
	}
}

func TestWriteReports(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20250102T030405Z")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := history()
	r := drill.Check(h, drill.Limits{})
	if err := WriteHistory(dir, "switchover", 2, h); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(dir, "switchover", 2, r); err != nil {
		t.Fatal(err)
	}
	table, err := WriteReports(dir, []drill.Run{{Scenario: "switchover", Rep: 2, History: h, Report: r}})
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(filepath.Join(dir, "switchover-2.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if back, err := drill.ReadHistory(f); err != nil || len(back.Writes) != 1 || back.Scenario != "switchover" {
		t.Errorf("the history file does not read back: %+v, %v", back, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "switchover-2.report.json")); err != nil || !bytes.Contains(b, []byte(`"switchover"`)) {
		t.Errorf("report.json: %v\n%s", err, b)
	}
	summary, err := os.ReadFile(filepath.Join(dir, "summary.txt"))
	if err != nil || !bytes.Equal(summary, table) || !strings.Contains(string(table), "switchover") {
		t.Errorf("summary.txt is not the returned table (%v):\n%s\n---\n%s", err, summary, table)
	}
	// The page is titled by the folder, the run's start time.
	if page, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !bytes.Contains(page, []byte("pghac drill 20250102T030405Z")) {
		t.Errorf("report.html: %v", err)
	}
}

func TestWriteReportsErrors(t *testing.T) {
	dir := t.TempDir()
	// A history the encoder refuses (a write without an outcome) leaves no file behind.
	bad := history()
	bad.Writes[0].Outcome = 0
	if err := WriteHistory(dir, "switchover", 1, bad); err == nil {
		t.Error("WriteHistory wrote a write without an outcome")
	}
	if _, err := os.Stat(filepath.Join(dir, "switchover-1.history.json")); !os.IsNotExist(err) {
		t.Errorf("a failed history left a file: %v", err)
	}
	// A folder that cannot be written: the table still comes back, for the user to see.
	h := history()
	runs := []drill.Run{{Scenario: "switchover", Rep: 1, History: h, Report: drill.Check(h, drill.Limits{})}}
	table, err := WriteReports(filepath.Join(dir, "missing"), runs)
	if err == nil || !strings.Contains(string(table), "switchover") {
		t.Errorf("WriteReports into a missing folder: %v, table:\n%s", err, table)
	}
}
