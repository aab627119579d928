package patronitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/internal/patroni"
)

// Where Debian 12's packages put the binaries.
const (
	EtcdBin    = "/usr/bin/etcd"
	PatroniBin = "/usr/bin/patroni"
	PGBin      = "/usr/lib/postgresql/15/bin"
)

// Scope and Namespace are the cluster's Patroni scope and namespace: its keys in etcd start
// with Namespace+Scope+"/", the leader lock is LeaderKey.
const (
	Scope     = "patronitest"
	Namespace = "/service/"
	LeaderKey = Namespace + Scope + "/leader"
)

// Options shape the cluster Start runs.
type Options struct {
	Members         int           // Patroni members, node0..; 0 means 2
	SynchronousMode bool          // Patroni's synchronous_mode (not strict)
	ReadyTimeout    time.Duration // how long Start waits for a ready cluster; 0 means 3 min
	// PythonPath, when set, is Patroni's PYTHONPATH: a directory holding a patched copy of
	// the patroni package is imported instead of Debian's. The postgres user must be able to
	// read it (Start checks).
	PythonPath string
}

// Cluster is a running cluster. Its fields are for reading.
type Cluster struct {
	Dir       string             // the temporary directory of everything: data, configs, logs
	Endpoints []patroni.Endpoint // the members' REST APIs, node0 first
	EtcdURL   string             // etcd's client URL, http://127.0.0.1:PORT (v3 JSON gateway)
	// Username and Password are the REST API's credentials.
	Username, Password string

	members  int
	logs     []string // the processes' log files, etcd first
	patronis []*proc  // the members' Patroni processes, node0 first
}

// PatroniPID returns the PID of member name's Patroni process (python3 running
// /usr/bin/patroni). It leads a process group of its own, which PostgreSQL is not in.
func (c *Cluster) PatroniPID(name string) (int, error) {
	for _, p := range c.patronis {
		if p.name == name {
			return p.cmd.Process.Pid, nil
		}
	}
	return 0, fmt.Errorf("patronitest: no member %q", name)
}

// PatroniLog returns what member name's Patroni has logged so far (its stdout and stderr).
func (c *Cluster) PatroniLog(name string) ([]byte, error) {
	for _, p := range c.patronis {
		if p.name == name {
			return os.ReadFile(p.log)
		}
	}
	return nil, fmt.Errorf("patronitest: no member %q", name)
}

// SignalPatroni sends sig to member name's Patroni process group: SIGSTOP freezes Patroni
// (its HA loop, REST API and etcd lease keepalives) while its PostgreSQL keeps running,
// SIGCONT thaws it. The cleanup thaws a frozen Patroni before it stops it.
func (c *Cluster) SignalPatroni(name string, sig syscall.Signal) error {
	pid, err := c.PatroniPID(name)
	if err != nil {
		return err
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("patronitest: signal %v to %s's Patroni (group %d): %w", sig, name, pid, err)
	}
	return nil
}

// ConfigPath is member name's Patroni configuration file: a change to it takes effect on
// SIGHUP (SignalPatroni), as on a node with systemctl reload patroni.
func (c *Cluster) ConfigPath(name string) string { return filepath.Join(c.Dir, name, "patroni.yml") }

// Client returns a client of the cluster's REST APIs with its credentials.
func (c *Cluster) Client() *patroni.Client {
	return &patroni.Client{Endpoints: c.Endpoints, Username: c.Username, Password: c.Password}
}

// Logs returns the last lines of every process's log, for a failing test's message.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, p := range c.logs {
		out, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(&b, "--- %s: %v\n", filepath.Base(p), err)
			continue
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", filepath.Base(p), len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// Ready reports whether cl is a healthy cluster of c's size: every member listed, one leader
// running, every other member a running replica on the leader's timeline with lag 0. It does
// not know whether the replicas stream; WaitReady asks the leader that too.
func (c *Cluster) Ready(cl patroni.Cluster) bool {
	l, ok := cl.Leader()
	if !ok || l.State != "running" || len(cl.Members) != c.members {
		return false
	}
	for _, m := range cl.Members {
		if m.Name == l.Name {
			continue
		}
		if m.IsLeader() || (m.State != "running" && m.State != "streaming") || m.Timeline != l.Timeline || m.Lag == nil || *m.Lag != 0 {
			return false
		}
	}
	return true
}

