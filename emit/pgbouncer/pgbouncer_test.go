package pgbouncer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/golden/realcheck"
)

// settings parses the [pgbouncer] and [databases] sections into "section/key" -> value.
func settings(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("not key = value: %q", line)
			}
			key := section + "/" + strings.TrimSpace(k)
			if _, dup := out[key]; dup {
				t.Fatalf("%s set twice", key)
			}
			out[key] = strings.TrimSpace(v)
		}
	}
	return out
}

func emit(t *testing.T, c *model.Cluster, n model.Node) (ini, userlist artifact.NodeFile) {
	t.Helper()
	part, err := NodePart(c, n)
	if err != nil {
		t.Fatal(err)
	}
	files := part.Files
	if len(files) != 2 {
		t.Fatalf("got %d files, want 2", len(files))
	}
	if want := []string{"systemctl enable pgbouncer", "systemctl restart pgbouncer"}; !slices.Equal(part.Boot, want) || part.BootFiles != nil {
		t.Errorf("boot lines %q, boot files %v; want %q and no files", part.Boot, part.BootFiles, want)
	}
	return files[0], files[1]
}

func TestFiles(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*model.Cluster)
		node   int
		want   map[string]string
	}{
		{
			name: "defaults",
			node: 0,
			want: map[string]string{
				"databases/*":                         "host=127.0.0.1 port=5432",
				"pgbouncer/listen_addr":               "10.128.0.16,127.0.0.1",
				"pgbouncer/listen_port":               "6432",
				"pgbouncer/unix_socket_dir":           "/var/run/postgresql",
				"pgbouncer/auth_type":                 "scram-sha-256",
				"pgbouncer/auth_file":                 "/etc/pgbouncer/userlist.txt",
				"pgbouncer/admin_users":               "pgbouncer_admin",
				"pgbouncer/auth_user":                 "pgbouncer_auth",
				"pgbouncer/auth_query":                "SELECT username, password FROM pgbouncer.get_auth($1)",
				"pgbouncer/pool_mode":                 "session",
				"pgbouncer/default_pool_size":         "100",
				"pgbouncer/max_client_conn":           "1000",
				"pgbouncer/server_login_retry":        "1",
				"pgbouncer/query_wait_timeout":        "30",
				"pgbouncer/ignore_startup_parameters": "extra_float_digits",
			},
		},
		{
			name: "transaction pooling, a database's own, other ports, sub-second retry",
			modify: func(c *model.Cluster) {
				c.Roles = []model.Role{{Name: "app", ConnectionLimit: -1}}
				c.Databases = []model.Database{{Name: "app", Owner: "app", PoolMode: "session"}, {Name: "other", Owner: "app"}}
				c.PgBouncer.PoolMode, c.PgBouncer.Port, c.Postgres.Port = "transaction", 16432, 15432
				c.PgBouncer.DefaultPoolSize, c.PgBouncer.MaxClientConn = 60, 500
				c.PgBouncer.ServerLoginRetry, c.PgBouncer.QueryWaitTimeout = 500*time.Millisecond, 2*time.Minute
			},
			node: 2,
			want: map[string]string{
				"databases/app":                       "host=127.0.0.1 port=15432 pool_mode=session",
				"databases/*":                         "host=127.0.0.1 port=15432",
				"pgbouncer/listen_addr":               "10.130.0.28,127.0.0.1",
				"pgbouncer/listen_port":               "16432",
				"pgbouncer/unix_socket_dir":           "/var/run/postgresql",
				"pgbouncer/auth_type":                 "scram-sha-256",
				"pgbouncer/auth_file":                 "/etc/pgbouncer/userlist.txt",
				"pgbouncer/admin_users":               "pgbouncer_admin",
				"pgbouncer/auth_user":                 "pgbouncer_auth",
				"pgbouncer/auth_query":                "SELECT username, password FROM pgbouncer.get_auth($1)",
				"pgbouncer/pool_mode":                 "transaction",
				"pgbouncer/default_pool_size":         "60",
				"pgbouncer/max_client_conn":           "500",
				"pgbouncer/server_login_retry":        "0.5",
				"pgbouncer/query_wait_timeout":        "120",
				"pgbouncer/ignore_startup_parameters": "extra_float_digits",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := modeltest.Cluster()
			if tt.modify != nil {
				tt.modify(c)
			}
			ini, userlist := emit(t, c, c.Nodes[tt.node])
			if ini.Path != "/etc/pgbouncer/pgbouncer.ini" || ini.Owner != "postgres:postgres" || ini.Mode != 0o640 {
				t.Errorf("ini: %s %s %o", ini.Path, ini.Owner, ini.Mode)
			}
			if userlist.Path != "/etc/pgbouncer/userlist.txt" || userlist.Owner != "postgres:postgres" || userlist.Mode != 0o600 {
				t.Errorf("userlist: %s %s %o", userlist.Path, userlist.Owner, userlist.Mode)
			}
			if !bytes.HasPrefix(ini.Bytes, []byte("# Code generated by pghac. DO NOT EDIT.\n")) {
				t.Errorf("no generated-code header")
			}
			got := settings(t, ini.Bytes)
			// The same on every node and with every pool.
			maps.Copy(tt.want, map[string]string{
				"pgbouncer/client_tls_sslmode":   "require",
				"pgbouncer/client_tls_cert_file": "/etc/pghac/tls/service.pem",
				"pgbouncer/client_tls_key_file":  "/etc/pghac/tls/service.pem",
				"pgbouncer/client_tls_ca_file":   "/etc/pghac/tls/ca.crt",
				"pgbouncer/server_tls_sslmode":   "verify-full",
				"pgbouncer/server_tls_ca_file":   "/etc/pghac/tls/ca.crt",
			})
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected %s = %s", k, got[k])
				}
			}
			if bytes.Contains(ini.Bytes, []byte("logfile")) {
				t.Errorf("logfile set: PgBouncer should log to the journal")
			}
			// Only pghac's own, not the superuser; every other role comes from auth_query.
			want := `"pgbouncer_admin" "${pgbouncer_admin_password}"` + "\n" +
				`"pgbouncer_auth" "${pgbouncer_auth_password}"` + "\n"
			if string(userlist.Bytes) != want {
				t.Errorf("userlist = %q, want %q", userlist.Bytes, want)
			}
		})
	}
}

