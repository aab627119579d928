package sandboxtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/sandbox"
)

// checkBackups: the cluster archives WAL and backs up into the sandbox's S3 from its first
// minutes, as the cloud's would into Object Storage. pghac backup now takes a full backup on
// the leader, list shows it, verify proves WAL reaches the bucket and every file in it is
// intact, and status reports the last backup with no problem, and the bucket plainly when it
// is out of reach. A restore target before the oldest backup is refused with nothing changed.
func checkBackups(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	out, err := c.Run(ctx, "backup", "now")
	if err != nil || !strings.Contains(out, "full backup taken on") {
		t.Fatalf("pghac backup now: %v\n%s", err, out)
	}
	out, err = c.Run(ctx, "backup", "list")
	if err != nil || !strings.Contains(out, "F  full") || !strings.Contains(out, "Point-in-time recovery reaches from") {
		t.Errorf("pghac backup list: %v\n%s", err, out)
	}
	if out, err := c.Run(ctx, "backup", "verify"); err != nil || !strings.Contains(out, "verified on") {
		t.Errorf("pghac backup verify: %v\n%s", err, out)
	}
	out, err = c.Run(ctx, "status", "--json")
	var st struct {
		Backups *struct {
			LastBackup *struct {
				Label, Type string
			} `json:"last_backup"`
			ArchiveLagSeconds *float64 `json:"archive_lag_seconds"`
			Problems          []string `json:"problems"`
		} `json:"backups"`
	}
	if jerr := json.Unmarshal([]byte(out), &st); err != nil || jerr != nil || st.Backups == nil || st.Backups.LastBackup == nil ||
		st.Backups.ArchiveLagSeconds == nil || len(st.Backups.Problems) != 0 {
		t.Errorf("pghac status --json: the backups' part: %v %v\n%s", err, jerr, out)
	}
	// A machine reaches the S3 server's S3 port (which wants signed requests) and none of its
	// others (SeaweedFS's filer, which takes no credentials, here).
	host := c.Config.HostAddr().String()
	if code, err := c.Exec(ctx, "node0", "curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("https://%s:%d/", host, model.SandboxS3Port)); strings.TrimSpace(code) != "403" {
		t.Errorf("node0: an unsigned request to the sandbox's S3: HTTP %q (%v), want 403", code, err)
	}
	if out, err := c.Exec(ctx, "node0", "curl", "-sS", "--max-time", "3", "http://"+host+":3152/"); err == nil {
		t.Errorf("node0 reached the S3 server's filer, which takes no credentials:\n%s", out)
	}

	// The bucket out of reach: status says so plainly and fails; back, it is fine again.
	if err := sandbox.S3Down(c.Config); err != nil {
		t.Fatal(err)
	}
	out, err = c.Run(ctx, "status")
	if !errors.As(err, new(*exec.ExitError)) || !strings.Contains(out, "the backup repository cannot be used") {
		t.Errorf("pghac status with the bucket unreachable: %v\n%s", err, out)
	}
	if err := sandbox.S3Start(ctx, c.Config); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Run(ctx, "backup", "verify"); err != nil {
		t.Errorf("pghac backup verify with the bucket back: %v\n%s", err, out)
	}

	out, err = c.Run(ctx, "restore", "--time", "2000-01-01 00:00:00", "--discard-newer")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 4 || !strings.Contains(out, "earlier than the oldest backup") || !strings.Contains(out, "Nothing was changed") {
		t.Errorf("pghac restore before the oldest backup: %v\n%s", err, out)
	}
}
