package realcheck

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// CloudInitKeys are the top-level user-data keys pghac emits, each one known (and not
// deprecated) in cloud-init 22.4. CloudInit rejects any other key, because that cloud-init
// accepts unknown keys silently and a misspelt key would just be ignored on the node.
var CloudInitKeys = []string{
	"final_message",
	"hostname",
	"locale",
	"manage_etc_hosts",
	"package_update",
	"packages",
	"runcmd",
	"timezone",
	"write_files",
}

// CloudInit checks the user-data file at path with the installed cloud-init
// (`cloud-init schema -c path`) and against CloudInitKeys. It succeeds only when cloud-init
// printed `Valid cloud-config: path`: without python3-jsonschema, cloud-init skips the check
// and still exits 0. The error carries cloud-init's output.
func CloudInit(ctx context.Context, path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "cloud-init", "schema", "-c", path)
	// A fixed environment: the caller's locale or Python variables must not change the verdict.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	out, runErr := cmd.CombinedOutput()
	if runErr != nil {
		var exitErr *exec.ExitError
		if !errors.As(runErr, &exitErr) {
			return fmt.Errorf("cloud-init schema: %w", runErr)
		}
		return fmt.Errorf("cloud-init schema -c %s: %w:\n%s", path, runErr, bytes.TrimSpace(out))
	}
	if !hasLine(out, "Valid cloud-config: "+path) {
		return fmt.Errorf("cloud-init schema -c %s did not validate (is python3-jsonschema installed?):\n%s",
			path, bytes.TrimSpace(out))
	}
	return checkCloudInitKeys(src)
}

func hasLine(out []byte, want string) bool {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == want {
			return true
		}
	}
	return false
}

// checkCloudInitKeys reports every top-level key of src that is not in CloudInitKeys.
func checkCloudInitKeys(src []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("user-data: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("user-data: want one YAML mapping")
	}
	var unknown []string
	m := doc.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		k := m.Content[i]
		if !slices.Contains(CloudInitKeys, k.Value) {
			unknown = append(unknown, fmt.Sprintf("%q (line %d)", k.Value, k.Line))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("user-data: unknown top-level keys: %s", strings.Join(unknown, ", "))
	}
	return nil
}
