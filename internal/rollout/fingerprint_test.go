package rollout

import (
	"errors"
	"testing"
)

// TestFingerprint: two surveys that found the same change fingerprint alike; any difference
// apply must not carry out unseen gives another fingerprint.
func TestFingerprint(t *testing.T) {
	base := func() Live {
		return Live{
			Nodes: []NodePlan{
				{Node: "node0", Files: []FileChange{{File: File{Path: "/etc/pgbouncer/pgbouncer.ini", Mode: 0o640, Owner: "postgres:postgres"}, Kind: "changed", Diff: "-a\n+b\n", Actions: []Action{ActionReloadPgBouncer}}}},
				{Node: "node1"},
			},
			Settings: []Setting{{Key: "postgresql.parameters.work_mem", Have: "4MB", Want: "8MB"}},
		}
	}
	fp := base().Fingerprint()
	if len(fp) != 64 || base().Fingerprint() != fp {
		t.Fatalf("the same survey fingerprints as %q and %q", fp, base().Fingerprint())
	}
	for name, change := range map[string]func(*Live){
		"a node's file edited by hand": func(l *Live) { l.Nodes[0].Files[0].Diff = "-c\n+b\n" },
		"a file's mode":                func(l *Live) { l.Nodes[0].Files[0].Mode = 0o644 },
		"another node to change":       func(l *Live) { l.Nodes[1].Files = l.Nodes[0].Files },
		"a node out of reach":          func(l *Live) { l.Nodes[1].Err = errors.New("connection refused") },
		"a setting's running value":    func(l *Live) { l.Settings[0].Have = "6MB" },
		"a restart":                    func(l *Live) { l.Restart = true },
		"a post_bootstrap script":      func(l *Live) { l.PostBootstrap = []byte("#!/bin/sh\n") },
		"an unsafe change":             func(l *Live) { l.Unsafe = []string{"node0: renamed"} },
		"a node fewer":                 func(l *Live) { l.Nodes = l.Nodes[:1] },
	} {
		l := base()
		change(&l)
		if l.Fingerprint() == fp {
			t.Errorf("%s: same fingerprint", name)
		}
	}
	// What reaching a node failed with is not part of what apply does.
	a, b := base(), base()
	a.Nodes[1].Err, b.Nodes[1].Err = errors.New("timeout"), errors.New("connection refused")
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("two reasons for one unreachable node fingerprint differently")
	}
}
