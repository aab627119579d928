package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// guestEnv is the whole environment of commands run in a machine: the host's
// environment must not leak in (PATH shims, proxy variables).
var guestEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "TERM=dumb", "HOME=/root"}

// Exec runs argv as root inside machine name, in all of its namespaces (nsenter
// into its PID 1: machinectl and systemd-run --machine do not work without a host
// systemd), and returns its stdout and stderr. A non-zero exit is an error that
// wraps *exec.ExitError. The command is not in the machine's cgroup: for anything
// long-lived, run it through the machine's systemd (systemd-run).
func Exec(ctx context.Context, cfg Config, name string, argv ...string) (stdout, stderr []byte, err error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("sandbox exec: no command")
	}
	m, err := machine(cfg, name)
	if err != nil {
		return nil, nil, err
	}
	if m.LeaderPID == 0 {
		return nil, nil, fmt.Errorf("machine %s is not running", name)
	}
	args := append([]string{"-t", strconv.Itoa(m.LeaderPID), "-a", "--", "/usr/bin/env", "-i"}, guestEnv...)
	cmd := command(ctx, "nsenter", append(args, argv...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), errb.Bytes(), fmt.Errorf("%s: %s: %w%s", name, strings.Join(argv, " "), err, indentTail(errb.String(), 5))
	}
	return out.Bytes(), errb.Bytes(), nil
}

// CloudInitStatus is cloud-init's final state in a machine (`cloud-init status`).
type CloudInitStatus struct {
	Status string   `json:"status"` // done, error, disabled
	Errors []string `json:"errors"`
}

// MachineError is a machine that failed, with what a person needs to see why.
type MachineError struct {
	Machine string
	Problem string // one line
	Logs    string // the tail of cloud-init's output and the failed units' journals
}

func (e *MachineError) Error() string { return "machine " + e.Machine + ": " + e.Problem }

// WaitCloudInit waits until cloud-init has finished in machine name and returns
// its status. A status other than done, or done with errors, is a *MachineError
// carrying the machine's logs (see Logs); so is a machine that stops meanwhile.
func WaitCloudInit(ctx context.Context, cfg Config, name string) (CloudInitStatus, error) {
	var st CloudInitStatus
	for {
		m, err := machine(cfg, name)
		if err != nil {
			return st, err
		}
		if !m.Running() {
			return st, &MachineError{name, "stopped while cloud-init ran", Logs(ctx, cfg, name)}
		}
		if m.LeaderPID != 0 {
			out, _, err := Exec(ctx, cfg, name, "cloud-init", "status", "--format", "json")
			// cloud-init status exits non-zero on error but still prints its JSON.
			if jerr := json.Unmarshal(out, &st); jerr == nil {
				switch st.Status {
				case "done", "disabled", "error":
					if st.Status == "done" && len(st.Errors) == 0 {
						return st, nil
					}
					problem := "cloud-init ended with status " + st.Status
					if len(st.Errors) > 0 {
						problem += ": " + strings.Join(st.Errors, "; ")
					}
					return st, &MachineError{name, problem, Logs(ctx, cfg, name)}
				}
			} else if ctx.Err() == nil && err == nil {
				return st, fmt.Errorf("machine %s: cloud-init status: %w: %q", name, jerr, out)
			}
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("machine %s: waiting for cloud-init (status %q): %w", name, st.Status, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// CloudInitPhase asks machine name's cloud-init how far it is, for a person watching: a
// machine that does not answer yet is "booting"; done once cloud-init finished without
// errors. A failed cloud-init is a *MachineError with the machine's logs.
func CloudInitPhase(ctx context.Context, cfg Config, name string) (phase string, done bool, err error) {
	out, _, xerr := Exec(ctx, cfg, name, "cloud-init", "status", "--format", "json")
	var st CloudInitStatus
	// cloud-init status exits non-zero on error, and still prints its JSON.
	if jerr := json.Unmarshal(out, &st); jerr != nil || st.Status == "" {
		if xerr != nil {
			return "booting", false, nil
		}
		return "cloud-init starting", false, nil
	}
	switch st.Status {
	case "done":
		if len(st.Errors) == 0 {
			return "cloud-init done", true, nil
		}
	case "error", "disabled":
	default:
		if cfg.waitsForSecrets(name) {
			return "cloud-init waiting for the node's secrets in Lockbox", false, nil
		}
		return "cloud-init " + st.Status, false, nil
	}
	problem := "cloud-init ended with status " + st.Status
	if len(st.Errors) > 0 {
		problem += ": " + strings.Join(st.Errors, "; ")
	}
	// The logs are wanted even when ctx is what ended the wait.
	logCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return "", false, &MachineError{Machine: name, Problem: problem, Logs: Logs(logCtx, cfg, name)}
}

// secretsWaitLine starts the line the secrets' fill (emit/cloudinit's secrets.py) logs while
// the Lockbox secret has no version for the node to read.
const secretsWaitLine = "pghac-secrets: waiting for Lockbox secret "

// waitsForSecrets reports whether machine name's boot waits for its secrets: the last line of
// its cloud-init output is the fill's waiting line.
func (c Config) waitsForSecrets(name string) bool {
	out, err := os.ReadFile(filepath.Join(c.machineDir(name), upperDir, "var/log/cloud-init-output.log"))
	if err != nil {
		return false
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.HasPrefix(lines[len(lines)-1], secretsWaitLine)
}

// Logs returns what explains a machine's failure: the tail of
// /var/log/cloud-init-output.log and, while it runs, the journal of each failed
// unit. It reads the overlay's upper dir when the machine is down.
func Logs(ctx context.Context, cfg Config, name string) string {
	var b strings.Builder
	m, err := machine(cfg, name)
	if err != nil {
		return err.Error()
	}
	out, err := os.ReadFile(filepath.Join(cfg.machineDir(name), upperDir, "var/log/cloud-init-output.log"))
	if err == nil {
		fmt.Fprintf(&b, "== /var/log/cloud-init-output.log (last 40 lines)%s\n", indentTail(string(out), 40))
	}
	if m.LeaderPID == 0 {
		console, _ := os.ReadFile(filepath.Join(cfg.machineDir(name), consoleFile))
		fmt.Fprintf(&b, "== console (last 20 lines)%s\n", indentTail(string(console), 20))
		return b.String()
	}
	failed, _, _ := Exec(ctx, cfg, name, "systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager")
	for _, line := range strings.Split(string(failed), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		j, _, _ := Exec(ctx, cfg, name, "journalctl", "-u", f[0], "-n", "20", "--no-pager", "-o", "short-monotonic")
		fmt.Fprintf(&b, "== failed unit %s (journal, last 20 lines)%s\n", f[0], indentTail(string(j), 20))
	}
	return b.String()
}
