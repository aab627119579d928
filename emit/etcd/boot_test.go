package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
)

// bootLab runs real etcd members on loopback addresses of their own (127.0.3.N), each started
// as etcd.service starts it: through BootScript, with the emitted environment file.
type bootLab struct {
	t      *testing.T
	script string
	logs   string            // the machines' logs
	dirs   map[string]string // node -> data directory
	procs  map[string]*member
}

type member struct {
	stop chan struct{} // closed to switch the machine off
	done chan struct{} // closed when it is off
	// log is the machine's log file, kept across its starts: the test reads it while the
	// member's processes append to it.
	log string
}

// appendLog appends a line of the lab's own to the log at path.
func appendLog(path, format string, args ...any) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, format, args...)
}

func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// labCluster is a cluster of n etcd members at 127.0.3.1.. on etcd's standard ports: the
// addresses are this test's alone, so the ports are free.
func labCluster(n int) *model.Cluster {
	c := modeltest.Cluster()
	base := c.Nodes[0]
	c.Nodes = nil
	c.Etcd.Members = nil
	for i := range n {
		node := base
		node.Name = fmt.Sprintf("node%d", i)
		node.Address = netip.AddrFrom4([4]byte{127, 0, 3, byte(i + 1)})
		node.EtcdMember = true
		c.Nodes = append(c.Nodes, node)
		c.Etcd.Members = append(c.Etcd.Members, node.Name)
	}
	c.Etcd.ClientPort, c.Etcd.PeerPort = 2379, 2380
	return c
}

func newBootLab(t *testing.T) *bootLab {
	for _, bin := range []string{"/usr/bin/etcd", "/usr/bin/python3"} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s (Debian packages etcd-server, python3): %v", bin, err)
		}
	}
	script := filepath.Join(t.TempDir(), "etcd-boot.py")
	if err := os.WriteFile(script, []byte(BootScript), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &bootLab{t: t, script: script, logs: t.TempDir(), dirs: map[string]string{}, procs: map[string]*member{}}
	t.Cleanup(func() {
		for name := range l.procs {
			l.kill(name)
		}
		if t.Failed() {
			for name, m := range l.procs {
				t.Logf("==== %s\n%s", name, readLog(m.log))
			}
		}
	})
	return l
}

// start starts node's member as etcd.service would on a node built from c: the emitted
// environment, the data directory kept across starts, etcd-boot.py execing etcd, and started
// again a second after it exits (Restart=always, as the unit's drop-in sets it).
func (l *bootLab) start(c *model.Cluster, node string) {
	l.t.Helper()
	i := slices.IndexFunc(c.Nodes, func(n model.Node) bool { return n.Name == node })
	part, err := NodePart(c, c.Nodes[i])
	if err != nil {
		l.t.Fatal(err)
	}
	vars := env(l.t, part.Files[0].Bytes)
	if l.dirs[node] == "" {
		l.dirs[node] = l.t.TempDir()
	}
	vars["ETCD_DATA_DIR"] = l.dirs[node]
	// Every member here shares the host's loopback: only the node's own address.
	vars["ETCD_LISTEN_CLIENT_URLS"] = vars["ETCD_ADVERTISE_CLIENT_URLS"]
	environ := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	m := &member{stop: make(chan struct{}), done: make(chan struct{}), log: filepath.Join(l.logs, node+".log")}
	if l.procs[node] != nil {
		appendLog(m.log, "---- machine started again\n")
	}
	l.procs[node] = m
	go m.supervise(l.script, environ)
}

// supervise runs the member until stop is closed, starting it again whenever it exits.
func (m *member) supervise(script string, environ []string) {
	defer close(m.done)
	for {
		cmd := exec.Command("/usr/bin/python3", "-I", script, "/usr/bin/etcd")
		cmd.Env = environ
		log, err := os.OpenFile(m.log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return
		}
		cmd.Stdout, cmd.Stderr = log, log
		err = cmd.Start()
		log.Close() // the process has its own copy
		if err != nil {
			appendLog(m.log, "---- %v\n", err)
			return
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-m.stop:
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			return
		case <-exited:
		}
		appendLog(m.log, "---- exited (%v): started again in a second\n", cmd.ProcessState)
		select {
		case <-m.stop:
			return
		case <-time.After(time.Second):
		}
	}
}

// replaceMachine switches node's machine off and starts a new one in its place, without
// the old one's data.
func (l *bootLab) replaceMachine(c *model.Cluster, node string) {
	l.kill(node)
	if err := os.RemoveAll(l.dirs[node]); err != nil {
		l.t.Fatal(err)
	}
	l.dirs[node] = ""
	l.start(c, node)
}

