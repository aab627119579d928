package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/patroni"
)

// TestOthersServe: a machine is replaced only while every other node runs as a member under
// a leader, whatever state the node itself is in (a dead one is why it is replaced).
func TestOthersServe(t *testing.T) {
	nodes := []string{"node0", "node1", "node2"}
	leader := patroni.Member{Name: "node0", Role: patroni.RoleLeader, State: "running"}
	replica := func(name, state string) patroni.Member {
		return patroni.Member{Name: name, Role: "replica", State: state}
	}
	for _, tc := range []struct {
		name    string
		members []patroni.Member
		node    string
		want    string // the error's start; "" for none
	}{
		{"a replica", []patroni.Member{leader, replica("node1", "streaming"), replica("node2", "running")}, "node1", ""},
		{"the leader", []patroni.Member{leader, replica("node1", "streaming"), replica("node2", "streaming")}, "node0", ""},
		{"a dead replica", []patroni.Member{leader, replica("node2", "streaming")}, "node1", ""},
		{"a stopped replica", []patroni.Member{leader, replica("node1", "stopped"), replica("node2", "streaming")}, "node1", ""},
		{"while another is stopped", []patroni.Member{leader, replica("node1", "streaming"), replica("node2", "stopped")}, "node1",
			"node2 does not run as a member"},
		{"while another is gone", []patroni.Member{leader, replica("node1", "streaming")}, "node1", "node2 does not run as a member"},
		{"the leader while a replica rebuilds", []patroni.Member{leader, replica("node1", "creating replica"), replica("node2", "streaming")}, "node0",
			"node1 does not run as a member"},
		{"with no leader", []patroni.Member{replica("node0", "running"), replica("node1", "streaming"), replica("node2", "running")}, "node1",
			"the cluster has no leader"},
	} {
		err := othersServe(patroni.Cluster{Members: tc.members}, nodes, tc.node)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v; want none", tc.name, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%s: %v; want an error starting %q", tc.name, err, tc.want)
		}
	}
}

// TestReplaceUnreachable: with no member answering, Replace replaces nothing.
func TestReplaceUnreachable(t *testing.T) {
	called := false
	machine := func(context.Context) error { called = true; return nil }
	_, err := Replace(context.Background(), &patroni.Client{}, []string{"node0", "node1"}, "node1", machine, machine, time.Second, func(string) {})
	if _, ok := errors.AsType[*UnreachableError](err); !ok || called {
		t.Errorf("Replace with no member answering: %v, machine or health called: %v; want an *UnreachableError and nothing done", err, called)
	}
}
