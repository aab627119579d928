package rollout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/patroni/patronitest"
	"github.com/pghac/pghac/internal/remote"
)

// etcdctlList is real `etcdctl member list -w json` output (etcd 3.4.23): a member added that
// has not started has no name, and the IDs need all 64 bits.
const etcdctlList = `{"header":{"cluster_id":15118495548433857066,"member_id":13668033151171901709,"raft_term":2},` +
	`"members":[{"ID":9617469944281200192,"peerURLs":["http://127.0.0.1:23802"]},` +
	`{"ID":13668033151171901709,"name":"n0","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]}]}`

func TestParseEtcdMembers(t *testing.T) {
	got, err := parseEtcdMembers([]byte(etcdctlList))
	want := []etcdMember{{ID: 0x85781df572e07640, PeerURLs: []string{"http://127.0.0.1:23802"}},
		{ID: 0xbdae9bbc11dd390d, Name: "n0", PeerURLs: []string{"http://127.0.0.1:23801"}}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("parseEtcdMembers: %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "Error: context deadline exceeded", `{"members":[]}`} {
		if ms, err := parseEtcdMembers([]byte(bad)); err == nil {
			t.Errorf("parseEtcdMembers(%q): %v and no error", bad, ms)
		}
	}
}

// scriptConn answers Run with what a table of commands says and records the commands;
// ReadFiles reads from files.
type scriptConn struct {
	Conn
	out   map[string]string
	files map[string]string
	cmds  *[]string
}

func (c scriptConn) ReadFiles(_ context.Context, paths []string) (map[string]remote.RemoteFile, error) {
	out := map[string]remote.RemoteFile{}
	for _, p := range paths {
		if f, ok := c.files[p]; ok {
			out[p] = remote.RemoteFile{Exists: true, Content: []byte(f)}
		}
	}
	return out, nil
}

func (c scriptConn) Run(_ context.Context, cmd string, _ []byte) ([]byte, error) {
	*c.cmds = append(*c.cmds, cmd)
	out, ok := c.out[cmd]
	if !ok {
		return nil, fmt.Errorf("no such command: %s", cmd)
	}
	return []byte(out), nil
}
func (scriptConn) Close() error { return nil }

// fiveMembers is etcd's list of a five-node cluster, node0..node4.
func fiveMembers() string {
	var ms []string
	for i := range 5 {
		ms = append(ms, fmt.Sprintf(`{"ID":%d,"name":"node%d"}`, 0x1000+i, i))
	}
	return `{"members":[` + strings.Join(ms, ",") + `]}`
}

// TestEtcdRemoval: the member named goes by its hex ID, a member gone already is no error,
// and etcd is never left fewer than three members.
func TestEtcdRemoval(t *testing.T) {
	var cmds []string
	c := scriptConn{out: map[string]string{etcdMemberList: fiveMembers(), "etcdctl member remove 1003": "Member 1003 removed"}, cmds: &cmds}
	dial := func(_ context.Context, n string) (Conn, error) {
		if n == "node0" {
			return nil, errors.New("connection refused")
		}
		return c, nil
	}
	if removed, err := removeEtcdMember(context.Background(), c, "node3"); !removed || err != nil {
		t.Errorf("removing node3's member: %v, %v; want it removed", removed, err)
	}
	if removed, err := removeEtcdMember(context.Background(), c, "node7"); removed || err != nil {
		t.Errorf("removing a member that is not there: %v, %v; want nothing done, no error", removed, err)
	}
	if want := []string{etcdMemberList, "etcdctl member remove 1003", etcdMemberList}; !slices.Equal(cmds, want) {
		t.Errorf("commands run: %q; want %q", cmds, want)
	}

	// node4's member was added, but its etcd never ran: it has no name, only its peer URL,
	// which the node's etcd environment lists.
	cmds = nil
	unstarted := scriptConn{out: map[string]string{
		etcdMemberList: `{"members":[{"ID":4096,"name":"node0","peerURLs":["http://10.0.0.10:2380"]},` +
			`{"ID":4097,"peerURLs":["http://10.0.0.14:2380"]},{"ID":4098,"name":"node2","peerURLs":["http://10.0.0.12:2380"]}]}`,
		"etcdctl member remove 1001": "Member 1001 removed"},
		files: map[string]string{etcdEnv: "ETCD_NAME=node0\nETCD_INITIAL_CLUSTER=node0=http://10.0.0.10:2380,node2=http://10.0.0.12:2380,node3=http://10.0.0.13:2380,node4=http://10.0.0.14:2380\n"},
		cmds:  &cmds}
	if removed, err := removeEtcdMember(context.Background(), unstarted, "node3"); removed || err != nil {
		t.Errorf("removing node3, whose peer URL no member has: %v, %v; want nothing done", removed, err)
	}
	if removed, err := removeEtcdMember(context.Background(), unstarted, "node4"); !removed || err != nil {
		t.Errorf("removing node4's unstarted member: %v, %v; want it removed by its peer URL", removed, err)
	}
	if want := []string{etcdMemberList, etcdMemberList, "etcdctl member remove 1001"}; !slices.Equal(cmds, want) {
		t.Errorf("commands run: %q; want %q", cmds, want)
	}
	// Four members, node3's unstarted: taking node2 and node3 out leaves two, not three.
	udial := func(context.Context, string) (Conn, error) { return unstarted, nil }
	unstarted.out[etcdMemberList] = strings.TrimSuffix(unstarted.out[etcdMemberList], `]}`) + `,{"ID":4099,"peerURLs":["http://10.0.0.13:2380"]}]}`
	if err := checkEtcdLeft(context.Background(), udial, []string{"node0", "node1"}, []string{"node2", "node3"}); err == nil || !strings.HasPrefix(err.Error(), "removing node2, node3 would leave etcd 2 members") {
		t.Errorf("4 -> 2 with an unstarted member: %v; want a refusal", err)
	}

	keep := []string{"node0", "node1", "node2"}
	if err := checkEtcdLeft(context.Background(), dial, keep, []string{"node3", "node4"}); err != nil {
		t.Errorf("5 -> 3 (node0 unreachable, node1 asked): %v", err)
	}
	err := checkEtcdLeft(context.Background(), dial, keep[:2], []string{"node2", "node3", "node4"})
	if want := "removing node2, node3, node4 would leave etcd 2 members (node0, node1)"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("5 -> 2: %v; want an error starting %q", err, want)
	}
	none := func(context.Context, string) (Conn, error) { return nil, errors.New("no route to host") }
	if err := checkEtcdLeft(context.Background(), none, keep, []string{"node3"}); err == nil || !strings.Contains(err.Error(), "node2: no route to host") {
		t.Errorf("no node answering: %v; want every node's error", err)
	}
}

