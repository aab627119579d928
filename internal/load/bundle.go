package load

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// ConfigName is a scenario's Tank configuration in a load-test bundle, beside its ammo.
const ConfigName = "load.yaml"

// Scenarios lists the scenarios of the load-test bundle in dir (deploy/<target>/loadtest as
// `pghac build` emits it): the names of its folders that hold a ConfigName, sorted. Other
// entries are not scenarios and are skipped. The error is os.ReadDir's, unwrapped, so that
// callers can say the bundle is missing.
func Scenarios(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(ScenarioConfig(dir, e.Name())); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// ScenarioConfig is the path of scenario name's load.yaml in the bundle in dir.
func ScenarioConfig(dir, name string) string { return filepath.Join(dir, name, ConfigName) }

// ChoiceError is a scenario name the bundle does not have, or a bundle with several
// scenarios and no name: the user has to choose.
type ChoiceError struct{ Msg string }

func (e *ChoiceError) Error() string { return e.Msg }

// ErrNoScenarios is a bundle folder without a scenario in it.
var ErrNoScenarios = errors.New("no scenario folders with a " + ConfigName)

// Pick is the scenario of the bundle in dir to run: name when the bundle has it, else
// ("" name) the only one there is. It fails with a *ChoiceError when the user has to choose,
// and otherwise (no bundle, ErrNoScenarios) when there is nothing to choose from.
func Pick(dir, name string) (string, error) {
	names, err := Scenarios(dir)
	switch {
	case err != nil:
		return "", err
	case len(names) == 0:
		return "", fmt.Errorf("%s has %w", dir, ErrNoScenarios)
	case name != "" && slices.Contains(names, name):
		return name, nil
	case name != "":
		return "", &ChoiceError{fmt.Sprintf("no scenario %q in %s: want one of %s", name, dir, strings.Join(names, ", "))}
	case len(names) == 1:
		return names[0], nil
	}
	return "", &ChoiceError{fmt.Sprintf("%s has %d scenarios; choose one with --scenario: %s", dir, len(names), strings.Join(names, ", "))}
}
