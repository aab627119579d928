package compiler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// TestEtcdTimings checks the raft timings against what etcd 3.4 accepts (etcd --election-timeout
// and --heartbeat-interval; it refuses an election timeout under 5 heartbeats or over 50000ms),
// each problem at the attribute that causes it.
func TestEtcdTimings(t *testing.T) {
	tests := []struct {
		name, block        string
		heartbeat, elected time.Duration // when there is no error
		want               []string      // diagnostics as "<line>: <severity> <summary>"
	}{
		{name: "defaults", block: "etcd {\n  client_port = 2379\n}", heartbeat: 50 * time.Millisecond, elected: 500 * time.Millisecond},
		{name: "etcd's own", block: "etcd {\n  heartbeat_interval = \"100ms\"\n  election_timeout = \"1s\"\n}",
			heartbeat: 100 * time.Millisecond, elected: time.Second},
		{name: "exactly 5 heartbeats", block: "etcd {\n  heartbeat_interval = \"200ms\"\n  election_timeout = \"1s\"\n}",
			heartbeat: 200 * time.Millisecond, elected: time.Second},
		{name: "etcd's maximum", block: "etcd {\n  election_timeout = \"50s\"\n}", heartbeat: 50 * time.Millisecond, elected: 50 * time.Second},
		{name: "over the maximum", block: "etcd {\n  election_timeout = \"50001ms\"\n}", want: []string{"4: error etcd election timeout too long"}},
		{name: "under 5 heartbeats", block: "etcd {\n  heartbeat_interval = \"100ms\"\n  election_timeout = \"499ms\"\n}",
			want: []string{"5: error etcd election timeout too short"}},
		{name: "heartbeat alone too long for the default election", block: "etcd {\n  heartbeat_interval = \"150ms\"\n}",
			want: []string{"4: error etcd election timeout too short"}},
		{name: "zero", block: "etcd {\n  heartbeat_interval = \"0s\"\n  election_timeout = \"0ms\"\n}",
			want: []string{"4: error Invalid duration", "5: error Invalid duration"}},
		{name: "negative", block: "etcd {\n  election_timeout = \"-500ms\"\n}", want: []string{"4: error Invalid duration"}},
		{name: "not whole milliseconds", block: "etcd {\n  heartbeat_interval = \"50500us\"\n}", want: []string{"4: error Invalid duration"}},
		{name: "no unit", block: "etcd {\n  election_timeout = \"500\"\n}", want: []string{"4: error Invalid duration"}},
		{name: "rounded down to heartbeats", block: "etcd {\n  heartbeat_interval = \"100ms\"\n  election_timeout = \"1050ms\"\n}",
			heartbeat: 100 * time.Millisecond, elected: 1050 * time.Millisecond,
			want: []string{"5: warning etcd election timeout not a multiple of the heartbeat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The block opens on line 3, so its attributes are on lines 4 and 5.
			src := strings.Replace(threeNodes, "cluster \"main\" {\n", "cluster \"main\" {\n"+tt.block+"\n", 1)
			c, diags := compile(t, src)
			var got []string
			for _, d := range diags {
				sev := "error"
				if d.Severity == hcl.DiagWarning {
					sev = "warning"
				}
				got = append(got, fmt.Sprintf("%d: %s %s", d.Subject.Start.Line, sev, d.Summary))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("diagnostics (-want +got):\n%s", diff)
			}
			if diags.HasErrors() {
				return
			}
			if c.Etcd.HeartbeatInterval != tt.heartbeat || c.Etcd.ElectionTimeout != tt.elected {
				t.Errorf("timings %s/%s, want %s/%s", c.Etcd.HeartbeatInterval, c.Etcd.ElectionTimeout, tt.heartbeat, tt.elected)
			}
		})
	}
}