func TestUnknownPoolMode(t *testing.T) {
	c := modeltest.Cluster()
	c.PgBouncer.PoolMode = "sessions"
	if _, err := NodePart(c, c.Nodes[0]); err == nil {
		t.Fatal("NodePart accepted pool_mode sessions")
	}
	c = modeltest.Cluster()
	c.Databases = []model.Database{{Name: "app", Owner: "app", PoolMode: "transactions"}}
	if _, err := NodePart(c, c.Nodes[0]); err == nil {
		t.Fatal("NodePart accepted a database's pool_mode transactions")
	}
}

// TestPgBouncerLoads starts the real PgBouncer with a node's rendered files, moved to loopback
// and a temporary directory: it must load every setting and listen on both addresses.
func TestPgBouncerLoads(t *testing.T) {
	c, b := startPgBouncer(t)
	out := b.stop()
	for _, want := range []string{
		fmt.Sprintf("listening on 127.0.0.2:%d", c.PgBouncer.Port),
		fmt.Sprintf("listening on 127.0.0.1:%d", c.PgBouncer.Port),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in PgBouncer's log:\n%s", want, out)
		}
	}
	for _, bad := range []string{"ERROR", "WARNING"} {
		if strings.Contains(out, bad) {
			t.Errorf("PgBouncer logged %s:\n%s", bad, out)
		}
	}
}

// TestPgBouncerTLS connects psql to the real PgBouncer's admin console (which needs no
// PostgreSQL behind it) as a client of the cluster does: over TLS with the service
// certificate, verified against the cluster's authority at the node's address; refused by a
// client that trusts another authority; refused to a client that asks for no TLS; plain on
// the Unix socket, Patroni's callback's way in.
func TestPgBouncerTLS(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql (Debian package postgresql-client): %v", err)
	}
	c, b := startPgBouncer(t)
	defer b.stop()
	other, err := realcheck.WriteTLS(t.TempDir(), c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	query := func(conn, q string) (string, error) {
		cmd := exec.Command(psql, conn+" dbname=pgbouncer user="+model.PgBouncerAdminUser+" connect_timeout=5", "-XAtc", q)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + realcheck.TestSecret(model.SecretPgBouncerAdminPassword)}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	port := strconv.Itoa(c.PgBouncer.Port)
	tcp := "host=127.0.0.2 port=" + port
	// SHOW CLIENTS lists this session; its tls column says how it came in.
	const tlsColumn = "SHOW CLIENTS"
	out, err := query(tcp+" sslmode=verify-full sslrootcert="+b.tls.CA, tlsColumn)
	if err != nil || !strings.Contains(out, "TLSv1.3") {
		t.Errorf("verify-full against the cluster's authority: %v\n%s\nwant a TLSv1.3 session", err, out)
	}
	if out, err := query(tcp+" sslmode=verify-full sslrootcert="+other.CA, "SHOW VERSION"); err == nil || !strings.Contains(out, "certificate verify failed") {
		t.Errorf("verify-full against another authority: %v\n%s\nwant certificate verify failed", err, out)
	}
	// TLS is required over TCP: a client that asks for none is refused before it logs in.
	if out, err := query(tcp+" sslmode=disable", "SHOW VERSION"); err == nil || !strings.Contains(out, "SSL required") {
		t.Errorf("sslmode=disable over TCP: %v\n%s\nwant SSL required", err, out)
	}
	out, err = query("host="+b.dir+" port="+port, tlsColumn)
	if err != nil || strings.Contains(out, "TLS") {
		t.Errorf("on the Unix socket: %v\n%s\nwant a plain session", err, out)
	}

	// A rotated certificate is served after a reload, which keeps PgBouncer running: here one
	// from the other authority, so that the client tells the two apart.
	rotated, err := os.ReadFile(other.Service)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.tls.Service, rotated, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := query("host="+b.dir+" port="+port, "RELOAD"); err != nil {
		t.Fatalf("RELOAD: %v\n%s", err, out)
	}
	if out, err := query(tcp+" sslmode=verify-full sslrootcert="+other.CA, "SHOW VERSION"); err != nil {
		t.Errorf("after the reload, verify-full against the new certificate's authority: %v\n%s", err, out)
	}
	if out, err := query(tcp+" sslmode=verify-full sslrootcert="+b.tls.CA, "SHOW VERSION"); err == nil || !strings.Contains(out, "certificate verify failed") {
		t.Errorf("after the reload, verify-full against the old certificate's authority: %v\n%s\nwant certificate verify failed", err, out)
	}
}

