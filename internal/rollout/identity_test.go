package rollout

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/patroni"
)

func TestIdentityChange(t *testing.T) {
	cfg := func(scope, namespace string) []byte {
		return []byte("scope: " + scope + "\nnamespace: " + namespace + "\nname: node0\nrestapi:\n  listen: 0.0.0.0:8008\n")
	}
	for _, tc := range []struct {
		name       string
		have, want []byte
		wantStart  string
	}{
		{"the same cluster", cfg("main", "/service/"), cfg("main", "/service/"), ""},
		{"renamed", cfg("main", "/service/"), cfg("billing", "/service/"), `the cluster's name changes from "main" to "billing"`},
		{"another namespace", cfg("main", "/service/"), cfg("main", "/pg/"), `Patroni's namespace changes from "/service/" to "/pg/"`},
		{"unreadable", []byte("scope: [\n"), cfg("main", "/service/"), ""},
	} {
		got := identityChange(tc.have, tc.want)
		if tc.wantStart == "" && got != "" || tc.wantStart != "" && !strings.HasPrefix(got, tc.wantStart) {
			t.Errorf("%s: %q; want it to start with %q", tc.name, got, tc.wantStart)
		}
	}
}

// TestApplyRefusesUnsafe: a plan with an unsafe change changes nothing, not even the safe part.
func TestApplyRefusesUnsafe(t *testing.T) {
	dialed := false
	dial := func(context.Context, string) (Conn, error) { dialed = true; return nil, context.Canceled }
	l := Live{Nodes: []NodePlan{{Node: "node0", Files: []FileChange{{File: File{Path: "/etc/haproxy/haproxy.cfg"}, Kind: "changed"}}}},
		Unsafe: []string{`node0: the cluster's name changes from "main" to "billing"`}}
	if l.Empty() {
		t.Error("a plan with an unsafe change is empty")
	}
	_, err := Apply(context.Background(), l, dial, &patroni.Client{}, nil, time.Second, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "name changes") || !strings.HasSuffix(err.Error(), "nothing was changed") || dialed {
		t.Errorf("Apply: %v, dialed %v; want a refusal naming the change, nothing dialed", err, dialed)
	}
}

// TestApplyBroken: broken nodes go first, and a broken node the change leaves as it is stops
// the rollout before anything changes.
func TestApplyBroken(t *testing.T) {
	file := []FileChange{{File: File{Path: "/etc/haproxy/haproxy.cfg"}, Kind: "changed"}}
	nodes := []NodePlan{{Node: "node0", Files: file}, {Node: "node1", Files: file}, {Node: "node2"}, {Node: "node3", Files: file}}
	var got []string
	for _, n := range applyOrder(nodes, []string{"node3", "node0"}, "node0") {
		got = append(got, n.Node)
	}
	// node0 leads but is broken: first, as node3 (in survey order); node2 has nothing to change.
	if want := []string{"node0", "node3", "node1"}; !slices.Equal(got, want) {
		t.Errorf("applyOrder = %v; want %v", got, want)
	}
	got = nil
	for _, n := range applyOrder(nodes, nil, "node0") {
		got = append(got, n.Node)
	}
	if want := []string{"node1", "node3", "node0"}; !slices.Equal(got, want) {
		t.Errorf("applyOrder, none broken = %v; want %v", got, want)
	}

	dialed := false
	dial := func(context.Context, string) (Conn, error) { dialed = true; return nil, context.Canceled }
	l := Live{Nodes: nodes, Broken: []string{"node1", "node2"}}
	_, err := Apply(context.Background(), l, dial, &patroni.Client{}, nil, time.Second, func(string) {})
	if want := "node2 has problems, and the change leaves it as it is: mend it, or replace its machine (--replace node2), first; nothing was changed"; err == nil || err.Error() != want || dialed {
		t.Errorf("Apply: %v, dialed %v; want %q, nothing dialed", err, dialed, want)
	}
}