// WaitReady waits until the cluster is Ready and the leader streams WAL to every replica, and
// returns it. The error says what the cluster looked like last.
func (c *Cluster) WaitReady(ctx context.Context) (patroni.Cluster, error) {
	pc := c.Client()
	return pc.WaitFor(ctx, 250*time.Millisecond, func(cl patroni.Cluster) bool {
		if !c.Ready(cl) {
			return false
		}
		l, _ := cl.Leader()
		st, err := pc.Status(ctx, l.Name)
		if err != nil {
			return false
		}
		for _, m := range cl.Members {
			if m.Name != l.Name && !st.Streams(m.Name) {
				return false
			}
		}
		return true
	})
}

// Start runs a cluster and waits until it is ready (WaitReady); the test's cleanup stops it
// and removes its directory. It fails the test when a binary is missing, a process exits
// while the cluster starts, or the cluster is not ready in time, with the processes' logs.
// When a port was taken between its pick and its bind (by another test's server), Start runs
// the cluster again on other ports, up to three times in all.
func Start(t testing.TB, opt Options) *Cluster {
	t.Helper()
	if opt.Members == 0 {
		opt.Members = 2
	}
	if opt.ReadyTimeout == 0 {
		// About 30 s on an idle machine; the margin is for one busy with other packages' tests.
		opt.ReadyTimeout = 3 * time.Minute
	}
	for _, bin := range []string{EtcdBin, PatroniBin, filepath.Join(PGBin, "postgres")} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("patronitest: %v: install etcd-server, patroni and postgresql-15 (make deps)", err)
		}
	}
	cred, err := account()
	if err != nil {
		t.Fatalf("patronitest: %v", err)
	}
	var patroniEnv []string
	if opt.PythonPath != "" {
		if err := readableByAll(opt.PythonPath); err != nil {
			t.Fatalf("patronitest: Options.PythonPath: %v", err)
		}
		patroniEnv = append(patroniEnv, "PYTHONPATH="+opt.PythonPath)
	}
	for attempt := 1; ; attempt++ {
		c, stop, err := start1(t, opt, cred, patroniEnv)
		if err == nil {
			return c
		}
		// A port picked free was taken before the process bound it: other ports, once more.
		if attempt < 3 && errors.Is(err, errPortTaken) {
			t.Logf("patronitest: %v; starting the cluster again on other ports\n%s", err, c.Logs())
			stop()
			continue
		}
		t.Fatalf("patronitest: %v", err) // the cleanup logs the processes' logs
	}
}

// errPortTaken is a start that failed because a port was taken between freePorts and the
// process binding it.
var errPortTaken = errors.New("a port was taken before the cluster bound it")

