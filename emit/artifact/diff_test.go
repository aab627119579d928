package artifact

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiffs(t *testing.T) {
	dir := t.TempDir()
	for p, content := range map[string]string{"a.txt": "one\ntwo\n", "gone.txt": "bye\n"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := &Set{}
	for _, f := range []File{{Path: "a.txt", Mode: 0o644, Bytes: []byte("one\nthree\n")}, {Path: "new.txt", Mode: 0o644, Bytes: []byte("hi\nthere\n")}} {
		if err := set.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Compare(dir, set)
	if err != nil {
		t.Fatal(err)
	}
	diffs, err := Diffs(dir, set, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 3 {
		t.Fatalf("%d diffs, want 3: %+v", len(diffs), diffs)
	}
	changed, added, removed := diffs[0], diffs[1], diffs[2]
	if changed.Kind != "changed" || changed.Path != "a.txt" || changed.Ins != 1 || changed.Del != 1 ||
		!strings.Contains(changed.Diff, "--- "+path.Join("a", filepath.ToSlash(dir), "a.txt")+"\n") || !strings.Contains(changed.Diff, "\n-two\n+three\n") {
		t.Errorf("changed: %+v", changed)
	}
	if added.Kind != "added" || added.Ins != 2 || added.Del != 0 || !strings.HasPrefix(added.Diff, "--- /dev/null\n") {
		t.Errorf("added: %+v", added)
	}
	if removed.Kind != "removed" || removed.Path != "gone.txt" || removed.Del != 1 || !strings.Contains(removed.Diff, "+++ /dev/null\n") {
		t.Errorf("removed: %+v", removed)
	}
}
