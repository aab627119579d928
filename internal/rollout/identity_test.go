package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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

// okConn is a node that takes every file and command.
type okConn struct{ FileReader }

func (okConn) WriteFile(context.Context, string, []byte, os.FileMode, string) error { return nil }
func (okConn) Run(context.Context, string, []byte) ([]byte, error)                  { return nil, nil }
func (okConn) Close() error                                                         { return nil }

// TestApplyJoining: a joining node's health is overlooked while the others change (they admit
// it only then), and waited for after the last one; a node that never joins fails the rollout.
func TestApplyJoining(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"members":[{"name":"node0","role":"leader","state":"running"},{"name":"node1","role":"replica","state":"streaming"}]}`)
	}))
	defer srv.Close()
	pc := &patroni.Client{Endpoints: []patroni.Endpoint{{Name: "node0", URL: srv.URL}}}
	file := []FileChange{{File: File{Path: "/etc/patroni/config.yml"}, Kind: "changed"}}
	l := Live{Nodes: []NodePlan{{Node: "node0", Files: file}, {Node: "node1", Files: file}, {Node: "node3"}}, Joining: []string{"node3"}}
	dial := func(context.Context, string) (Conn, error) { return okConn{}, nil }

	for _, joins := range []bool{true, false} {
		var waits [][]string
		healthy := func(_ context.Context, except []string) error {
			waits = append(waits, slices.Clone(except))
			if len(except) == 0 && !joins {
				return errors.New("node3: not streaming")
			}
			return nil
		}
		done, err := Apply(context.Background(), l, dial, pc, healthy, time.Second, func(string) {})
		want := [][]string{{"node3"}, {"node3"}, nil}
		if !slices.EqualFunc(waits, want, slices.Equal) {
			t.Errorf("joins %v: health waits overlooking %q, want %q", joins, waits, want)
		}
		if joins && (err != nil || !slices.Equal(done.Nodes, []string{"node1", "node0"})) {
			t.Errorf("Apply: %v, changed %v; want node1, node0", err, done.Nodes)
		}
		if !joins && (err == nil || !strings.HasPrefix(err.Error(), "node3 did not join")) {
			t.Errorf("Apply with node3 never joining: %v", err)
		}
	}
}
