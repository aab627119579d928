package realcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// patroniHostVerdicts are the problems `patroni --validate-config` finds with the machine it
// runs on rather than with the file, each as a configuration path prefix and a substring of the
// message (Patroni 3.0's validator.py). On a build host the node's addresses are unknown or
// unreachable, or, as on this VM, every outbound connect succeeds and a listen address reads as
// "in use"; the PostgreSQL version a config names may not be installed.
var patroniHostVerdicts = []struct{ path, msg string }{
	{"", "is already in use."}, // listen addresses: something answered on the port
	{"", " is not reachable"},  // etcd hosts and other connect addresses
	{"", "[Errno "},            // name resolution and other OS errors
	{"postgresql.bin_dir ", "does not exist."},
	{"postgresql.bin_dir ", "does not contain"},
	{"postgresql.data_dir ", "doesn't look like a valid data directory"},
	{"postgresql.data_dir ", "is not empty, but doesn't contain"},
	{"postgresql.data_dir ", "doesn't match with 'postgres --version'"},
}

// Patroni checks the Patroni configuration at path with the installed Patroni
// (`patroni --validate-config path`). Verdicts about the build host (see patroniHostVerdicts)
// are dropped; the error lists every other line Patroni printed. Note that the validator does
// not flag unknown keys or bad values inside postgresql.parameters: the proof of a config is
// Patroni starting with it.
func Patroni(ctx context.Context, path string) error {
	// Patroni treats a missing file as an empty config and lists every section as undefined.
	if _, err := os.Stat(path); err != nil {
		return err
	}
	bin, err := exec.LookPath("patroni")
	if err != nil {
		return fmt.Errorf("patroni is not installed: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "--validate-config", path)
	// A fixed environment: Patroni reads PATRONI_* variables into the config it validates.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	out, runErr := cmd.CombinedOutput()
	if runErr == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if !errors.As(runErr, &exitErr) {
		return fmt.Errorf("patroni --validate-config: %w", runErr)
	}
	var problems, dropped []string
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
		case isPatroniHostVerdict(line):
			dropped = append(dropped, line)
		default:
			problems = append(problems, line)
		}
	}
	if len(problems) == 0 && len(dropped) > 0 {
		return nil
	}
	return fmt.Errorf("patroni --validate-config %s: %w:\n%s", path, runErr, strings.Join(problems, "\n"))
}

func isPatroniHostVerdict(line string) bool {
	for _, v := range patroniHostVerdicts {
		if strings.HasPrefix(line, v.path) && strings.Contains(line, v.msg) {
			return true
		}
	}
	return false
}
