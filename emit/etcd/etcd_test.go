package etcd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/artifact"
)

// env parses an environment file the way systemd's EnvironmentFile= does for the simple
// KEY=value lines this package writes.
func env(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not KEY=value: %q", line)
		}
		if _, dup := out[k]; dup {
			t.Fatalf("%s set twice", k)
		}
		out[k] = v
	}
	return out
}

func TestFiles(t *testing.T) {
	fiveNodes := func() *model.Cluster {
		c := modeltest.Cluster()
		c.Nodes = append(c.Nodes,
			model.Node{Name: "node3", Zone: "ru-central1-a", Address: netip.MustParseAddr("10.128.0.17")},
			model.Node{Name: "node4", Zone: "ru-central1-b", Address: netip.MustParseAddr("10.129.0.15")})
		return c
	}
	tests := []struct {
		name    string
		cluster *model.Cluster
		node    int
		want    map[string]string // nil: no file
	}{
		{
			name:    "first member",
			cluster: modeltest.Cluster(),
			node:    0,
			want: map[string]string{
				"ETCD_NAME":                        "node0",
				"ETCD_DATA_DIR":                    "/var/lib/etcd/pghac",
				"ETCD_LISTEN_CLIENT_URLS":          "http://10.128.0.16:2379,http://127.0.0.1:2379",
				"ETCD_ADVERTISE_CLIENT_URLS":       "http://10.128.0.16:2379",
				"ETCD_LISTEN_PEER_URLS":            "http://10.128.0.16:2380",
				"ETCD_INITIAL_ADVERTISE_PEER_URLS": "http://10.128.0.16:2380",
				"ETCD_INITIAL_CLUSTER":             "node0=http://10.128.0.16:2380,node1=http://10.129.0.14:2380,node2=http://10.130.0.28:2380",
				"ETCD_INITIAL_CLUSTER_TOKEN":       "pghac-main",
				"ETCD_INITIAL_CLUSTER_STATE":       "new",
				"PGHAC_ETCD_PEERS":                 "http://10.129.0.14:2379,http://10.130.0.28:2379",
				"ETCD_HEARTBEAT_INTERVAL":          "50",
				"ETCD_ELECTION_TIMEOUT":            "500",
				"ETCD_ENABLE_V2":                   "false",
				"ETCD_AUTO_COMPACTION_MODE":        "periodic",
				"ETCD_AUTO_COMPACTION_RETENTION":   "1h",
			},
		},
		{
			name: "other ports and token",
			cluster: func() *model.Cluster {
				c := modeltest.Cluster()
				c.Etcd.ClientPort, c.Etcd.PeerPort, c.Etcd.Token = 12379, 12380, "pghac-other"
				c.Etcd.HeartbeatInterval, c.Etcd.ElectionTimeout = 100*time.Millisecond, 1500*time.Millisecond
				return c
			}(),
			node: 2,
			want: map[string]string{
				"ETCD_NAME":                        "node2",
				"ETCD_DATA_DIR":                    "/var/lib/etcd/pghac",
				"ETCD_LISTEN_CLIENT_URLS":          "http://10.130.0.28:12379,http://127.0.0.1:12379",
				"ETCD_ADVERTISE_CLIENT_URLS":       "http://10.130.0.28:12379",
				"ETCD_LISTEN_PEER_URLS":            "http://10.130.0.28:12380",
				"ETCD_INITIAL_ADVERTISE_PEER_URLS": "http://10.130.0.28:12380",
				"ETCD_INITIAL_CLUSTER":             "node0=http://10.128.0.16:12380,node1=http://10.129.0.14:12380,node2=http://10.130.0.28:12380",
				"ETCD_INITIAL_CLUSTER_TOKEN":       "pghac-other",
				"ETCD_INITIAL_CLUSTER_STATE":       "new",
				"PGHAC_ETCD_PEERS":                 "http://10.128.0.16:12379,http://10.129.0.14:12379",
				"ETCD_HEARTBEAT_INTERVAL":          "100",
				"ETCD_ELECTION_TIMEOUT":            "1500",
				"ETCD_ENABLE_V2":                   "false",
				"ETCD_AUTO_COMPACTION_MODE":        "periodic",
				"ETCD_AUTO_COMPACTION_RETENTION":   "1h",
			},
		},
		{
			name:    "non-member of a five-node cluster",
			cluster: fiveNodes(),
			node:    4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			part, err := NodePart(tt.cluster, tt.cluster.Nodes[tt.node])
			if err != nil {
				t.Fatal(err)
			}
			files := part.Files
			if tt.want == nil {
				if len(files) != 0 {
					t.Fatalf("got %d files for a node without etcd, want none", len(files))
				}
				// Stopped and masked: nothing starts the package's etcd again.
				if want := []string{"systemctl disable --now etcd", "systemctl mask etcd"}; !slices.Equal(part.Boot, want) {
					t.Errorf("boot lines of a non-member %q, want %q", part.Boot, want)
				}
				return
			}
			// Not waited for: a new member is ready only at quorum.
			if want := []string{"systemctl enable etcd", "systemctl restart --no-block etcd"}; !slices.Equal(part.Boot, want) {
				t.Errorf("boot lines of a member %q, want %q", part.Boot, want)
			}
			if len(part.BootFiles) != 1 || part.BootFiles[0].Path != BootPath || part.BootFiles[0].Mode != 0o755 {
				t.Errorf("boot files %d (first %q), want %s only, 0755", len(part.BootFiles), firstPath(part.BootFiles), BootPath)
			}
			if len(files) != 1 {
				t.Fatalf("got %d files, want 1", len(files))
			}
			f := files[0]
			if f.Path != "/etc/default/etcd" || f.Owner != "root:root" || f.Mode != 0o644 {
				t.Errorf("got %s %s %o, want /etc/default/etcd root:root 644", f.Path, f.Owner, f.Mode)
			}
			if !bytes.HasPrefix(f.Bytes, []byte("# Code generated by pghac. DO NOT EDIT.\n")) {
				t.Errorf("no generated-code header")
			}
			got := env(t, f.Bytes)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected %s=%s", k, got[k])
				}
			}
		})
	}
}

