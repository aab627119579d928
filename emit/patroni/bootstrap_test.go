package patroni

import (
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
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/etcd"
	"github.com/pghac/pghac/golden/realcheck"
)

// TestBootstrap bootstraps a one-member cluster on loopback addresses with the real etcd,
// Patroni and PostgreSQL, from the emitted files with only the host paths moved into a
// temporary directory. It proves what the validator cannot: initdb takes the options, Patroni
// writes our pg_hba.conf, a wrong password is refused, and the REST API guards its unsafe
// endpoints while the health checks stay open.
func TestBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, Patroni and PostgreSQL (about 10 s)")
	}
	var b *bootstrapped
	for attempt := 1; ; attempt++ {
		var err error
		if b, err = startOneMember(t); err == nil {
			break
		}
		if attempt == 3 || !errors.Is(err, errPortInUse) {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v\nagain on other ports", attempt, err)
	}
	c, api, postBootstrap := b.c, b.api, b.postBootstrap

	// HAProxy's check stays open; a restart needs the REST API password.
	if got := status(t, "OPTIONS", api+"/primary"); got != http.StatusOK {
		t.Errorf("OPTIONS /primary = %d, want 200", got)
	}
	if got := status(t, "POST", api+"/restart"); got != http.StatusUnauthorized {
		t.Errorf("POST /restart without credentials = %d, want 401", got)
	}

	psqlAs := func(user, db, password, query string) (string, error) {
		conn := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s password=%s connect_timeout=5",
			c.Postgres.Port, user, db, password)
		out, err := exec.Command(filepath.Join(c.OS.BinDir, "psql"), conn, "-XAtc", query).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	psql := func(password, query string) (string, error) { return psqlAs("postgres", "postgres", password, query) }
	if out, err := psql("wrong-password", "select 1"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("wrong password: %v %s; want password authentication failed", err, out)
	}
	superuser := realcheck.TestSecret(model.SecretSuperuserPassword)
	if out, err := psql(superuser, "show data_checksums"); err != nil || out != "on" {
		t.Errorf("data_checksums = %q (%v), want on", out, err)
	}
	// Only TLS: a client that asks for none finds no pg_hba.conf line, with the right password.
	if out, err := psqlAs("postgres", "postgres", superuser+" sslmode=disable", "select 1"); err == nil || !strings.Contains(out, "no encryption") {
		t.Errorf("sslmode=disable: %v %s; want no pg_hba.conf entry ... no encryption", err, out)
	}
	// PostgreSQL serves the node's certificate: a client that verifies it against the
	// cluster's authority gets TLS; one that trusts another authority refuses the server.
	verify := func(rootcert string) (string, error) {
		conn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres password=%s connect_timeout=5 sslmode=verify-full sslrootcert=%s",
			c.Postgres.Port, superuser, rootcert)
		out, err := exec.Command(filepath.Join(c.OS.BinDir, "psql"), conn, "-XAtc", "select ssl from pg_stat_ssl where pid = pg_backend_pid()").CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := verify(b.tls.CA); err != nil || out != "t" {
		t.Errorf("sslmode=verify-full against the cluster's authority: %q %v; want a TLS session", out, err)
	}
	other, err := realcheck.WriteTLS(t.TempDir(), c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verify(other.CA); err == nil || !strings.Contains(out, "certificate verify failed") {
		t.Errorf("sslmode=verify-full against another authority: %q %v; want certificate verify failed", out, err)
	}
	out, err := psql(superuser, "select type, database[1], user_name[1], coalesce(address, ''), auth_method from pg_hba_file_rules order by line_number")
	if err != nil {
		t.Fatalf("pg_hba_file_rules: %v %s", err, out)
	}
	want := strings.Join([]string{
		"local|all|postgres||peer",
		"local|all|all||scram-sha-256",
		"hostssl|all|all|127.0.0.1|scram-sha-256",
		"hostssl|replication|replicator|127.0.0.1|scram-sha-256",
		"hostssl|replication|replicator|127.0.0.2|scram-sha-256",
		"hostssl|all|rewinder|127.0.0.2|scram-sha-256",
	}, "\n")
	if out != want {
		t.Errorf("pg_hba.conf in effect:\n%s\nwant\n%s", out, want)
	}
	for _, role := range []string{model.ReplicationUser, model.RewindUser} {
		if out, err := psql(superuser, "select count(*) from pg_roles where rolname = '"+role+"'"); err != nil || out != "1" {
			t.Errorf("role %s: %q %v", role, out, err)
		}
	}
	// post_bootstrap made the backend's role, which owns its database and logs in with its password.
	if out, err := psqlAs("notes", "notes", realcheck.TestSecret(model.SecretBackendPassword), "select current_user || '@' || current_database() || ' ' || pg_catalog.pg_get_userbyid(datdba) from pg_database where datname = 'notes'"); err != nil || out != "notes@notes notes" {
		t.Errorf("backend role: %q %v; want notes@notes owning database notes", out, err)
	}
	// The declared role and database, with their limits.
	app := realcheck.TestSecret(model.RolePassword("app"))
	if out, err := psqlAs("app", "appdb", app, "select current_user || '@' || current_database() || ' ' || pg_catalog.pg_get_userbyid(datdba) || ' ' || datconnlimit || ' ' || (select rolconnlimit from pg_roles where rolname = current_user) from pg_database where datname = current_database()"); err != nil || out != "app@appdb app -1 7" {
		t.Errorf("declared role and database: %q %v; want app@appdb app -1 7", out, err)
	}
	// PgBouncer's lookup: in every database, callable by its role only, and silent on roles
	// that may not log in through PgBouncer.
	auth := realcheck.TestSecret(model.SecretPgBouncerAuthPassword)
	for _, db := range []string{"postgres", "template1", "notes", "appdb"} {
		lookup := "select count(*) from pgbouncer.get_auth('app') where password like 'SCRAM-SHA-256$%'"
		if db == "template1" {
			out, err := psql(superuser, "select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'pgbouncer' and p.proname = 'get_auth' and p.prosecdef")
			if err != nil || out != "1" {
				t.Errorf("template1 has no pgbouncer.get_auth: %q %v", out, err)
			}
			continue
		}
		if out, err := psqlAs(model.PgBouncerAuthUser, db, auth, lookup); err != nil || out != "1" {
			t.Errorf("%s: lookup of app as %s: %q %v; want one SCRAM secret", db, model.PgBouncerAuthUser, out, err)
		}
	}
	if out, err := psqlAs(model.PgBouncerAuthUser, "postgres", auth, "select (select count(*) from pgbouncer.get_auth('postgres')) + (select count(*) from pgbouncer.get_auth('replicator'))"); err != nil || out != "0" {
		t.Errorf("the lookup returns the superuser or the replication role: %q %v", out, err)
	}
	if out, err := psqlAs("app", "appdb", app, "select * from pgbouncer.get_auth('app')"); err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("app may call the lookup: %q %v; want permission denied", out, err)
	}
	// post_bootstrap may run again (a later rollout does): nothing changes, nothing fails. It
	// runs with PostgreSQL logging every statement (a DBA's log_statement = all), and its
	// passwords must not reach the log: the marker after it must.
	const marker = "pghac-log-marker"
	for _, q := range []string{"alter system set log_statement = 'all'", "alter system set log_min_duration_statement = 0", "select pg_reload_conf()"} {
		if out, err := psql(superuser, q); err != nil {
			t.Fatalf("logging every statement: %s: %v %s", q, err, out)
		}
	}
	again := exec.Command(postBootstrap, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres", c.Postgres.Port))
	again.Env = append(os.Environ(), "PGPASSWORD="+superuser)
	if out, err := again.CombinedOutput(); err != nil {
		t.Errorf("post_bootstrap again: %v\n%s", err, out)
	}
	if out, err := psql(superuser, "select '"+marker+"'"); err != nil {
		t.Fatal(err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.log.String(), marker) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	log := b.log.String()
	if !strings.Contains(log, marker) {
		t.Fatalf("PostgreSQL did not log the statement after post_bootstrap (log_statement = all); its output:\n%s", log)
	}
	if leaked := regexp.MustCompile(`test-[a-z0-9_]+-9f3a`).FindAllString(log, -1); len(leaked) > 0 {
		t.Errorf("PostgreSQL's log holds the passwords %v (post_bootstrap's statements were logged)", leaked)
	}
}

// bootstrapped is the one-member cluster of one attempt of TestBootstrap, with a primary.
type bootstrapped struct {
	c             *model.Cluster
	api           string       // the member's REST API, http://host:port
	postBootstrap string       // the emitted post_bootstrap script, rendered
	log           fmt.Stringer // Patroni's output, which holds PostgreSQL's log
	tls           realcheck.TLS
}

// startOneMember starts etcd and Patroni on free ports, from the emitted files with only the
// host paths moved into a temporary directory, and waits for a primary. On an error it has
// stopped them again; the error is errPortInUse when a server's output says a port was taken.
func startOneMember(t *testing.T) (_ *bootstrapped, err error) {
	t.Helper()
	c := modeltest.Cluster()
	c.Nodes = c.Nodes[:1]
	c.Nodes[0].Address = netip.MustParseAddr("127.0.0.2")
	c.Network.Subnets = []model.Subnet{{Zone: "lo", CIDR: netip.MustParsePrefix("127.0.0.0/30")}}
	c.Etcd.Members = []string{"node0"}
	// etcd's clients and PostgreSQL listen on both addresses, the rest on 127.0.0.2.
	ports := freePorts(t, 4, "127.0.0.2", "127.0.0.1")
	c.Etcd.ClientPort, c.Etcd.PeerPort = ports[0], ports[1]
	c.Patroni.RestAPIPort, c.Postgres.Port = ports[2], ports[3]
	c.Patroni.SynchronousMode = false // one member: no standby to wait for
	c.Backend = &model.Backend{Port: 8080, Database: "notes", User: "notes"}
	c.Roles = []model.Role{{Name: "app", ConnectionLimit: 7}}
	c.Databases = []model.Database{{Name: "appdb", Owner: "app", ConnectionLimit: -1}}
	for i, p := range c.Postgres.Parameters {
		if p.Name == "shared_buffers" {
			c.Postgres.Parameters[i].Value = "128MB" // a test host's shared memory
		}
	}
	n := c.Nodes[0]

	dir, err := os.MkdirTemp("", "pghac-patroni-")
	if err != nil {
		t.Fatal(err)
	}
	sockets, data := filepath.Join(dir, "run"), filepath.Join(dir, "data")
	// Run by the test's cleanup, or at once when this attempt fails: Patroni first, then a
	// postmaster it left, then etcd.
	var etcdProc, patroniProc *child
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if patroniProc != nil {
				patroniProc.stop()
			}
			stopPostgres(t, data)
			if etcdProc != nil {
				etcdProc.stop()
			}
			os.RemoveAll(dir)
		})
	}
	t.Cleanup(stop)
	defer func() {
		if err != nil {
			stop()
		}
	}()
	c.OS.DataDir = data
	for _, d := range []string{dir, sockets} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// etcd, from this node's emitted environment.
	etcdPart, err := etcd.NodePart(c, n)
	if err != nil {
		t.Fatal(err)
	}
	etcdEnv := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "ETCD_DATA_DIR=" + filepath.Join(dir, "etcd")}
	for _, line := range strings.Split(string(etcdPart.Files[0].Bytes), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "ETCD_DATA_DIR=") {
			etcdEnv = append(etcdEnv, line)
		}
	}
	etcdProc = start(t, etcdEnv, "etcd")
	if err := waitEtcd(etcdProc, fmt.Sprintf("http://%s", n.AddrPort(c.Etcd.ClientPort))); err != nil {
		return nil, err
	}

	// Patroni, with the pgpass and socket directory moved off the host's own.
	part, err := NodePart(c, n)
	if err != nil {
		t.Fatal(err)
	}
	files := part.Files
	if files[0].Path != ConfigPath {
		t.Fatalf("Files[0] = %s, want %s", files[0].Path, ConfigPath)
	}
	i := slices.IndexFunc(files, func(f artifact.NodeFile) bool { return f.Path == PostBootstrapPath })
	if i < 0 {
		t.Fatalf("no %s", PostBootstrapPath)
	}
	postBootstrap := filepath.Join(dir, "post-bootstrap.sh")
	if err := os.WriteFile(postBootstrap, realcheck.Render(files[i].Bytes), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := realcheck.Render(files[0].Bytes)
	cfg = bytes.ReplaceAll(cfg, []byte(PostBootstrapPath), []byte(postBootstrap))
	// Callbacks need a PgBouncer; TestCallback runs them.
	cfg = regexp.MustCompile(`(?m)^  callbacks:\n(    .*\n)+`).ReplaceAll(cfg, nil)
	cfg = bytes.ReplaceAll(cfg, []byte("/var/lib/postgresql/patroni-node0.pgpass"), []byte(filepath.Join(dir, "pgpass")))
	cfg = bytes.ReplaceAll(cfg, []byte(SocketDir), []byte(sockets))
	// PostgreSQL serves TLS with a real certificate and key in one file, as the node's.
	tlsFiles, err := realcheck.WriteTLS(dir, n)
	if err != nil {
		t.Fatal(err)
	}
	cfg = tlsFiles.Paths(cfg)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"patroni", cfgPath}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		chownAll(t, dir, "postgres")
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	patroniProc = start(t, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, args...)

	// Patroni's output holds PostgreSQL's too.
	api := fmt.Sprintf("http://%s", n.AddrPort(c.Patroni.RestAPIPort))
	const wait = 150 * time.Second
	deadline := time.Now().Add(wait)
	for status(t, "GET", api+"/primary") != http.StatusOK {
		switch {
		case portInUse(etcdProc, patroniProc):
			return nil, fmt.Errorf("%w; Patroni's output:\n%s\netcd's:\n%s", errPortInUse, patroniProc, etcdProc)
		case patroniProc.hasExited() || etcdProc.hasExited():
			return nil, fmt.Errorf("Patroni or etcd exited before there was a primary; Patroni's output:\n%s\netcd's:\n%s", patroniProc, etcdProc)
		case time.Now().After(deadline):
			return nil, fmt.Errorf("no primary within %s; Patroni's output:\n%s", wait, patroniProc)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// PostgreSQL serves on the addresses it could bind and only warns about the others.
	if portInUse(etcdProc, patroniProc) {
		return nil, fmt.Errorf("%w; Patroni's output:\n%s\netcd's:\n%s", errPortInUse, patroniProc, etcdProc)
	}
	return &bootstrapped{c: c, api: api, postBootstrap: postBootstrap, log: patroniProc, tls: tlsFiles}, nil
}

// errPortInUse is a start that failed because a port was taken between freePorts and a
// server binding it.
var errPortInUse = errors.New("a port was taken before a server bound it")

// portInUse reports whether a process's output says it could not bind a port.
func portInUse(procs ...*child) bool {
	return slices.ContainsFunc(procs, func(p *child) bool {
		return strings.Contains(strings.ToLower(p.String()), "address already in use")
	})
}

// waitEtcd waits up to 60 s until etcd answers healthy at its client URL. The error is
// errPortInUse when etcd's output says a port was taken.
func waitEtcd(p *child, clientURL string) error {
	// Each poll is short: etcd's exit is checked between polls.
	hc := &http.Client{Timeout: 2 * time.Second}
	last := "no answer yet"
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := hc.Get(clientURL + "/health")
		if err != nil {
			last = err.Error()
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), `"health":"true"`) {
				return nil
			}
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, bytes.TrimSpace(body))
		}
		switch {
		case portInUse(p):
			return fmt.Errorf("%w: etcd's output:\n%s", errPortInUse, p)
		case p.hasExited():
			return fmt.Errorf("etcd exited (%s/health: %s); its output:\n%s", clientURL, last, p)
		case time.Now().After(deadline):
			return fmt.Errorf("etcd was not healthy within 60 s (%s/health: %s); its output:\n%s", clientURL, last, p)
		}
	}
}

