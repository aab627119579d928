package provision

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/rollout"
)

func diagnoseOutput(status, output, unit, journal string) string {
	return strings.Join([]string{markStatus, status, markOutput, output, markPatroni, unit, markJournal, journal}, "\n")
}

func TestDiagnosis(t *testing.T) {
	const denied = "pghac-secrets: cannot read Lockbox secret e6q1: HTTP 403 PERMISSION_DENIED: Permission denied"
	const wait = "pghac-secrets: waiting for Lockbox secret e6q1 to have a version (pghac apply / pghac up writes it): HTTP 404"
	const refused = "patroni-etcd3-fix: /usr/lib/python3/dist-packages/patroni/dcs/etcd3.py has sha256 ab12, not that of Debian's Patroni 3.0.2 (cd34): left untouched, and Patroni will not start"
	for _, tc := range []struct {
		name, out, want string
	}{
		{"secrets refused", diagnoseOutput(`{"status": "error", "errors": ["x"]}`,
			"+ /usr/bin/python3 -I /usr/local/lib/pghac/secrets.py /etc/patroni/config.yml\n"+denied+"\nCloud-init v. 22.4.2 finished", "inactive", ""),
			"its boot failed: " + denied},
		{"other boot failure", diagnoseOutput(`{"status": "error"}`, "+ systemctl restart haproxy\nJob for haproxy.service failed.", "active", ""),
			"its boot failed: Job for haproxy.service failed."},
		{"waiting", diagnoseOutput(`{"status": "running"}`, "+ /usr/bin/python3 -I /usr/local/lib/pghac/secrets.py /a\n"+wait, "inactive", ""),
			"its boot waits for its secrets: " + wait},
		{"booting", diagnoseOutput(`{"status": "running"}`, "+ apt-get install", "inactive", ""), ""},
		{"patroni refused", diagnoseOutput(`{"status": "done"}`, "", "activating",
			refused+"\npatroni.service: Control process exited, code=exited, status=1/FAILURE\nFailed to start patroni.service"),
			"Patroni does not run (activating): " + refused},
		{"healthy services", diagnoseOutput(`{"status": "done"}`, "", "active", "anything"), ""},
		{"nothing readable", "", ""},
	} {
		if got := diagnosis(tc.out); got != tc.want {
			t.Errorf("%s: diagnosis = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// fakeConn answers diagnoseScript with out.
type fakeConn struct {
	rollout.Conn
	out string
}

func (c fakeConn) Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error) {
	if cmd != diagnoseScript {
		return nil, errors.New("unexpected command")
	}
	return []byte(c.out), nil
}

func (c fakeConn) Close() error { return nil }

func (c fakeConn) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return nil, os.ErrNotExist
}

// TestDiagnose asks only the nodes with problems, and adds their reasons.
func TestDiagnose(t *testing.T) {
	asked := map[string]bool{}
	dial := func(ctx context.Context, node string) (rollout.Conn, error) {
		asked[node] = true
		if node == "node2" {
			return nil, errors.New("no route")
		}
		return fakeConn{out: diagnoseOutput(`{"status": "error"}`, "pghac-secrets: cannot read Lockbox secret s: HTTP 403", "inactive", "")}, nil
	}
	rep := health.Report{
		Members:  []health.Member{{Name: "node0"}, {Name: "node1"}, {Name: "node2"}},
		Problems: []string{"node1: Patroni does not answer", "node2: Patroni does not answer"},
	}
	Diagnose(context.Background(), dial, &rep)
	if asked["node0"] || !asked["node1"] || !asked["node2"] {
		t.Errorf("asked %v; want node1 and node2 only", asked)
	}
	want := []string{"node1: Patroni does not answer", "node2: Patroni does not answer",
		"node1: its boot failed: pghac-secrets: cannot read Lockbox secret s: HTTP 403"}
	if strings.Join(rep.Problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(rep.Problems, "\n"), strings.Join(want, "\n"))
	}
}