// TestBadTimings: the compiler refuses timings etcd can't take; a model that has them anyway is a
// pghac bug, reported as an error naming the file rather than written out.
func TestBadTimings(t *testing.T) {
	for _, tt := range []struct {
		name                string
		heartbeat, election time.Duration
	}{
		{"zero heartbeat", 0, 500 * time.Millisecond},
		{"sub-millisecond election", 50 * time.Millisecond, 500*time.Millisecond + time.Microsecond},
		{"negative election", 50 * time.Millisecond, -time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := modeltest.Cluster()
			c.Etcd.HeartbeatInterval, c.Etcd.ElectionTimeout = tt.heartbeat, tt.election
			_, err := NodePart(c, c.Nodes[0])
			if err == nil || !strings.Contains(err.Error(), "/etc/default/etcd") {
				t.Errorf("got error %v, want one naming /etc/default/etcd", err)
			}
		})
	}
}

// TestFilesFiveNodesThreeMembers checks that only members make up the initial cluster.
func TestFilesFiveNodesThreeMembers(t *testing.T) {
	c := modeltest.Cluster()
	c.Nodes = append(c.Nodes,
		model.Node{Name: "node3", Address: netip.MustParseAddr("10.128.0.17")},
		model.Node{Name: "node4", Address: netip.MustParseAddr("10.129.0.15")})
	for _, n := range c.Nodes[:3] {
		part, err := NodePart(c, n)
		if err != nil {
			t.Fatal(err)
		}
		files := part.Files
		got := env(t, files[0].Bytes)["ETCD_INITIAL_CLUSTER"]
		want := "node0=http://10.128.0.16:2380,node1=http://10.129.0.14:2380,node2=http://10.130.0.28:2380"
		if got != want {
			t.Errorf("%s: ETCD_INITIAL_CLUSTER=%s, want %s", n.Name, got, want)
		}
	}
}