// bouncer is a running PgBouncer.
type bouncer struct {
	cmd *exec.Cmd
	sc  *bufio.Scanner
	log []string
	dir string // its socket directory and files
	tls realcheck.TLS
}

// startPgBouncer runs PgBouncer with the first node's rendered files, moved to 127.0.0.2, a
// free port and a temporary directory, until it logs "process up"; it fails the test if it
// does not.
func startPgBouncer(t *testing.T) (*model.Cluster, *bouncer) {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		t.Fatalf("pgbouncer (Debian package pgbouncer): %v", err)
	}
	c := modeltest.Cluster()
	c.Nodes[0].Address = netip.MustParseAddr("127.0.0.2")
	for attempt := 1; attempt <= 3; attempt++ {
		c.PgBouncer.Port = freePort(t, "127.0.0.2", "127.0.0.1")
		if b := runPgBouncer(t, bin, c, c.Nodes[0]); b != nil {
			return c, b
		}
	}
	t.Fatal("3 ports taken before PgBouncer bound them")
	return nil, nil
}

// runPgBouncer starts PgBouncer with n's rendered files until it logs "process up". It
// returns nil when the port was taken before PgBouncer bound it (PgBouncer 1.18 does not exit
// then: it warns "cannot listen on" and comes up on its Unix socket alone), for the caller to
// try another; any other failure fails the test.
func runPgBouncer(t *testing.T, bin string, c *model.Cluster, n model.Node) *bouncer {
	t.Helper()
	ini, userlist := emit(t, c, n)

	// PgBouncer refuses to run as root: as root, run it as postgres from a directory it can read.
	dir, err := os.MkdirTemp("", "pghac-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tlsFiles, err := realcheck.WriteTLS(dir, n)
	if err != nil {
		t.Fatal(err)
	}
	iniBytes := bytes.ReplaceAll(ini.Bytes, []byte(SocketDir), []byte(dir))
	iniBytes = bytes.ReplaceAll(iniBytes, []byte(UserlistPath), []byte(filepath.Join(dir, "userlist.txt")))
	iniBytes = tlsFiles.Paths(iniBytes)
	iniPath := filepath.Join(dir, "pgbouncer.ini")
	for path, b := range map[string][]byte{iniPath: iniBytes, filepath.Join(dir, "userlist.txt"): realcheck.Render(userlist.Bytes)} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{bin, iniPath}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("user postgres (Debian package postgresql-common): %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		for _, p := range []string{dir, iniPath, filepath.Join(dir, "userlist.txt"), filepath.Dir(tlsFiles.CA), tlsFiles.CA, tlsFiles.Node, tlsFiles.Service} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	// Its own process group, so that stopping it reaches PgBouncer under runuser too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &bouncer{cmd: cmd, sc: bufio.NewScanner(stderr), dir: dir, tls: tlsFiles}
	// Killed whatever happens: a PgBouncer that never says "process up" would hold the scan.
	timer := time.AfterFunc(60*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer timer.Stop()
	up := false
	for !up && b.sc.Scan() {
		b.log = append(b.log, b.sc.Text())
		up = strings.Contains(b.sc.Text(), "process up")
	}
	if !up {
		t.Fatalf("PgBouncer did not come up:\n%s", b.stop())
	}
	if log := strings.Join(b.log, "\n"); strings.Contains(log, "cannot listen on") {
		t.Logf("port %d was taken before PgBouncer bound it; again on another:\n%s", c.PgBouncer.Port, b.stop())
		return nil
	}
	return b
}

// stop stops PgBouncer and returns its log; once stopped, it only returns the log.
func (b *bouncer) stop() string {
	if b.cmd.ProcessState == nil {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
		for b.sc.Scan() {
			b.log = append(b.log, b.sc.Text())
		}
		b.cmd.Wait()
	}
	return strings.Join(b.log, "\n")
}

// freePort returns a TCP port that nothing listened on a moment ago on any of hosts. Another
// process may still take it before PgBouncer binds it: the caller retries on "cannot listen on".
func freePort(t *testing.T, hosts ...string) int {
	t.Helper()
	for tries := 1; tries <= 100; tries++ {
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
			l.Close()
		}
		if free {
			return port
		}
	}
	t.Fatalf("no port free on all of %v in 100 tries", hosts)
	return 0
}
