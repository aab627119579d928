package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/sandboxtf"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
)

// Sandbox is the local target's cluster as its Terraform runs it: the machines are
// terraform_data resources whose provisioners start and stop them through pghac.
type Sandbox struct {
	Site    site.Site
	Cluster *model.Cluster
	Config  sandbox.Config
	Binary  infra.Binary
	// Exe is the pghac binary the provisioners run.
	Exe string
	// Stdout gets Terraform's output.
	Stdout io.Writer
}

// Prepare writes what every run of the sandbox's Terraform reads besides the secrets: the
// paths of pghac, the state and the image cache.
func (sb *Sandbox) Prepare() error { return sb.Site.WritePaths(sb.Exe) }

// VarFiles are the var files of a run: the secrets (when there are any yet), the paths, and
// with backend the backend binary's location.
func (sb *Sandbox) VarFiles(backend bool) []string {
	var files []string
	if sb.Site.HasSecrets() {
		files = append(files, sb.Site.Secrets())
	}
	files = append(files, sb.Site.Paths())
	if backend {
		files = append(files, sb.Site.BackendVars())
	}
	return files
}

// Open opens the sandbox's Terraform working directory for a run with varFiles, whose secret
// values infra keeps out of every message.
func (sb *Sandbox) Open(varFiles []string) (*infra.Workdir, error) {
	secrets, err := site.SecretValues(varFiles)
	if err != nil {
		return nil, err
	}
	return infra.Open(infra.Options{Binary: sb.Binary, Dir: sb.Site.Work(), Stdout: sb.Stdout, Secrets: secrets})
}

// Stale returns the nodes that Terraform's state says run but do not (the host rebooted, or
// someone stopped them): Terraform would see nothing to do. None without a state.
func (sb *Sandbox) Stale() ([]string, error) {
	if _, err := os.Stat(sb.Site.StateFile()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	ms, err := sandbox.Machines(sb.Config)
	if err != nil {
		return nil, err
	}
	running := map[string]bool{}
	for _, m := range ms {
		running[m.Name] = m.Running()
	}
	var missing []string
	for _, n := range sb.Cluster.Nodes {
		if !running[n.Name] {
			missing = append(missing, n.Name)
		}
	}
	return missing, nil
}

// Teardown destroys what Terraform's state holds, then removes whatever is left (an
// interrupted run may have started more than the state knows), and forgets the state. A
// failed destroy is returned as destroyErr and does not stop the cleanup; err is what kept
// the sandbox from being removed.
func (sb *Sandbox) Teardown(ctx context.Context) (destroyErr, err error) {
	if _, err := os.Stat(sb.Site.StateFile()); err == nil {
		destroyErr = sb.destroy(ctx)
	}
	if err := sandbox.Cleanup(ctx, sb.Config); err != nil {
		return destroyErr, fmt.Errorf("cleanup: %w", err)
	}
	// Nothing runs any more: a state saying otherwise would make the next up do nothing.
	for _, f := range []string{sb.Site.StateFile(), sb.Site.StateFile() + ".backup"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return destroyErr, err
		}
	}
	return destroyErr, nil
}

func (sb *Sandbox) destroy(ctx context.Context) error {
	if err := sb.Prepare(); err != nil {
		return err
	}
	varFiles := sb.VarFiles(false)
	w, err := sb.Open(varFiles)
	if err != nil {
		return err
	}
	if err := w.Stage(sb.Site.Deploy); err != nil {
		return err
	}
	if err := w.Init(ctx); err != nil {
		return err
	}
	_, err = w.Destroy(ctx, varFiles)
	return err
}

// Log is one log that explains a failure.
type Log struct {
	Title string // what it is, e.g. "machine-up node1 (.pghac/sandbox/provisioners/node1.machine-up.log)"
	Text  string
}

// FailedProvisioners returns the logs of the start-up provisioners (the network's and each
// machine's) that did not finish: Terraform hides the output of those that handle secrets.
func (sb *Sandbox) FailedProvisioners() []Log {
	objects := []string{sb.Cluster.Sandbox.Bridge}
	for _, n := range sb.Cluster.Nodes {
		objects = append(objects, n.Name)
	}
	var logs []Log
	for _, o := range objects {
		for _, a := range []string{sandboxtf.NetUp, sandboxtf.MachineUp} {
			path := sb.Site.ProvisionerLog(o, a)
			b, err := os.ReadFile(path)
			if err != nil || strings.HasSuffix(strings.TrimSpace(string(b)), ": done") {
				continue
			}
			logs = append(logs, Log{Title: fmt.Sprintf("%s %s (%s)", a, o, path), Text: string(b)})
		}
	}
	return logs
}

// nodeUnits are the units whose journals explain a node that is not healthy.
var nodeUnits = []string{"etcd", "patroni", "pgbouncer", "haproxy"}

// NodeLogs returns what explains why node is not healthy: its machine's logs (see
// sandbox.Logs) and the tail of each service's journal.
func (sb *Sandbox) NodeLogs(ctx context.Context, node string) string {
	logs := sandbox.Logs(ctx, sb.Config, node)
	for _, unit := range nodeUnits {
		out, _, _ := sandbox.Exec(ctx, sb.Config, node, "journalctl", "-u", unit, "-n", "15", "--no-pager", "-o", "short-monotonic")
		logs += fmt.Sprintf("== %s (journal, last 15 lines)\n%s", unit, Indent(string(out)))
	}
	return logs
}

// Indent indents every line of s by two spaces; "" stays "".
func Indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

// Tail is the last n lines of s, indented.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return Indent(strings.Join(lines, "\n"))
}