// TestEtcdStarts runs the real etcd with the emitted environment for a one-member cluster on a
// loopback address: etcd must become healthy and recognise every variable.
func TestEtcdStarts(t *testing.T) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcd (Debian package etcd-server): %v", err)
	}
	var s string
	for attempt := 1; ; attempt++ {
		c := modeltest.Cluster()
		c.Nodes = c.Nodes[:1]
		c.Nodes[0].Address = netip.MustParseAddr("127.0.0.2") // distinct from the loopback URL
		c.Etcd.Members = []string{"node0"}
		// etcd listens for clients on both addresses, for peers on 127.0.0.2.
		ports := freePorts(t, 2, "127.0.0.2", "127.0.0.1")
		c.Etcd.ClientPort, c.Etcd.PeerPort = ports[0], ports[1]
		out, err := runEtcd(t, bin, c)
		s = out
		if err == nil {
			break
		}
		// A port can still be taken between freePorts and etcd binding it: etcd then exits.
		if attempt < 3 && strings.Contains(strings.ToLower(out), "address already in use") {
			t.Logf("attempt %d: %v: a port was taken before etcd bound it; again on other ports", attempt, err)
			continue
		}
		t.Fatalf("%v; its output:\n%s", err, out)
	}
	if strings.Contains(s, "unrecognized environment variable") || strings.Contains(s, "shadowed") {
		t.Errorf("etcd did not take every variable:\n%s", s)
	}
	// etcd logs the raft timings it runs with; the model's are not etcd's defaults.
	for _, want := range []string{"heartbeat = 50ms", "election = 500ms"} {
		if !strings.Contains(s, want) {
			t.Errorf("etcd did not log %q: it did not take the emitted timings:\n%s", want, s)
		}
	}
}

// runEtcd runs etcd with c's first node's emitted environment until it is healthy on both
// client URLs, stops it, and returns its output; the error says why it did not become healthy.
func runEtcd(t *testing.T, bin string, c *model.Cluster) (string, error) {
	t.Helper()
	part, err := NodePart(c, c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	vars := env(t, part.Files[0].Bytes)
	vars["ETCD_DATA_DIR"] = t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer // written by exec's goroutine: read only once Wait has returned
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	err = waitHealthy(ctx, exited, fmt.Sprintf("http://127.0.0.2:%d/health", c.Etcd.ClientPort))
	if err == nil {
		err = waitHealthy(ctx, exited, fmt.Sprintf("http://127.0.0.1:%d/health", c.Etcd.ClientPort))
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	if err != nil {
		return out.String(), fmt.Errorf("etcd did not become healthy on both client URLs: %w", err)
	}
	return out.String(), nil
}

// waitHealthy polls etcd's /health at url until it reports healthy, etcd exits, or ctx ends.
func waitHealthy(ctx context.Context, exited <-chan struct{}, url string) error {
	// Each poll is short: ctx and etcd's exit are checked between polls.
	hc := &http.Client{Timeout: 2 * time.Second}
	last := "no answer yet"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err != nil {
			last = err.Error()
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), `"health":"true"`) {
				return nil
			}
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, bytes.TrimSpace(body))
		}
		select {
		case <-exited:
			return fmt.Errorf("etcd exited (%s: %s)", url, last)
		case <-ctx.Done():
			return fmt.Errorf("%w (%s: %s)", ctx.Err(), url, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePorts returns n different TCP ports that nothing listened on a moment ago on any of
// hosts. Every listener stays open until all n are picked: ports picked one after the other,
// each released before the next is asked for, can be the same. Another process may still take
// one before the server binds it: callers retry on "address already in use".
func freePorts(t *testing.T, n int, hosts ...string) []int {
	t.Helper()
	var ports []int
	for tries := 1; len(ports) < n; tries++ {
		if tries > 100 {
			t.Fatalf("no port free on all of %v in 100 tries", hosts)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held even when taken elsewhere: not offered again
		port := l.Addr().(*net.TCPAddr).Port
		free := true
		for _, h := range hosts[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if errors.Is(err, syscall.EADDRINUSE) {
				free = false
				break
			} else if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
		}
		if free {
			ports = append(ports, port)
		}
	}
	return ports
}

func firstPath(files []artifact.NodeFile) string {
	if len(files) == 0 {
		return ""
	}
	return files[0].Path
}