func TestRemovalOrder(t *testing.T) {
	cl := patroni.Cluster{Members: []patroni.Member{
		{Name: "node0", Role: "replica", State: "streaming"},
		{Name: "node3", Role: patroni.RoleLeader, State: "running"},
		{Name: "node4", Role: "replica", State: "streaming"},
	}}
	if got := removalOrder(cl, []string{"node3", "node4"}); !slices.Equal(got, []string{"node4", "node3"}) {
		t.Errorf("removalOrder: %v; want the leader node3 last", got)
	}
	if got := removalOrder(cl, []string{"node4", "node0"}); !slices.Equal(got, []string{"node4", "node0"}) {
		t.Errorf("removalOrder without the leader: %v; want the order given", got)
	}
}

func TestSuccessor(t *testing.T) {
	m := func(name, role, state string) patroni.Member {
		return patroni.Member{Name: name, Role: role, State: state}
	}
	for _, tc := range []struct {
		name    string
		members []patroni.Member
		want    string
	}{
		{"the first streaming replica that stays",
			[]patroni.Member{m("node0", "replica", "starting"), m("node1", "replica", "streaming"), m("node2", "replica", "streaming"), m("node3", patroni.RoleLeader, "running")}, "node1"},
		{"the synchronous standby first",
			[]patroni.Member{m("node0", "replica", "streaming"), m("node1", patroni.RoleSyncStandby, "streaming"), m("node3", patroni.RoleLeader, "running")}, "node1"},
		{"never one that leaves",
			[]patroni.Member{m("node0", "replica", "stopped"), m("node3", patroni.RoleLeader, "running"), m("node4", patroni.RoleSyncStandby, "streaming")}, ""},
	} {
		if got := successor(patroni.Cluster{Members: tc.members}, []string{"node0", "node1", "node2"}); got != tc.want {
			t.Errorf("%s: %q; want %q", tc.name, got, tc.want)
		}
	}
}

