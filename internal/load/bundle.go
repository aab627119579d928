package load

import (
	"os"
	"path/filepath"
	"sort"
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