// output is a goroutine-safe buffer for a child's output.
type output struct {
	buf bytes.Buffer
	mu  chan struct{}
}

func newOutput() *output { return &output{mu: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	return o.buf.String()
}

// child is a process start runs; String is its output so far.
type child struct {
	*output
	pgid   int
	exited chan struct{} // closed once it has exited
	once   sync.Once
}

func (c *child) hasExited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// stop stops its process group (SIGTERM, SIGKILL after 30 s) and returns once the process
// has exited; later calls do nothing.
func (c *child) stop() {
	c.once.Do(func() {
		syscall.Kill(-c.pgid, syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-c.pgid, syscall.SIGKILL)
			<-c.exited
		}
	})
}

// start runs args in its own process group and stops the group when the test ends, unless
// stopped before.
func start(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	out := newOutput()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{output: out, pgid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.stop)
	return c
}

// stopPostgres kills a postmaster left behind by a Patroni that did not stop it: Patroni
// starts it in a session of its own.
func stopPostgres(t *testing.T, data string) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err == nil && pid > 1 && syscall.Kill(pid, 0) == nil {
		t.Logf("stopping postmaster %d left by Patroni", pid)
		syscall.Kill(pid, syscall.SIGQUIT)
	}
}

func status(t *testing.T, method, url string) int {
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func chownAll(t *testing.T, dir, name string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
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
