package rollout

import (
	"context"
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
