package pgbouncer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
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
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		t.Fatalf("pgbouncer (Debian package pgbouncer): %v", err)
	}
	c := modeltest.Cluster()
	n := c.Nodes[0]
	n.Address = netip.MustParseAddr("127.0.0.2")
	var out string
	for attempt := 1; ; attempt++ {
		c.PgBouncer.Port = freePort(t, "127.0.0.2", "127.0.0.1")
		var up bool
		out, up = runPgBouncer(t, bin, c, n)
		// A port can still be taken between freePort and PgBouncer binding it. PgBouncer 1.18
		// does not exit then: it warns "cannot listen on" and comes up on its Unix socket alone.
		if attempt < 3 && strings.Contains(out, "cannot listen on") {
			t.Logf("attempt %d: port %d was taken before PgBouncer bound it; again on another:\n%s", attempt, c.PgBouncer.Port, out)
			continue
		}
		if !up {
			t.Fatalf("PgBouncer did not come up:\n%s", out)
		}
		break
	}
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

// runPgBouncer runs PgBouncer with n's rendered files until it logs "process up", stops it,
// and returns its log and whether it came up.
func runPgBouncer(t *testing.T, bin string, c *model.Cluster, n model.Node) (string, bool) {
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
	iniBytes := bytes.ReplaceAll(ini.Bytes, []byte(SocketDir), []byte(dir))
	iniBytes = bytes.ReplaceAll(iniBytes, []byte(UserlistPath), []byte(filepath.Join(dir, "userlist.txt")))
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
		for _, p := range []string{dir, iniPath, filepath.Join(dir, "userlist.txt")} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	// Its own process group, so that stopping it reaches PgBouncer under runuser too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log []string
	up := false
	sc := bufio.NewScanner(stderr)
	for !up && sc.Scan() {
		log = append(log, sc.Text())
		up = strings.Contains(sc.Text(), "process up")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	for sc.Scan() {
		log = append(log, sc.Text())
	}
	cmd.Wait()
	return strings.Join(log, "\n"), up
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
