package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/emit/artifact"
)

// The tests below check the driver itself on small inputs, so that a broken harness cannot
// pass every case by comparing nothing.

func TestMarkers(t *testing.T) {
	src := `# A comment that is no marker.
cluster "main" {
  cidr = "x" # ERROR: Invalid CIDR
  admin_cidrs = ["0.0.0.0/0", "office"] # WARNING: SSH open to the internet # ERROR: Invalid CIDR
  ttl = 1 #ERROR:   Patroni timing below minimum  
  # ERROR: Two errors # ERROR: Another
}
`
	want := map[int][]string{
		3: {"ERROR: Invalid CIDR"},
		4: {"ERROR: Invalid CIDR", "WARNING: SSH open to the internet"},
		5: {"ERROR: Patroni timing below minimum"},
		6: {"ERROR: Another", "ERROR: Two errors"},
	}
	if diff := cmp.Diff(want, markers([]byte(src))); diff != "" {
		t.Errorf("markers (-want +got):\n%s", diff)
	}
	if got := markers([]byte("cluster \"main\" {\n}\n")); len(got) != 0 {
		t.Errorf("markers of an unmarked file: %v", got)
	}
}

func TestCaseInvalid(t *testing.T) {
	for src, want := range map[string]bool{
		"a = 1 # ERROR: Bad\n":          true,
		"a = 1 # WARNING: Odd\n":        false,
		"a = 1 # who may SSH in\n":      false,
		"a = 1 # WARNING: x # ERROR: y": true,
	} {
		if got := (goldenCase{src: []byte(src)}).invalid(); got != want {
			t.Errorf("invalid(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestDiagMarkers(t *testing.T) {
	at := func(line int) *hcl.Range {
		return &hcl.Range{Filename: "cluster.hcl", Start: hcl.Pos{Line: line, Column: 3}, End: hcl.Pos{Line: line, Column: 9}}
	}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Zeta", Subject: at(4)},
		{Severity: hcl.DiagWarning, Summary: "Odd", Subject: at(4)},
		{Severity: hcl.DiagError, Summary: "Alpha", Subject: at(4)},
		{Severity: hcl.DiagError, Summary: "Nowhere"},
		{Severity: hcl.DiagWarning, Summary: "Slow", Subject: at(7)},
	}
	want := map[int][]string{
		0: {"ERROR: Nowhere"},
		4: {"ERROR: Alpha", "ERROR: Zeta", "WARNING: Odd"},
		7: {"WARNING: Slow"},
	}
	if diff := cmp.Diff(want, diagMarkers(diags, false)); diff != "" {
		t.Errorf("diagMarkers (-want +got):\n%s", diff)
	}
	wantErrors := map[int][]string{0: {"ERROR: Nowhere"}, 4: {"ERROR: Alpha", "ERROR: Zeta"}}
	if diff := cmp.Diff(wantErrors, diagMarkers(diags, true)); diff != "" {
		t.Errorf("diagMarkers errors only (-want +got):\n%s", diff)
	}
}

func TestRenderDiagnostics(t *testing.T) {
	src := []byte("cluster \"main\" {\n  ttl = 1\n}\n")
	rng := hcl.Range{Filename: "cluster.hcl", Start: hcl.Pos{Line: 2, Column: 9, Byte: 25}, End: hcl.Pos{Line: 2, Column: 10, Byte: 26}}
	diags := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Too short", Detail: "Make it longer.", Subject: &rng}}
	got, err := RenderDiagnostics(diags, map[string]*hcl.File{"cluster.hcl": {Bytes: src}})
	if err != nil {
		t.Fatal(err)
	}
	want := "Error: Too short\n\n  on cluster.hcl line 2:\n   2:   ttl = 1\n\nMake it longer.\n\ncluster.hcl:2:9: error: Too short\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got, _ := RenderDiagnostics(nil, nil); got != nil {
		t.Errorf("no diagnostics rendered as %q", got)
	}
}

func set(t *testing.T, files ...artifact.File) *artifact.Set {
	t.Helper()
	s := &artifact.Set{}
	for _, f := range files {
		if err := s.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestCompareTree(t *testing.T) {
	got := set(t,
		artifact.File{Path: "a.txt", Mode: 0o644, Bytes: []byte("zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\n")},
		artifact.File{Path: "bin/run.sh", Mode: 0o755, Bytes: []byte("#!/bin/sh\n")},
		artifact.File{Path: "new.txt", Mode: 0o644, Bytes: []byte("new\n")},
	)
	same := map[string]treeFile{
		"a.txt":      {[]byte("zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\n"), 0o644},
		"bin/run.sh": {[]byte("#!/bin/sh\n"), 0o755},
		"new.txt":    {[]byte("new\n"), 0o600}, // only the executable bit counts
	}
	if msgs := compareTree("want", same, got); len(msgs) != 0 {
		t.Errorf("equal trees differ: %v", msgs)
	}

	want := map[string]treeFile{
		"a.txt":      {[]byte("zero\none\nTWO\nthree\nfour\nfive\nsix\nseven\n"), 0o644},
		"bin/run.sh": {[]byte("#!/bin/sh\n"), 0o644},
		"old.txt":    {[]byte("old\n"), 0o644},
	}
	msgs := compareTree("want", want, got)
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3 (list, a.txt, mode):\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	for i, sub := range [][]string{
		// cmp varies its spacing on purpose: match the words only.
		{"want: file list mismatch (-want +got):", `"old.txt"`, `"new.txt"`, "run: make golden"},
		{filepath.Join("want", "a.txt") + " mismatch (-want +got):", "TWO", "two", "run: make golden"},
		{filepath.Join("want", "bin", "run.sh") + ": mode -rwxr-xr-x, want -rw-r--r--"},
	} {
		for _, s := range sub {
			if !strings.Contains(msgs[i], s) {
				t.Errorf("message %d lacks %q:\n%s", i, s, msgs[i])
			}
		}
	}
}

// TestUpdateRoundTrip checks what -update does: the want tree is rewritten whole (orphans
// go), and then compares clean.
func TestUpdateRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "want")
	if err := os.MkdirAll(filepath.Join(dir, "yandex", "gone"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "yandex", "gone", "orphan.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := set(t,
		artifact.File{Path: diagFile, Mode: 0o644, Bytes: []byte("Warning: x\n")},
		artifact.File{Path: "yandex/nodes/node0/user-data.yaml", Mode: 0o644, Bytes: []byte("#cloud-config\n")},
	)
	before, err := readTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := compareTree(dir, before, got); len(msgs) != 1 || !strings.Contains(msgs[0], "orphan.txt") {
		t.Errorf("before the update: %v", msgs)
	}
	if err := artifact.WriteDir(dir, got); err != nil {
		t.Fatal(err)
	}
	after, err := readTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := compareTree(dir, after, got); len(msgs) != 0 {
		t.Errorf("after the update: %v", msgs)
	}
	if _, ok := after["yandex/gone/orphan.txt"]; ok {
		t.Error("the orphan survived the update")
	}
}

func TestReadTreeMissing(t *testing.T) {
	files, err := readTree(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(files) != 0 {
		t.Errorf("readTree of a missing dir: %v, %v", files, err)
	}
}

// TestCases checks the case list: every testdata case plus the root, with invalid cases
// recognized by their markers.
func TestCases(t *testing.T) {
	all := cases(t)
	last := all[len(all)-1]
	if last.name != rootName || !last.root || last.file != rootFile {
		t.Errorf("the last case is %+v, want the root cluster.hcl", last)
	}
	for _, c := range all {
		if len(c.src) == 0 {
			t.Errorf("%s: empty", c.file)
		}
		if strings.HasPrefix(c.name, "err-") != c.invalid() {
			t.Errorf("%s: invalid() = %v; err- cases (and only they) carry ERROR markers", c.name, c.invalid())
		}
	}
}