// kill ends node's member at once, as a machine that is switched off.
func (l *bootLab) kill(node string) {
	m := l.procs[node]
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// memberList is the cluster's member list as node's member answers it (the v3 JSON gateway).
type memberList struct {
	Members []struct {
		ID       string   `json:"ID"`
		Name     string   `json:"name"`
		PeerURLs []string `json:"peerURLs"`
	} `json:"members"`
}

func post(ctx context.Context, url string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// waitWhole waits until every node of c serves a write through its own member and lists the
// same members, every one started (named) and none else; it returns the list.
func (l *bootLab) waitWhole(c *model.Cluster) memberList {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var last string
	for {
		var ml memberList
		ok := true
		for _, n := range c.Nodes {
			base := fmt.Sprintf("http://%s:%d", n.Address, c.Etcd.ClientPort)
			var put map[string]any
			if err := post(ctx, base+"/v3/kv/put", map[string]string{"key": "a2V5", "value": "dmFsdWU="}, &put); err != nil {
				ok, last = false, fmt.Sprintf("%s: put: %v", n.Name, err)
				break
			}
			var got memberList
			if err := post(ctx, base+"/v3/cluster/member/list", map[string]string{}, &got); err != nil {
				ok, last = false, fmt.Sprintf("%s: member list: %v", n.Name, err)
				break
			}
			var names []string
			for _, m := range got.Members {
				names = append(names, m.Name)
			}
			slices.Sort(names)
			want := slices.Clone(c.Etcd.Members)
			if !slices.Equal(names, want) {
				ok, last = false, fmt.Sprintf("%s lists members %q, want %q", n.Name, names, want)
				break
			}
			ml = got
		}
		if ok {
			return ml
		}
		select {
		case <-ctx.Done():
			l.t.Fatalf("the etcd cluster is not whole: %s", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitPut waits until node's member serves a write: its cluster has quorum.
func (l *bootLab) waitPut(c *model.Cluster, node string) {
	l.t.Helper()
	i := slices.IndexFunc(c.Nodes, func(n model.Node) bool { return n.Name == node })
	url := fmt.Sprintf("http://%s:%d/v3/kv/put", c.Nodes[i].Address, c.Etcd.ClientPort)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var put map[string]any
		err := post(context.Background(), url, map[string]string{"key": "a2V5", "value": "dmFsdWU="}, &put)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s serves no write: %v", node, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (l *bootLab) logHas(node, want string) bool {
	return strings.Contains(readLog(l.procs[node].log), want)
}

// lastBoot is node's log since its machine was last started.
func (l *bootLab) lastBoot(node string) string {
	log := readLog(l.procs[node].log)
	const marker = "---- machine started again"
	if i := strings.LastIndex(log, marker); i >= 0 {
		return log[i+len(marker):]
	}
	return log
}

// waitLog waits until node's log says want.
func waitLog(t *testing.T, l *bootLab, node, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !l.logHas(node, want); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q", node, want)
		}
	}
}

func idOf(ml memberList, name string) string {
	for _, m := range ml.Members {
		if m.Name == name {
			return m.ID
		}
	}
	return ""
}

// TestBootFoundsJoinsReplacesAndAdds runs the boot script with real etcd through a member's life:
// founding, one member coming late to a cluster that already has quorum, a member whose
// machine was replaced (its data gone) taking its own place, a new member added, and a
// restart with data, which must change nothing.
func TestBootFoundsJoinsReplacesAndAdds(t *testing.T) {
	l := newBootLab(t)
	three := labCluster(3)

	// Founding: node0 and node1 boot at once and find no one; node2 boots late, when the
	// two have quorum, and joins as the member they list for it.
	l.start(three, "node0")
	l.start(three, "node1")
	l.waitPut(three, "node0")
	l.start(three, "node2")
	founded := l.waitWhole(three)
	for _, n := range []string{"node0", "node1"} {
		if !l.logHas(n, "no other member answers: founding the cluster") {
			t.Errorf("%s did not found the cluster", n)
		}
	}
	if !l.logHas("node2", "joining the running cluster") {
		t.Errorf("node2, booting late, did not join the cluster the others founded")
	}

	// node1's machine replaced: killed, its data gone, started again empty. It must remove
	// its former self and join under a new member ID.
	l.replaceMachine(three, "node1")
	replaced := l.waitWhole(three)
	if !l.logHas("node1", "removing member "+idOf(founded, "node1")) {
		t.Errorf("node1 did not remove its former member %s", idOf(founded, "node1"))
	}
	if a, b := idOf(founded, "node1"), idOf(replaced, "node1"); a == b {
		t.Errorf("node1's member ID %s did not change: it did not join as a new member", a)
	}

	// Scale out: node3 appears in cluster.hcl; every node's file lists it, the new node joins.
	four := labCluster(4)
	l.start(four, "node3")
	l.waitWhole(four)
	if !l.logHas("node3", "joining the running cluster") {
		t.Errorf("node3 did not join the running cluster")
	}

	// Quorum lost: node2 and node3 switched off, node0's machine replaced meanwhile. node0
	// must not found a cluster of its own while node1 answers without quorum; once node3
	// comes back with its data, node0 takes its own place.
	l.kill("node2")
	l.kill("node3")
	l.replaceMachine(four, "node0")
	waitLog(t, l, "node0", "cannot join the running cluster now")
	l.start(four, "node2")
	l.start(four, "node3")
	l.waitWhole(four)
	if strings.Contains(l.lastBoot("node0"), "founding the cluster") {
		t.Errorf("node0, replaced while the cluster had no quorum, founded a cluster of its own")
	}

	// A member with data restarts as itself: no decision, same ID.
	before := l.waitWhole(four)
	l.kill("node2")
	l.start(four, "node2")
	after := l.waitWhole(four)
	if a, b := idOf(before, "node2"), idOf(after, "node2"); a != b {
		t.Errorf("node2 restarted with its data as member %s, was %s", b, a)
	}
	if last := l.lastBoot("node2"); strings.Contains(last, "etcd-boot:") {
		t.Errorf("node2, with its data, did not just start etcd: %s", last)
	}
}
