package load

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestScenarios(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"smoke/load.yaml", "smoke/ammo.txt",
		"mixed/load.yaml",
		"notes/ammo.txt", // no load.yaml: not a scenario
	} {
		f := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file at the top is not a scenario either.
	if err := os.WriteFile(filepath.Join(dir, "README"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Scenarios(dir)
	if want := []string{"mixed", "smoke"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Scenarios = %q, %v; want %q", got, err, want)
	}
	if got, want := ScenarioConfig(dir, "smoke"), filepath.Join(dir, "smoke", "load.yaml"); got != want {
		t.Errorf("ScenarioConfig = %s, want %s", got, want)
	}

	empty := t.TempDir()
	if got, err := Scenarios(empty); err != nil || len(got) != 0 {
		t.Errorf("Scenarios of an empty bundle = %q, %v", got, err)
	}
	if _, err := Scenarios(filepath.Join(empty, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Scenarios of a missing bundle: %v, want fs.ErrNotExist", err)
	}
}

func TestPick(t *testing.T) {
	bundle := func(names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ScenarioConfig(dir, n), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	one, two := bundle("smoke"), bundle("mixed", "smoke")
	for _, tc := range []struct {
		dir, name, want string
		choice          bool // a *ChoiceError
		errIs           error
	}{
		{dir: one, want: "smoke"},
		{dir: one, name: "smoke", want: "smoke"},
		{dir: two, name: "mixed", want: "mixed"},
		{dir: two, choice: true},
		{dir: two, name: "soak", choice: true},
		{dir: bundle(), errIs: ErrNoScenarios},
		{dir: filepath.Join(one, "nothing"), errIs: fs.ErrNotExist},
	} {
		got, err := Pick(tc.dir, tc.name)
		_, choice := errors.AsType[*ChoiceError](err)
		switch {
		case tc.want != "" && (got != tc.want || err != nil):
			t.Errorf("Pick(%s, %q) = %q, %v; want %q", tc.dir, tc.name, got, err, tc.want)
		case tc.choice != choice:
			t.Errorf("Pick(%s, %q): %v; want a ChoiceError: %v", tc.dir, tc.name, err, tc.choice)
		case tc.errIs != nil && !errors.Is(err, tc.errIs):
			t.Errorf("Pick(%s, %q): %v; want %v", tc.dir, tc.name, err, tc.errIs)
		}
	}
}