// TestRemoveUnreachable: with no member answering, Remove removes nothing.
func TestRemoveUnreachable(t *testing.T) {
	called := false
	machine := func(context.Context, string) error { called = true; return nil }
	dial := func(context.Context, string) (Conn, error) { called = true; return nil, errors.New("unused") }
	done, err := Remove(context.Background(), &patroni.Client{}, dial, []string{"node0"}, []string{"node1"}, machine,
		func(context.Context) error { return nil }, time.Second, func(string) {})
	if _, ok := errors.AsType[*UnreachableError](err); !ok || called || done != nil {
		t.Errorf("Remove with no member answering: %v, %v, something called: %v; want an *UnreachableError and nothing done", done, err, called)
	}
}

// localConn runs commands on this host, where etcdctl talks to the test cluster's etcd.
type localConn struct {
	Conn
	env []string
}

func (c localConn) Run(ctx context.Context, cmd string, _ []byte) ([]byte, error) {
	x := exec.CommandContext(ctx, "sh", "-c", cmd)
	x.Env = append(os.Environ(), c.env...)
	out, err := x.Output()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return out, fmt.Errorf("%s: %w: %s", cmd, err, ee.Stderr)
	}
	return out, err
}
func (localConn) Close() error { return nil }

// memberConn is a patronitest member as the rollout sees a node: its Patroni configuration at
// the node's path, reloadRunningPatroni a SIGHUP to its Patroni; other commands run on this
// host (localConn).
type memberConn struct {
	localConn
	pcl  *patronitest.Cluster
	name string
}

func (c memberConn) ReadFiles(_ context.Context, paths []string) (map[string]remote.RemoteFile, error) {
	out := map[string]remote.RemoteFile{}
	for _, p := range paths {
		if p != patroniConfig {
			return nil, fmt.Errorf("memberConn reads %s only, not %s", patroniConfig, p)
		}
		b, err := os.ReadFile(c.pcl.ConfigPath(c.name))
		if err != nil {
			return nil, err
		}
		out[p] = remote.RemoteFile{Exists: true, Mode: 0o600, Owner: "postgres:postgres", Content: b}
	}
	return out, nil
}

func (c memberConn) WriteFile(_ context.Context, path string, data []byte, _ os.FileMode, _ string) error {
	if path != patroniConfig {
		return fmt.Errorf("memberConn writes %s only, not %s", patroniConfig, path)
	}
	// The file exists, owned by the account Patroni runs as: writing keeps its owner.
	return os.WriteFile(c.pcl.ConfigPath(c.name), data, 0o600)
}

func (c memberConn) Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error) {
	if cmd == reloadRunningPatroni {
		return nil, c.pcl.SignalPatroni(c.name, syscall.SIGHUP)
	}
	return c.localConn.Run(ctx, cmd, stdin)
}

