package golden

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/emit/artifact"
)

var update = flag.Bool("update", false, "rewrite every want/ tree (and deploy/<target>/) from the current output")

const (
	testdata = "testdata"
	// rootFile and rootDeploy are the repository's own cluster and its committed output, a
	// golden case like the others, so that a stale deploy/ fails `make test`.
	rootFile   = "../cluster.hcl"
	rootDeploy = "../deploy"
	rootName   = "root"
	// diagFile holds the rendered diagnostics of a case that has any.
	diagFile = "diagnostics.txt"
)

// goldenCase is one cluster file with its expected output.
type goldenCase struct {
	name string
	file string // its cluster.hcl
	src  []byte
	root bool // the repository's cluster.hcl, whose want tree is deploy/<target>/
}

// invalid reports whether the case expects errors: its file carries an ERROR marker.
func (c goldenCase) invalid() bool {
	for _, ms := range markers(c.src) {
		for _, m := range ms {
			if strings.HasPrefix(m, "ERROR: ") {
				return true
			}
		}
	}
	return false
}

// cases returns every directory of testdata/ that holds a cluster.hcl, by name, then the root
// case.
func cases(t testing.TB) []goldenCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata, "*", "cluster.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []goldenCase
	for _, f := range files {
		out = append(out, goldenCase{name: filepath.Base(filepath.Dir(f)), file: f})
	}
	out = append(out, goldenCase{name: rootName, file: rootFile, root: true})
	for i := range out {
		if out[i].src, err = os.ReadFile(out[i].file); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// targetsRE finds a case's target line: "# TARGETS: yandex sandbox".
var targetsRE = regexp.MustCompile(`(?m)^#\s*TARGETS:(.*)$`)

// targets are the targets c is built for: every target for the repository's cluster.hcl;
// for a testdata case those its TARGETS line lists, else the first target only (a case's
// want/ tree holds <target>/... for each). Unknown names are a test error.
func (c goldenCase) targets(t testing.TB) []model.Target {
	t.Helper()
	if c.root {
		return model.Targets
	}
	m := targetsRE.FindSubmatch(c.src)
	if m == nil {
		return model.Targets[:1]
	}
	var out []model.Target
	for _, name := range strings.Fields(string(m[1])) {
		if !slices.Contains(model.Targets, model.Target(name)) {
			t.Fatalf("%s: TARGETS names unknown target %q", c.file, name)
		}
		out = append(out, model.Target(name))
	}
	if len(out) == 0 {
		t.Fatalf("%s: TARGETS lists no target", c.file)
	}
	return out
}

// validCases are the cases without ERROR markers.
func validCases(t testing.TB) []goldenCase {
	t.Helper()
	var out []goldenCase
	for _, c := range cases(t) {
		if !c.invalid() {
			out = append(out, c)
		}
	}
	return out
}

// built is a valid case built for one target.
type built struct {
	target  model.Target
	cluster *model.Cluster
	set     *artifact.Set
}

// buildValid builds c for each of its targets and fails the test on any diagnostic error or
// emit error.
func buildValid(t *testing.T, c goldenCase) []built {
	t.Helper()
	var out []built
	for _, target := range c.targets(t) {
		f, cl, diags := compiler.CompileSource(c.src, "cluster.hcl", target)
		if diags.HasErrors() {
			txt, _ := RenderDiagnostics(diags, f.Files())
			t.Fatalf("%s for %s: unexpected errors:\n%s", c.file, target, txt)
		}
		set, err := emit.Build(cl)
		if err != nil {
			t.Fatalf("%s for %s: emit: %v", c.file, target, err)
		}
		out = append(out, built{target, cl, set})
	}
	return out
}

// markerRE finds inline markers: "# ERROR: <Summary>" and "# WARNING: <Summary>". A line may
// carry several; each summary runs to the next marker or the end of the line.
var markerRE = regexp.MustCompile(`#\s*(ERROR|WARNING):`)

// markers returns the diagnostics src expects by line number: "ERROR: <Summary>" or
// "WARNING: <Summary>", sorted within a line.
func markers(src []byte) map[int][]string {
	out := map[int][]string{}
	for i, line := range strings.Split(string(src), "\n") {
		locs := markerRE.FindAllStringSubmatchIndex(line, -1)
		for j, loc := range locs {
			end := len(line)
			if j+1 < len(locs) {
				end = locs[j+1][0]
			}
			summary := strings.TrimSpace(line[loc[1]:end])
			out[i+1] = append(out[i+1], line[loc[2]:loc[3]]+": "+summary)
		}
		slices.Sort(out[i+1])
	}
	for l, ms := range out {
		if len(ms) == 0 {
			delete(out, l)
		}
	}
	return out
}

// diagMarkers returns diags as markers would list them, at their subject's first line (0 for
// a diagnostic without subject, which no marker can expect). With errorsOnly, warnings are
// left out.
func diagMarkers(diags hcl.Diagnostics, errorsOnly bool) map[int][]string {
	out := map[int][]string{}
	for _, d := range diags {
		sev := "ERROR"
		if d.Severity == hcl.DiagWarning {
			if errorsOnly {
				continue
			}
			sev = "WARNING"
		}
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		out[line] = append(out[line], sev+": "+d.Summary)
	}
	for _, ms := range out {
		slices.Sort(ms)
	}
	return out
}

// checkDiagnostics compares diags with the markers of c. Warnings are compared when the case
// has errors or marks any warning; an unmarked warning of a valid case is only logged.
func checkDiagnostics(t *testing.T, c goldenCase, diags hcl.Diagnostics) {
	t.Helper()
	want := markers(c.src)
	checkWarnings := c.invalid()
	for _, ms := range want {
		for _, m := range ms {
			checkWarnings = checkWarnings || strings.HasPrefix(m, "WARNING: ")
		}
	}
	if diff := cmp.Diff(want, diagMarkers(diags, !checkWarnings)); diff != "" {
		t.Errorf("%s: diagnostics differ from the file's markers (-want +got):\n%s", c.file, diff)
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject == nil {
			t.Errorf("%s: error %q has no Subject: every error must point into the file", c.file, d.Summary)
		}
		if !checkWarnings && d.Severity == hcl.DiagWarning {
			t.Logf("%s: warning %q (add a WARNING marker to check it)", c.file, d.Summary)
		}
	}
}

// wantTree is one directory a case is compared with, and what it should hold.
type wantTree struct {
	dir string
	got *artifact.Set
}

// outputs runs c and returns the trees to compare: for a testdata case its want/ directory,
// holding <target>/... for each of its targets when valid and diagnostics.txt when there are diagnostics; for the root
// case deploy/<target>/ for every target.
func outputs(t *testing.T, c goldenCase) []wantTree {
	t.Helper()
	targets := c.targets(t)
	if c.invalid() {
		targets = targets[:1] // what fails, fails before anything is target-specific
	}
	var trees []wantTree
	want := &artifact.Set{}
	add := func(f artifact.File) {
		if err := want.Add(f); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
	}
	for i, target := range targets {
		set, f, diags, err := BuildSource(c.src, "cluster.hcl", target)
		txt, rerr := RenderDiagnostics(diags, f.Files())
		if rerr != nil {
			t.Fatalf("%s: render diagnostics: %v", c.file, rerr)
		}
		if diags.HasErrors() && !c.invalid() {
			t.Errorf("%s for %s: unexpected errors (mark them with # ERROR: if meant):\n%s", c.file, target, txt)
		}
		// The markers and diagnostics.txt are about the first target.
		if i == 0 {
			checkDiagnostics(t, c, diags)
			if txt != nil && !c.root {
				add(artifact.File{Path: diagFile, Mode: 0o644, Bytes: txt})
			}
		}
		if err != nil {
			t.Fatalf("%s for %s: %v", c.file, target, err)
		}
		if set == nil {
			continue
		}
		if c.root {
			trees = append(trees, wantTree{filepath.Join(rootDeploy, string(target)), set})
			continue
		}
		for _, f := range set.Files() {
			f.Path = string(target) + "/" + f.Path
			add(f)
		}
	}
	if !c.root {
		trees = append(trees, wantTree{filepath.Join(filepath.Dir(c.file), "want"), want})
	}
	return trees
}

func TestGolden(t *testing.T) {
	if *update && os.Getenv("CI") != "" {
		t.Fatal("-update in CI: golden files are rewritten by developers (make golden), never by CI")
	}
	all := cases(t)
	if len(all) < 2 {
		t.Fatalf("no cases under %s", testdata)
	}
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			trees := outputs(t, c)
			if *update && t.Failed() {
				t.Fatal("want/ left as it was: fix the problems above first")
			}
			for _, tree := range trees {
				if *update {
					if err := artifact.WriteDir(tree.dir, tree.got); err != nil {
						t.Fatal(err)
					}
					for _, p := range tree.got.Paths() {
						t.Logf("wrote %s", filepath.Join(tree.dir, p))
					}
					continue
				}
				files, err := readTree(tree.dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, msg := range compareTree(tree.dir, files, tree.got) {
					t.Error(msg)
				}
			}
		})
	}
}

