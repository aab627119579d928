package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/drill"
)

// Target session attributes the probes ask libpq for.
const (
	ReadWrite = "read-write" // through the primary port: the primary
	ReadOnly  = "read-only"  // through the replica port: a standby
)

// PsqlBin is the libpq client the probes run: psql from postgresql-client.
var PsqlBin = "psql"

// Probe is a libpq client, retrying until it gets the session it asks for. Start one with
// StartProbe; Wait for its record.
type Probe struct {
	cancel context.CancelFunc
	done   chan struct{}
	rec    drill.LibpqProbe
}

// probeTimeout bounds one attempt per host; probeInterval spaces the attempts.
const (
	probeTimeout  = 2 * time.Second
	probeInterval = 200 * time.Millisecond
)

// StartProbe starts a libpq client (psql) that connects as HA guides tell applications to: one
// connection string listing every node's port (the primary port for read-write, the replica
// port for read-only) with target_session_attrs = attrs. libpq decides what a server is from
// what the server reports at login, so the probe sees what every libpq-based client sees. A
// session counts once the server it reached confirms the role (pg_is_in_recovery()). The probe
// retries every probeInterval from now until it gets one or ctx ends; from is recorded as its
// start (the time its delay is measured from).
func StartProbe(ctx context.Context, cfg Config, attrs string, from time.Time) *Probe {
	cfg = cfg.withDefaults()
	port := cfg.PrimaryPort
	if attrs == ReadOnly {
		port = cfg.ReplicaPort
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Probe{cancel: cancel, done: make(chan struct{}),
		rec: drill.LibpqProbe{Attrs: attrs, Port: port, From: from}}
	names := cfg.serverNames()
	go func() {
		defer close(p.done)
		for {
			p.rec.Attempts++
			server, err := probeOnce(ctx, cfg, port, attrs, names)
			switch {
			case err == nil:
				p.rec.Connected, p.rec.Server, p.rec.LastErr = time.Now(), server, ""
				return
			case ctx.Err() != nil && p.rec.LastErr != "":
				// Stopped mid-attempt: the last finished attempt's reason is the one to tell.
				return
			}
			p.rec.LastErr = err.Error()
			select {
			case <-ctx.Done():
				return
			case <-time.After(probeInterval):
			}
		}
	}()
	return p
}

// Wait waits until the probe got its session or timeout passed, stops it, and returns what it
// recorded.
func (p *Probe) Wait(timeout time.Duration) drill.LibpqProbe {
	select {
	case <-p.done:
	case <-time.After(timeout):
	}
	p.cancel()
	<-p.done
	return p.rec
}

// probeOnce runs psql once and returns the member the session reached.
func probeOnce(ctx context.Context, cfg Config, port int, attrs string, names map[string]string) (string, error) {
	hosts := make([]string, len(cfg.Nodes))
	ports := make([]string, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		hosts[i], ports[i] = n.Addr.String(), strconv.Itoa(port)
	}
	conn := fmt.Sprintf("host=%s port=%s user=%s dbname=%s connect_timeout=%d target_session_attrs=%s application_name=pghac-drill-libpq",
		strings.Join(hosts, ","), strings.Join(ports, ","), cfg.User, cfg.Database, int(probeTimeout/time.Second), attrs)
	if cfg.CACert != "" {
		conn += " sslmode=verify-full sslrootcert='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(cfg.CACert) + "'"
	}
	// Every host may time out once, and the query gets as long again.
	limit := time.Duration(len(hosts)+1) * probeTimeout
	attempt, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(attempt, PsqlBin, "--no-psqlrc", "--no-password", "--no-align", "--tuples-only",
		"--command", "SELECT "+serverExpr+", pg_is_in_recovery()", conn)
	// The password through the environment, never on a command line or in a message.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PGPASSWORD=" + cfg.Password, "PGPASSFILE=/dev/null",
		"PGCONNECT_TIMEOUT=" + strconv.Itoa(int(probeTimeout/time.Second))}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		switch {
		case ctx.Err() != nil:
			return "", errors.New("stopped before an answer")
		case attempt.Err() != nil:
			return "", fmt.Errorf("no answer within %s", limit)
		case !errors.As(err, &exit):
			return "", fmt.Errorf("psql (postgresql-client): %w", err)
		}
		return "", errors.New(lastLine(stderr.String(), err.Error()))
	}
	addr, inRecovery, ok := strings.Cut(strings.TrimSpace(out.String()), "|")
	switch {
	case !ok:
		return "", fmt.Errorf("psql printed %q", out.String())
	case attrs == ReadWrite && inRecovery != "f", attrs == ReadOnly && inRecovery != "t":
		// libpq believed what the server reported at login; the server says otherwise.
		return "", fmt.Errorf("target_session_attrs=%s reached %s, which is %s", attrs, serverName(names, addr),
			map[bool]string{true: "in recovery", false: "a primary"}[inRecovery == "t"])
	}
	return serverName(names, addr), nil
}

// lastLine is the last non-empty line of s (psql's error), or def.
func lastLine(s, def string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return strings.TrimPrefix(l, "psql: error: ")
	}
	return def
}