// TestRemove takes two of four members of a real Patroni cluster (patronitest, synchronous
// mode) out: the leader and its synchronous standby, the case where the leader has no one
// to hand over to until Patroni makes a node that stays the synchronous standby. The leaving
// replica is tagged first, the leader hands over to a node that stays, the replica goes
// first, then the old leader, and each is gone from Patroni's list, the rest healthy, before
// the next. Then a switchover right after the synchronous standby's restart.
func TestRemove(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, four Patroni members and their PostgreSQL, and waits out two member keys' TTL (about 90 s)")
	}
	pcl := patronitest.Start(t, patronitest.Options{Members: 4, SynchronousMode: true})
	pc := pcl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cl, err := pc.WaitFor(ctx, pollEvery, func(cl patroni.Cluster) bool { return syncStandby(cl) != "" })
	if err != nil {
		t.Fatalf("no synchronous standby: %v\n%s", err, pcl.Logs())
	}
	leader, sync := leaderName(cl), syncStandby(cl)
	var keep []string
	for _, m := range cl.Members {
		if m.Name != leader && m.Name != sync {
			keep = append(keep, m.Name)
		}
	}
	_, err = Switchover(ctx, pc, keep[0], time.Minute, nil)
	if want := keep[0] + " is not the synchronous standby, and in synchronous mode Patroni hands the leadership only to it: switch over to " + sync; err == nil || err.Error() != want {
		t.Errorf("switchover to a replica that is not the synchronous standby: %v; want %q", err, want)
	}

	env := []string{"ETCDCTL_API=3", "ETCDCTL_ENDPOINTS=" + pcl.EtcdURL}
	dial := func(_ context.Context, n string) (Conn, error) {
		return memberConn{localConn: localConn{env: env}, pcl: pcl, name: n}, nil
	}
	var stopped []string
	machine := func(_ context.Context, n string) error {
		stopped = append(stopped, n)
		return pcl.SignalPatroni(n, syscall.SIGTERM) // Patroni stops its PostgreSQL and exits
	}
	healthy := func(ctx context.Context) error {
		_, err := pc.WaitFor(ctx, pollEvery, func(cl patroni.Cluster) bool {
			l, _ := cl.Leader()
			st, err := pc.Status(ctx, l.Name)
			return err == nil && len(health.Judge(health.FromPatroni(cl, st), health.Rules{Nodes: keep, MaxLag: 1 << 20, Synchronous: true})) == 0
		})
		return err
	}
	var steps []string
	// The leader first in the list: Remove puts it last.
	done, err := Remove(ctx, pc, dial, keep, []string{leader, sync}, machine, healthy, time.Minute, func(s string) { steps = append(steps, s) })
	t.Logf("steps:\n%s", strings.Join(steps, "\n"))
	if err != nil {
		t.Fatalf("Remove: %v\n%s", err, pcl.Logs())
	}
	if !slices.Equal(stopped, []string{sync, leader}) {
		t.Errorf("machines stopped: %v; want %s (the synchronous standby) first, then %s (the leader)", stopped, sync, leader)
	}
	if len(done) != 2 || done[1].From != leader || !slices.Contains(keep, done[1].To) || done[0].From != "" {
		t.Errorf("removed: %+v; want %s, then %s handing over to one of %v", done, sync, leader, keep)
	}
	cl, err = pc.Cluster(ctx)
	if err != nil || len(cl.Members) != 2 || !slices.Contains(keep, leaderName(cl)) {
		t.Fatalf("after the removal: %s, %v; want %v, one of them leading", cl, err, keep)
	}

	// A switchover right after the synchronous standby restarted (a rolling restart's, in CI):
	// the replica streams again before the leader names it synchronous standby once more, and
	// until then Patroni answers 412 "can not find sync_standby"; Switchover waits for it.
	leader = leaderName(cl)
	replica := others(cl, leader)[0]
	if _, err := pc.Restart(ctx, replica); err != nil {
		t.Fatal(err)
	}
	if err := waitWhole(ctx, pc, time.Minute); err != nil {
		t.Fatal(err)
	}
	if cl, err := pc.Cluster(ctx); err == nil {
		t.Logf("after %s's restart: %s", replica, cl)
	}
	sw, err := Switchover(ctx, pc, "", time.Minute, nil)
	if err != nil || sw.From != leader || sw.To != replica {
		t.Errorf("switchover after the synchronous standby's restart: %+v, %v; want from %s to %s", sw, err, leader, replica)
	}
}

func TestWithTags(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		changed        bool
	}{
		{"tags set false", "scope: a\ntags:\n  nofailover: false\n  nosync: false\n  clonefrom: false\n",
			"scope: a\ntags:\n    nofailover: true\n    nosync: true\n    clonefrom: false\n", true},
		{"no tags", "scope: a\n", "scope: a\ntags:\n    nofailover: true\n    nosync: true\n", true},
		{"one set already", "scope: a\ntags: {nosync: true}\n", "scope: a\ntags: {nosync: true, nofailover: true}\n", true},
		{"both set already", "scope: a\ntags:\n  nosync: true\n  nofailover: true\n", "scope: a\ntags:\n  nosync: true\n  nofailover: true\n", false},
	} {
		got, changed, err := withTags([]byte(tc.in), retireTags)
		if err != nil || string(got) != tc.want || changed != tc.changed {
			t.Errorf("%s: %q, changed %v, %v; want %q, changed %v", tc.name, got, changed, err, tc.want, tc.changed)
		}
	}
	for _, bad := range []string{"- a\n- b\n", "a: [\n"} {
		if got, _, err := withTags([]byte(bad), retireTags); err == nil {
			t.Errorf("withTags(%q): %q and no error", bad, got)
		}
	}
}
