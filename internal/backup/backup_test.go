package backup

import (
	"os"
	"strings"
	"testing"
	"time"
)

func info(t *testing.T, file string) Info {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseInfo(b, "main")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// The fixtures are pgBackRest 2.45's own output: three backups of a local cluster (full,
// diff, incr) in a posix repository; a repository without the stanza; an S3 endpoint that
// refuses connections.
func TestParseInfo(t *testing.T) {
	in := info(t, "info-three.json")
	if in.Problem() != "" || len(in.Backups) != 3 || in.ArchiveMin != "000000010000000000000001" || in.ArchiveMax != "000000010000000000000007" {
		t.Fatalf("%+v", in)
	}
	last, _ := in.Last()
	if last.Type != "incr" || last.Prior != "20261207-002919F_20261207-002926D" || last.Size != 26646216 || last.RepoDelta != 383 {
		t.Errorf("last backup: %+v", last)
	}
	first := in.Backups[0]
	if first.Type != "full" || first.Label != "20261207-002919F" || first.Stop.Sub(first.Start) != 6*time.Second || first.WALStop != "000000010000000000000003" {
		t.Errorf("first backup: %+v", first)
	}
	if e, _ := in.Earliest(); !e.Equal(first.Stop) {
		t.Errorf("earliest %s, want the first backup's end %s", e, first.Stop)
	}
	if _, err := ParseInfo([]byte(`[]`), "main"); err == nil {
		t.Error("no stanza in the output: no error")
	}
}

func TestInfoProblems(t *testing.T) {
	for file, want := range map[string]string{
		"info-no-stanza.json":   `has no stanza "main"`,
		"info-unreachable.json": "cannot be used: [HostConnectError] unable to connect to '127.0.0.1:1'",
	} {
		in := info(t, file)
		if p := in.Problem(); !strings.Contains(p, want) {
			t.Errorf("%s: %q, want it to say %q", file, p, want)
		}
		if _, ok := in.Last(); ok {
			t.Errorf("%s: a last backup", file)
		}
	}
}

func TestArchiver(t *testing.T) {
	a, err := ParseArchiver([]byte("1796603400|000000010000000000000007|1796603500|000000010000000000000008|3|1796603560\n40\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Failing() || a.Lag() != 160*time.Second || a.WaitingBytes() != 640<<20 || a.Failed != 3 {
		t.Errorf("%+v", a)
	}
	p := a.Problem(1 << 30)
	if !strings.Contains(p, "WAL archiving fails (last failure 1m0s ago, on 000000010000000000000008; last success 2m40s ago)") ||
		!strings.Contains(p, "640.0 MiB of WAL waits to be archived, of 1.0 GiB") {
		t.Errorf("problem: %q", p)
	}
	ok, _ := ParseArchiver([]byte("1796603550|000000010000000000000009|0||0|1796603560\n0\n"))
	if ok.Failing() || ok.Problem(1<<30) != "" || !ok.Latest().Equal(ok.Now) {
		t.Errorf("healthy archiver: %+v %q", ok, ok.Problem(1<<30))
	}
	if _, err := ParseArchiver([]byte("garbage")); err == nil {
		t.Error("garbage parsed")
	}
}

func TestCheckTarget(t *testing.T) {
	in := info(t, "info-three.json")
	first := in.Backups[0].Stop
	a := Archiver{LastArchived: first.Add(time.Hour), Now: first.Add(2 * time.Hour), Waiting: 3}
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{first.Add(-time.Second), "earlier than the oldest backup can reach: backup 20261207-002919F"},
		{first, ""},
		{first.Add(time.Hour), ""},
		{first.Add(time.Hour + time.Second), "later than the WAL archive reaches"},
	} {
		err := in.CheckTarget(tt.t, a)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.t, err, tt.want)
		}
	}
	if err := (Info{}).CheckTarget(first, a); err == nil {
		t.Error("an empty repository accepts a target")
	}
}
