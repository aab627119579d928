package health

import (
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/patroni"
)

// statsCSV is an HAProxy statistics page: its proxies and servers with their status.
func statsCSV(rows ...string) []byte {
	return []byte("# pxname,svname,qcur,status\n" + strings.Join(rows, "\n") + "\n")
}

// TestHAProxyVerdict: the primary port must reach the leader alone and the replica port every
// streaming replica HAProxy has a server for; a node added since the configuration was written
// is the rollout's to add, not a routing fault.
func TestHAProxyVerdict(t *testing.T) {
	members := []Member{
		{Name: "node0", Role: patroni.RoleLeader, State: "running"},
		{Name: "node1", Role: "replica", State: "streaming"},
		{Name: "node2", Role: "replica", State: "streaming"},
		{Name: "node3", Role: "replica", State: "streaming"}, // added: not in the older configurations
	}
	threeServers := func(status1, status2 string) []byte {
		return statsCSV(
			"primary,FRONTEND,,OPEN", "primary,node0,0,UP", "primary,node1,0,DOWN", "primary,node2,0,DOWN", "primary,BACKEND,0,UP",
			"replicas,FRONTEND,,OPEN", "replicas,node0,0,DOWN", "replicas,node1,0,"+status1, "replicas,node2,0,"+status2, "replicas,BACKEND,0,UP")
	}
	for _, tc := range []struct {
		name string
		csv  []byte
		want string
	}{
		{"a configuration from before node3", threeServers("UP", "UP"), HAProxyOK},
		{"a replica it has down", threeServers("UP", "DOWN"), "routes the replica port to [node1], want [node1 node2]"},
		{"a replica going down", threeServers("UP", "UP 1/3"), HAProxyOK},
		{"node3 configured but down", statsCSV("primary,node0,0,UP", "replicas,node1,0,UP", "replicas,node2,0,UP", "replicas,node3,0,DOWN"),
			"routes the replica port to [node1 node2], want [node1 node2 node3]"},
		{"the leader behind the replica port", statsCSV("primary,node0,0,UP", "replicas,node0,0,UP", "replicas,node1,0,UP", "replicas,node2,0,UP"),
			"routes the replica port to [node0 node1 node2], want [node1 node2]"},
		{"no primary", statsCSV("primary,node0,0,DOWN", "replicas,node1,0,UP"), "routes the primary port to [], want [node0]"},
	} {
		rt, err := parseHAProxyCSV(tc.csv)
		if got := haproxyVerdict(rt, err, members); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := parseHAProxyCSV([]byte("<html>login</html>")); err == nil {
		t.Error("a page that is not HAProxy's CSV was read as one")
	}
}
