package realcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pghac/pghac/compiler/model"
)

// HAProxy checks the HAProxy configuration at path with the installed HAProxy
// (`haproxy -c -f path`). The check resolves server addresses but binds nothing, so the node's
// addresses are fine on any host. Warnings fail the check too: HAProxy starts despite them, but
// each one is something pghac did not mean to emit.
//
// HAProxy expands ${VAR} from its environment, and an unset one to nothing: an unrendered
// `stats auth stats:${haproxy_stats_password}` passes as an empty password. So a file with a
// placeholder left is an error (Render it first), and HAProxy runs with an empty environment.
func HAProxy(ctx context.Context, path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if i := bytes.Index(src, []byte("${")); i >= 0 {
		return fmt.Errorf("%s:%d: unrendered placeholder: Render the file before checking it",
			path, bytes.Count(src[:i], []byte("\n"))+1)
	}
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return fmt.Errorf("haproxy is not installed: %w", err)
	}
	// The check reads a copy, with what a node has by then under a temporary directory: a
	// server-state-file (the boot writes an empty one, "1"; HAProxy warns about a missing
	// file) and the cluster's TLS files (HAProxy loads a bind's certificate).
	dir, err := os.MkdirTemp("", "realcheck-haproxy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if m := stateFileRE.FindSubmatch(src); m != nil {
		state := filepath.Join(dir, "server-state")
		if err := os.WriteFile(state, []byte("1\n"), 0o600); err != nil {
			return err
		}
		src = bytes.Replace(src, m[0], []byte("server-state-file "+state), 1)
	}
	if bytes.Contains(src, []byte(model.TLSDir)) {
		tls, err := WriteTLS(dir, model.Node{Name: "node", Address: netip.MustParseAddr("127.0.0.1")})
		if err != nil {
			return err
		}
		src = tls.Paths(src)
	}
	path = filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(path, src, 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "-c", "-f", path)
	cmd.Env = []string{}
	out, runErr := cmd.CombinedOutput()
	if runErr != nil {
		var exitErr *exec.ExitError
		if !errors.As(runErr, &exitErr) {
			return fmt.Errorf("haproxy -c: %w", runErr)
		}
		return fmt.Errorf("haproxy -c -f %s: %w:\n%s", path, runErr, strings.TrimSpace(string(out)))
	}
	if warnings := haproxyWarnings(string(out)); len(warnings) > 0 {
		return fmt.Errorf("haproxy -c -f %s: warnings:\n%s", path, strings.Join(warnings, "\n"))
	}
	return nil
}

var stateFileRE = regexp.MustCompile(`server-state-file (\S+)`)

func haproxyWarnings(out string) []string {
	var w []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "[WARNING]") {
			w = append(w, strings.TrimSpace(line))
		}
	}
	return w
}
