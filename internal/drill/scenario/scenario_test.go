package scenario

import (
	"testing"
	"time"
)

// The limits are issue 6's promises for pghac's defaults; a change to them is a change of
// promise and must show up here.
func TestScenarioLimits(t *testing.T) {
	want := map[string]struct {
		outage   time.Duration
		failover bool
	}{
		"leader-crash":     {25 * time.Second, true},
		"leader-freeze":    {25 * time.Second, true},
		"leader-partition": {25 * time.Second, true},
		"leader-stop":      {5 * time.Second, true},
		"switchover":       {5 * time.Second, true},
		"replica-crash":    {25 * time.Second, false},
		"etcd-loss":        {5 * time.Second, false},
		"all-restart":      {0, true},
		"leader-return":    {25 * time.Second, true},
		"steady":           {0, false},
		"reinit":           {5 * time.Second, false},
		// Issue 14: no gap over 1 s for reload-type changes, a switchover's worth for restarts.
		"rollout-reload":  {time.Second, false},
		"rollout-restart": {5 * time.Second, true},
		"mend-node":       {time.Second, false},    // one node's HAProxy down: the others' serve
		"replace-node":    {5 * time.Second, true}, // the replaced leader's switchover
		"rotate-secret":   {time.Second, false},    // reloads only
		"rotate-tls":      {time.Second, false},    // reloads only
		"rotate-ca":       {time.Second, false},    // reloads only
		"scale-out":       {5 * time.Second, false},
		"scale-in":        {5 * time.Second, false},
		// Issue 15: the archive and the repository serve a replica as the primary would; a
		// restore takes writes away until the restored leader runs (no outage limit).
		"archive-catch-up":    {5 * time.Second, false},
		"replica-from-backup": {5 * time.Second, false},
		"restore":             {0, true},
	}
	seen := map[string]bool{}
	for _, s := range All() {
		if seen[s.Name] {
			t.Errorf("scenario %s listed twice", s.Name)
		}
		seen[s.Name] = true
		w, ok := want[s.Name]
		switch {
		case !ok:
			t.Errorf("scenario %s has no expected limits here", s.Name)
		case s.Limits.MaxOutage != w.outage || s.Limits.AllowFailover != w.failover:
			t.Errorf("%s: outage limit %s, failover allowed %v; want %s, %v", s.Name, s.Limits.MaxOutage, s.Limits.AllowFailover, w.outage, w.failover)
		case s.Summary == "" || s.inject == nil:
			t.Errorf("%s: no summary or no fault", s.Name)
		}
		if got, ok := Lookup(s.Name); !ok || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, ok)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d scenarios, want %d", len(seen), len(want))
	}
	if _, ok := Lookup("leader-nap"); ok {
		t.Error("Lookup found a scenario that does not exist")
	}
}