// start1 is one attempt of Start. stop stops the cluster and removes its directory; the
// test's cleanup does the same (once) when it has not been called.
func start1(t testing.TB, opt Options, cred *syscall.Credential, patroniEnv []string) (_ *Cluster, stop func(), _ error) {
	t.Helper()
	// Not t.TempDir: its parents are the test's own and closed to the postgres user.
	dir, err := os.MkdirTemp("", "patronitest-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Username: "patroni", Password: secret(), members: opt.Members}
	var (
		procs    []*proc  // etcd first
		dataDirs []string // PostgreSQL's
		once     sync.Once
	)
	stop = func() {
		once.Do(func() {
			stopAll(t, procs, dataDirs)
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("patronitest: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("patronitest: logs of the cluster in %s:\n%s", dir, c.Logs())
		}
		stop()
	})
	// Every port at once, so that no two are the same.
	ports := freePorts(t, 2+2*opt.Members)
	etcdClient, etcdPeer := ports[0], ports[1]
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	c.EtcdURL = clientURL
	if err := os.Mkdir(filepath.Join(dir, "etcd"), 0o700); err != nil {
		t.Fatal(err)
	}
	type node struct {
		name, cfg string
	}
	superuser, replication := secret(), secret()
	var nodes []node
	for i := range opt.Members {
		name := "node" + strconv.Itoa(i)
		home := filepath.Join(dir, name)
		for _, d := range []string{home, filepath.Join(home, "run")} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		dataDirs = append(dataDirs, filepath.Join(home, "data"))
		api, pg := ports[2+2*i], ports[3+2*i]
		c.Endpoints = append(c.Endpoints, patroni.Endpoint{Name: name, URL: fmt.Sprintf("http://127.0.0.1:%d", api)})
		cfg := config(name, home, api, pg, clientURL, opt.SynchronousMode, c.Password, superuser, replication)
		// Patroni reads YAML; JSON is YAML too.
		b, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(home, "patroni.yml")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, node{name, path})
	}
	if err := chownTree(dir, cred); err != nil {
		t.Fatal(err)
	}

	etcd, err := start(dir, "etcd", cred, nil, EtcdBin,
		"--name", "etcd0", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "etcd0="+peerURL, "--initial-cluster-state", "new",
		"--initial-cluster-token", "patronitest", "--logger", "zap", "--log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	procs = append(procs, etcd)
	c.logs = append(c.logs, etcd.log)
	ctx, cancel := context.WithTimeout(context.Background(), opt.ReadyTimeout)
	defer cancel()
	if err := waitHTTP(ctx, etcd, clientURL+"/health"); err != nil {
		return c, stop, c.startError(fmt.Errorf("etcd did not start: %w", err))
	}
	for _, n := range nodes {
		p, err := start(dir, n.name, cred, patroniEnv, PatroniBin, n.cfg)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		c.patronis = append(c.patronis, p)
		c.logs = append(c.logs, p.log)
	}
	// No process exits while the cluster starts, and no port is taken: either ends the wait
	// at once rather than at ReadyTimeout.
	wctx, failed := context.WithCancelCause(ctx)
	defer failed(nil)
	go func() {
		for {
			for _, p := range procs {
				select {
				case <-p.done:
					failed(fmt.Errorf("%s exited", p.name))
					return
				default:
				}
			}
			if c.portTaken() {
				failed(errPortTaken)
				return
			}
			select {
			case <-wctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	if _, err := c.WaitReady(wctx); err != nil {
		if ctx.Err() == nil {
			// Cut short by the watch above: its cause, and what the cluster looked like.
			return c, stop, c.startError(fmt.Errorf("the cluster did not start: %w (%v)", context.Cause(wctx), err))
		}
		return c, stop, c.startError(fmt.Errorf("the cluster was not ready within %v: %w", opt.ReadyTimeout, err))
	}
	return c, stop, nil
}

// portTaken reports whether a process logged that its address was in use: etcd and Patroni's
// REST API then exit, PostgreSQL's start fails again and again.
func (c *Cluster) portTaken() bool {
	for _, p := range c.logs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(strings.ToLower(string(b)), "address already in use") {
			return true
		}
	}
	return false
}

// startError is err, marked errPortTaken when a process's log says that was the cause.
func (c *Cluster) startError(err error) error {
	if !errors.Is(err, errPortTaken) && c.portTaken() {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

// config is member name's Patroni configuration.
func config(name, home string, api, pg int, etcd string, sync bool, restPassword, superuser, replication string) map[string]any {
	hba := []string{
		"local all all trust", // the socket directory is the member's own, mode 0700
		"host all all 127.0.0.1/32 scram-sha-256",
		"host replication replicator 127.0.0.1/32 scram-sha-256",
	}
	return map[string]any{
		"scope":     Scope,
		"namespace": Namespace,
		"name":      name,
		"restapi": map[string]any{
			"listen":          fmt.Sprintf("127.0.0.1:%d", api),
			"connect_address": fmt.Sprintf("127.0.0.1:%d", api),
			"authentication":  map[string]string{"username": "patroni", "password": restPassword},
		},
		"etcd3": map[string]any{"hosts": []string{strings.TrimPrefix(etcd, "http://")}},
		"bootstrap": map[string]any{
			"dcs": map[string]any{
				"ttl": 20, "loop_wait": 1, "retry_timeout": 3,
				"maximum_lag_on_failover": 1 << 20,
				"synchronous_mode":        sync,
				"postgresql": map[string]any{
					"use_pg_rewind": true,
					"use_slots":     true,
					"parameters": map[string]string{
						"max_connections":       "30",
						"max_wal_senders":       "5",
						"max_replication_slots": "5",
						"wal_level":             "replica",
						"hot_standby":           "on",
						"wal_keep_size":         "64MB",
					},
				},
			},
			"initdb": []any{"data-checksums", map[string]string{"encoding": "UTF8"}, map[string]string{"auth-host": "scram-sha-256"}, map[string]string{"auth-local": "trust"}},
			"pg_hba": hba,
		},
		"postgresql": map[string]any{
			"listen":          fmt.Sprintf("127.0.0.1:%d", pg),
			"connect_address": fmt.Sprintf("127.0.0.1:%d", pg),
			"data_dir":        filepath.Join(home, "data"),
			"bin_dir":         PGBin,
			"pgpass":          filepath.Join(home, "pgpass"),
			"authentication": map[string]any{
				"superuser":   map[string]string{"username": "postgres", "password": superuser},
				"replication": map[string]string{"username": "replicator", "password": replication},
			},
			"parameters": map[string]string{
				"unix_socket_directories": filepath.Join(home, "run"),
				"shared_buffers":          "16MB",
				"fsync":                   "off", // a test cluster: fast, durable until it ends
				"synchronous_commit":      "off",
			},
			"pg_hba": hba,
			// pg_basebackup waits for a spread checkpoint otherwise: seconds for a new replica.
			"basebackup": []any{map[string]string{"checkpoint": "fast"}},
		},
		"watchdog": map[string]string{"mode": "off"},
	}
}

// account is the credential the processes run as: postgres when the test runs as root
// (PostgreSQL refuses root), else nil (the test's own).
func account() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("the test runs as root and PostgreSQL refuses root, but there is no postgres user (install postgresql-15): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// readableByAll checks that dir and its parents can be searched, and dir read, by any user:
// Patroni runs as postgres and would silently fall back to Debian's modules otherwise.
func readableByAll(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%s: want an absolute path", dir)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() || fi.Mode().Perm()&0o005 != 0o005 {
		return fmt.Errorf("%s: want a directory that every user can read and search (mode %v)", dir, fi.Mode())
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s: its parent %s cannot be searched by every user (mode %v)", dir, d, fi.Mode())
		}
		if d == "/" {
			return nil
		}
	}
}

func chownTree(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}

// secret is a random password.
func secret() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// freePorts returns n different TCP ports of 127.0.0.1 that nothing listened on a moment ago.
// Their listeners are all open until every port is picked: ports picked one after the other,
// each released before the next is asked for, can be the same.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// waitHTTP waits until url answers 200, p exits (it failed to start: its log says why), or
// ctx ends.
func waitHTTP(ctx context.Context, p *proc, url string) error {
	// Each poll is short: whoever took the port may not answer at all, and p's exit is checked
	// between polls.
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before %s answered", p.name, url)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// proc is a started process: the leader of its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once the leader is reaped
}

// start runs bin with args as cred in a process group of its own, its output in dir/name.log,
// with env added to the fixed environment.
func start(dir, name string, cred *syscall.Credential, env []string, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC", "HOME=" + dir}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("patronitest: starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to p's group, and SIGKILL when it has not ended within grace. SIGCONT
// follows SIGTERM, so that a group a test left frozen (SignalPatroni) handles it.
func (p *proc) stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	syscall.Kill(-pgid, syscall.SIGCONT)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // whatever of the group outlived its leader
}

// stopAll stops the Patroni members together (each stops its PostgreSQL), then whatever
// PostgreSQL process is left in dataDirs, then etcd (procs[0]).
func stopAll(t testing.TB, procs []*proc, dataDirs []string) {
	if len(procs) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, p := range procs[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(30 * time.Second)
		}()
	}
	wg.Wait()
	// PostgreSQL runs in a session of its own, outside Patroni's group; its processes work
	// in their data directory.
	deadline := time.Now().Add(10 * time.Second)
	for left := inDirs(dataDirs); len(left) > 0; left = inDirs(dataDirs) {
		if time.Now().After(deadline) {
			t.Errorf("patronitest: PostgreSQL processes %v do not end", left)
			break
		}
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	procs[0].stop(10 * time.Second)
}

// inDirs returns the live processes whose working directory is one of dirs or below it.
func inDirs(dirs []string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd")
		if err != nil || !slices.ContainsFunc(dirs, func(d string) bool { return cwd == d || strings.HasPrefix(cwd, d+"/") }) {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := strings.LastIndexByte(string(b), ')'); i >= 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
				continue // a zombie, gone once its parent reaps it
			}
		}
		out = append(out, pid)
	}
	return out
}
