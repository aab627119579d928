package provision

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/rollout"
)

// What a node that does not serve says about why, over the same SSH path as a rollout: its
// boot (cloud-init's status, and the last word of its output, where the secrets' fill and the
// Patroni backport say what stopped them) and Patroni's unit. The health probe sees only that
// Patroni does not answer; these say the reason in one line.

// diagnoseScript prints cloud-init's status, the tail of its output and Patroni's unit state
// and journal, each after a marker line. It never fails: a part that cannot be read is empty.
const diagnoseScript = `echo '` + markStatus + `'; cloud-init status --format json 2>/dev/null
echo '` + markOutput + `'; tail -n 40 /var/log/cloud-init-output.log 2>/dev/null
echo '` + markPatroni + `'; systemctl is-failed patroni 2>/dev/null
echo '` + markJournal + `'; journalctl -u patroni -n 20 --no-pager -o cat 2>/dev/null
true`

const (
	markStatus  = "--- pghac: cloud-init status"
	markOutput  = "--- pghac: cloud-init output"
	markPatroni = "--- pghac: patroni unit"
	markJournal = "--- pghac: patroni journal"
)

// Lines of the node scripts that name a cause: the secrets' fill (emit/cloudinit's
// secrets.py) and the Patroni backport (emit/patroni's patroni-etcd3-fix.py).
const (
	secretsPrefix    = "pghac-secrets: "
	secretsWaiting   = "pghac-secrets: waiting for Lockbox secret "
	etcd3FixPrefix   = "patroni-etcd3-fix: "
	diagnoseDeadline = 20 * time.Second
)

// Diagnose adds to rep, for each node whose problems it names, the one line that says why
// that node does not serve, when the node says one: a boot that failed or still waits for its
// secrets, or a Patroni that its unit could not start. A node that cannot be reached adds
// nothing: rep says so already.
func Diagnose(ctx context.Context, dial rollout.Dialer, rep *health.Report) {
	nodes, _ := rep.ProblemNodes()
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(ctx, diagnoseDeadline)
		if c, err := dial(ctx, n); err == nil {
			out, _ := c.Run(ctx, diagnoseScript, nil)
			c.Close()
			if why := diagnosis(string(out)); why != "" {
				rep.Problems = append(rep.Problems, n+": "+why)
			}
		}
		cancel()
	}
}

// diagnosis reads diagnoseScript's output: the reason the node does not serve, or "".
func diagnosis(out string) string {
	parts := map[string][]string{}
	var cur string
	for _, line := range strings.Split(out, "\n") {
		switch line {
		case markStatus, markOutput, markPatroni, markJournal:
			cur = line
			continue
		}
		if cur != "" && strings.TrimSpace(line) != "" {
			parts[cur] = append(parts[cur], line)
		}
	}
	var st struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(strings.Join(parts[markStatus], "\n")), &st)
	output := parts[markOutput]
	switch st.Status {
	case "error":
		return "its boot failed: " + cause(output, secretsPrefix, etcd3FixPrefix)
	case "running":
		if len(output) > 0 && strings.HasPrefix(output[len(output)-1], secretsWaiting) {
			return "its boot waits for its secrets: " + output[len(output)-1]
		}
		return ""
	}
	// "failed", or "activating" between the restarts of a unit that keeps failing.
	if unit := parts[markPatroni]; len(unit) > 0 && unit[0] != "active" {
		return "Patroni does not run (" + unit[0] + "): " + cause(parts[markJournal], etcd3FixPrefix)
	}
	return ""
}

// cause is the last line of lines that starts with one of prefixes, else the last line.
func cause(lines []string, prefixes ...string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		for _, p := range prefixes {
			if strings.HasPrefix(lines[i], p) {
				return lines[i]
			}
		}
	}
	if len(lines) == 0 {
		return "(no output)"
	}
	return lines[len(lines)-1]
}