// treeFile is a file of a want tree on disk.
type treeFile struct {
	bytes []byte
	mode  fs.FileMode
}

// readTree reads every file under dir by slash path. A missing dir is empty.
func readTree(dir string) (map[string]treeFile, error) {
	out := map[string]treeFile{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if e.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = treeFile{b, info.Mode()}
		return nil
	})
	return out, err
}

// compareTree returns a message for every way want (the files under dir) differs from got:
// first the sorted lists of names, then each file present in both, byte for byte, and its
// executable bit (the only mode bit git keeps).
func compareTree(dir string, want map[string]treeFile, got *artifact.Set) []string {
	wantPaths := make([]string, 0, len(want))
	for p := range want {
		wantPaths = append(wantPaths, p)
	}
	sort.Strings(wantPaths)
	var msgs []string
	if diff := cmp.Diff(wantPaths, got.Paths()); diff != "" {
		msgs = append(msgs, fmt.Sprintf("%s: file list mismatch (-want +got):\n%s\nrun: make golden", dir, diff))
	}
	for _, f := range got.Files() {
		w, ok := want[f.Path]
		if !ok {
			continue
		}
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		if !bytes.Equal(w.bytes, f.Bytes) {
			msgs = append(msgs, fmt.Sprintf("%s mismatch (-want +got):\n%s\nrun: make golden", name, cmp.Diff(string(w.bytes), string(f.Bytes))))
		}
		if w.mode&0o111 != f.Mode&0o111 {
			msgs = append(msgs, fmt.Sprintf("%s: mode %v, want %v\nrun: make golden", name, f.Mode, w.mode.Perm()))
		}
	}
	return msgs
}
