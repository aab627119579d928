package sandboxtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
)

// checkNoCleartext captures every frame on the sandbox's bridge (tcpdump, Debian's) while a
// marker is written through the backend's API and through psql, before and after
// checkClients' load and switchover: the marker never crosses the network in clear (client
// to HAProxy to PgBouncer, PgBouncer to PostgreSQL, replication, WAL to the bucket). A
// control marker sent as plain HTTP to the backend's port, which refuses it, must be in the
// capture: it sees the traffic.
func checkNoCleartext(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	cl := c.Model
	addrs := c.Addresses()
	stamp := time.Now().UnixNano()
	marker, control := fmt.Sprintf("pghac-marker-%d", stamp), fmt.Sprintf("pghac-control-%d", stamp)
	pcap := filepath.Join(t.TempDir(), "bridge.pcap")
	dump := exec.CommandContext(ctx, "tcpdump", "-i", c.Config.Bridge, "-n", "-U", "-s", "0", "-Z", "root", "-w", pcap)
	stderr, err := dump.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := dump.Start(); err != nil {
		t.Fatalf("tcpdump (Debian package tcpdump): %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			dump.Process.Signal(syscall.SIGINT)
			dump.Wait()
		}
	}
	defer stop()
	listening := make(chan string, 1)
	go func() {
		var seen strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				listening <- ""
				break
			}
		}
		listening <- seen.String()
		io.Copy(io.Discard, stderr)
	}()
	select {
	case out := <-listening:
		if out != "" {
			t.Fatalf("tcpdump did not listen on %s:\n%s", c.Config.Bridge, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("tcpdump did not listen on %s within 10 s", c.Config.Bridge)
	}

	password := c.secret(t, model.RolePassword(appRole))
	if out, err := psqlAs(ctx, dsn(addrs[2], cl.HAProxy.PrimaryPort, appRole, appRole, "sslmode=verify-full", "sslrootcert="+c.caPath()), password,
		"CREATE TABLE IF NOT EXISTS capture_markers (text text)"); err != nil {
		t.Fatalf("capture_markers: %v\n%s", err, out)
	}
	hc := c.httpsClient(t, 10*time.Second)
	write := func(when string) {
		t.Helper()
		text := marker + " " + when
		resp, err := hc.Post(fmt.Sprintf("https://%s:%d/notes/", addrs[1], cl.Backend.Port), "application/json",
			strings.NewReader(fmt.Sprintf(`{"text": %q}`, text)))
		if err != nil {
			t.Fatalf("POST /notes/ over HTTPS: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /notes/ over HTTPS: HTTP %d", resp.StatusCode)
		}
		conn := dsn(addrs[2], cl.HAProxy.PrimaryPort, appRole, appRole, "sslmode=verify-full", "sslrootcert="+c.caPath())
		if out, err := psqlAs(ctx, conn, password, "INSERT INTO capture_markers VALUES ('"+text+"')"); err != nil {
			t.Fatalf("psql INSERT: %v\n%s", err, out)
		}
	}
	write("before the switchover")
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	if resp, err := plain.Post(fmt.Sprintf("http://%s:%d/notes/", addrs[0], cl.Backend.Port), "application/json",
		strings.NewReader(fmt.Sprintf(`{"text": %q}`, control))); err == nil {
		resp.Body.Close()
	}
	checkClients(ctx, t, c)
	write("after the switchover")
	time.Sleep(time.Second) // the last frames' way to the file
	stop()

	b, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(control)) {
		t.Fatalf("the capture (%d bytes) lacks the control marker sent in plain HTTP: it did not see the traffic", len(b))
	}
	if n := bytes.Count(b, []byte(marker)); n > 0 {
		t.Errorf("the marker crossed the bridge in clear %d times (capture of %d bytes)", n, len(b))
	}
	for _, q := range []struct{ db, sql string }{
		{cl.Backend.Database, "SELECT count(*) FROM notes WHERE text LIKE '" + marker + "%'"},
		{appRole, "SELECT count(*) FROM capture_markers WHERE text LIKE '" + marker + "%'"},
	} {
		if got, err := psqlAs(ctx, c.adminDSN(q.db), c.secret(t, model.SecretSuperuserPassword), q.sql); err != nil || got != "2" {
			t.Errorf("%s: %q %v; want both markers written", q.sql, got, err)
		}
	}
	t.Logf("bridge capture: %d bytes, the control marker in it, the marker not", len(b))
}
