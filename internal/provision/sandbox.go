package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/sandboxtf"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/remote"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
)

// Sandbox is the local target's cluster as its Terraform runs it: the machines are
// terraform_data resources whose provisioners start and stop them through pghac.
type Sandbox struct {
	Fleet
	Config sandbox.Config
	Binary infra.Binary
	// Exe is the pghac binary the provisioners run.
	Exe string
	// Stdout gets Terraform's output.
	Stdout io.Writer
}

// Prepare writes what every run of the sandbox's Terraform reads besides the secrets: the
// paths of pghac, the state and the image cache.
func (sb *Sandbox) Prepare() error { return sb.Site.WritePaths(sb.Exe) }

// VarFiles are the var files of a run: the paths, the operator key (when made), and with
// backend the backend binary's location. The secrets are none of Terraform's: the machines
// read them from the sandbox's Lockbox (SyncSecrets).
func (sb *Sandbox) VarFiles(backend bool) []string {
	files := []string{sb.Site.Paths()}
	if sb.Site.HasOperatorKey() {
		files = append(files, sb.Site.OperatorVars())
	}
	if backend {
		files = append(files, sb.Site.BackendVars())
	}
	return files
}

// Open opens the sandbox's Terraform working directory for a run with varFiles.
func (sb *Sandbox) Open(varFiles []string) (*Run, error) {
	return Open(sb.Site, sb.Binary, varFiles, sb.Stdout)
}

// Stale returns the machines that have a disk but do not run (the host rebooted, pghac down
// stopped them): Terraform's state says they run, so it would see nothing to do. Nodes new
// in the cluster file have no machine yet and are not stale. None without a state.
func (sb *Sandbox) Stale() ([]string, error) {
	if _, err := os.Stat(sb.Site.StateFile()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	ms, err := sandbox.Machines(sb.Config)
	if err != nil {
		return nil, err
	}
	var stopped []string
	for _, m := range ms {
		if !m.Running() {
			stopped = append(stopped, m.Name)
		}
	}
	return stopped, nil
}

// Teardown destroys what Terraform's state holds, then removes whatever is left (an
// interrupted run may have started more than the state knows), and forgets the state and the
// machines' host keys. A failed destroy is returned as destroyErr and does not stop the
// cleanup; err is what kept the sandbox from being removed.
func (sb *Sandbox) Teardown(ctx context.Context) (destroyErr, err error) {
	if _, err := os.Stat(sb.Site.StateFile()); err == nil {
		destroyErr = sb.destroy(ctx)
	}
	if err := sandbox.Cleanup(ctx, sb.Config); err != nil {
		return destroyErr, fmt.Errorf("cleanup: %w", err)
	}
	// Nothing runs any more: a state saying otherwise would make the next up do nothing, and
	// the pinned host keys belong to machines that are gone (the next ones have new keys).
	for _, f := range []string{sb.Site.StateFile(), sb.Site.StateFile() + ".backup", sb.Site.KnownHosts()} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return destroyErr, err
		}
	}
	return destroyErr, nil
}

// Stop shuts every machine down, keeping its disk, then the network and the apt proxy:
// Terraform's state still has them, and the next up starts them again as they were
// (StartAgain). It returns the machines whose disks are kept; with a machine that would not
// stop, the network stays up for it.
func (sb *Sandbox) Stop(ctx context.Context) ([]string, error) {
	ms, err := sandbox.Machines(sb.Config)
	if err != nil {
		return nil, err
	}
	// All at once, as a host shuts down: one by one, the last ones would wait on an etcd that
	// lost its quorum when the first ones went.
	errs := make([]error, len(ms))
	cfg := sb.Config
	if cfg.Log != nil {
		cfg.Log = &lockedWriter{w: cfg.Log}
	}
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { errs[i] = sandbox.Stop(cfg, m.Name) })
	}
	wg.Wait()
	var kept []string
	for i, m := range ms {
		if errs[i] == nil {
			kept = append(kept, m.Name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return kept, err
	}
	return kept, sandbox.NetworkDown(ctx, sb.Config)
}

// lockedWriter lets goroutines share a writer, one Write at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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

// NewSandbox is the sandbox of cl in s, its Terraform run by bin, its provisioners running
// this very binary. Progress goes to out.
func NewSandbox(s site.Site, cl *model.Cluster, bin infra.Binary, out io.Writer) (*Sandbox, error) {
	exe, err := Executable()
	if err != nil {
		return nil, err
	}
	sb := &Sandbox{Fleet: Fleet{Site: s, Cluster: cl}, Config: SandboxConfig(s, cl, out), Binary: bin, Exe: exe, Stdout: out}
	sb.Fleet.SyncSecrets = func(ctx context.Context) error {
		_, _, _, _, err := sb.SyncSecrets(ctx)
		return err
	}
	return sb, nil
}

// SandboxConfig is the internal/sandbox Config of cl in s.
func SandboxConfig(s site.Site, cl *model.Cluster, log io.Writer) sandbox.Config {
	return sandbox.Config{
		StateDir: s.Dir,
		CacheDir: s.CacheDir,
		Bridge:   cl.Sandbox.Bridge,
		CIDR:     cl.Sandbox.CIDR,
		Packages: cl.OS.Packages,
		Log:      log,
	}
}

// SandboxPatroni is a client of the running sandbox's Patroni REST APIs, with the password
// from its secrets, which it returns too. It fails when the sandbox has no secrets or no
// running machine: Patroni's addresses lead nowhere then.
func SandboxPatroni(s site.Site, cl *model.Cluster) (*patroni.Client, map[string]string, error) {
	if err := CanReach(s); err != nil {
		return nil, nil, err
	}
	ms, err := sandbox.Machines(SandboxConfig(s, cl, nil))
	if err != nil {
		return nil, nil, err
	}
	if !slices.ContainsFunc(ms, sandbox.Machine.Running) {
		return nil, nil, errors.New("the sandbox is not running: start it with 'pghac up'")
	}
	return patroniClient(s, cl)
}

// ServeBackend serves the backend binary the machines download until ctx ends, and writes
// the var file that tells their user-data where it is and what its checksum is. The binary is
// flag, else pghac-backend beside pghac, else on PATH. A failure to serve goes to onErr.
func (sb *Sandbox) ServeBackend(ctx context.Context, flag string, onErr func(error)) error {
	bin, err := BackendBuild(sb.Exe, flag)
	if err != nil {
		return fmt.Errorf("%w (or pass --backend PATH)", err)
	}
	a, err := sandbox.NewArtifact(sb.Config, bin, "pghac-backend")
	if err != nil {
		return fmt.Errorf("backend binary: %w", err)
	}
	if err := sb.Site.WriteBackendVars(a.URL, a.SHA256); err != nil {
		return err
	}
	go func() {
		if err := a.Serve(ctx); err != nil {
			onErr(err)
		}
	}()
	return nil
}

// WaitUp waits until the cluster is healthy (health.Prober.WaitUp), following each machine's
// boot through cloud-init; show gets every node's phase as it changes. The problems of the
// nodes in except are overlooked once all have booted.
func (sb *Sandbox) WaitUp(ctx context.Context, show func(node, phase string), except []string) (health.Report, error) {
	boot := func(ctx context.Context, node string) (string, bool, error) {
		return sandbox.CloudInitPhase(ctx, sb.Config, node)
	}
	p, err := Prober(sb.Site, sb.Cluster, 0)
	if err != nil {
		return health.Report{}, err
	}
	return p.WaitUp(ctx, boot, show, except)
}

// UnhealthyLogs returns the logs of every node st finds a problem with.
func (sb *Sandbox) UnhealthyLogs(st health.Report) []Log {
	var logs []Log
	for _, n := range sb.Cluster.Nodes {
		if !slices.ContainsFunc(st.Problems, func(p string) bool { return strings.HasPrefix(p, n.Name+":") }) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		logs = append(logs, Log{Title: "node " + n.Name, Text: sb.NodeLogs(ctx, n.Name)})
		cancel()
	}
	return logs
}

// StartAgain boots the stopped machines names again with their disks (sandbox.Start), the
// network first: after a host reboot Terraform's state says they run, and neither it nor a
// rebuild may lose their data.
func (sb *Sandbox) StartAgain(ctx context.Context, names []string) error {
	if err := sandbox.NetworkUp(ctx, sb.Config); err != nil {
		return err
	}
	for _, n := range names {
		if err := sandbox.Start(ctx, sb.Config, n); err != nil {
			return err
		}
	}
	return nil
}

// StandInJumpHost starts the sandbox's stand-in for the cluster's jump host (network.jump_host:
// an sshd on the bridge that lets the operator key forward TCP) and pins its host key, or
// stops one left from before when the cluster has no jump host. Before the network exists
// there is nothing to do: call it again once Terraform made it.
func (sb *Sandbox) StandInJumpHost(ctx context.Context) error {
	j := sb.Cluster.Network.JumpHost
	if j == nil {
		return sandbox.JumpDown(sb.Config)
	}
	if !sandbox.NetworkRunning(sb.Config) {
		return nil
	}
	signer, err := remote.LoadOperatorKey(sb.Site.OperatorKey())
	if err != nil {
		return fmt.Errorf("the operator key: %w", err)
	}
	authorized := remote.AuthorizedKey(signer.PublicKey(), "pghac-operator@"+string(sb.Site.Target))
	hostKey, err := sandbox.JumpUp(ctx, sb.Config, sandbox.JumpHost{Port: uint16(j.Port), User: j.User, AuthorizedKeys: []byte(authorized)})
	if err != nil {
		return err
	}
	return remote.NewHostKeys(sb.Site.KnownHosts()).Pin(j.Addr(), hostKey)
}

// PrepareS3 gets the sandbox's S3 server ready for the cluster's backups (sandbox.S3Prepare:
// its binary built once per host, the bucket and the site's key pair recorded), and starts
// it when the network runs already; the network's way up starts it otherwise. A cluster
// without backups stops one left from before.
func (sb *Sandbox) PrepareS3(ctx context.Context) error {
	b := sb.Cluster.Backup
	if b == nil {
		return sandbox.S3Forget(sb.Config)
	}
	vars, err := sb.Site.ReadSecrets()
	if err != nil {
		return err
	}
	s := sandbox.S3{Bucket: b.Bucket, AccessKey: vars[string(model.SecretBackupAccessKey)], SecretKey: vars[string(model.SecretBackupSecretKey)]}
	if err := sandbox.S3Prepare(ctx, sb.Config, s); err != nil {
		return fmt.Errorf("the sandbox's S3 server: %w", err)
	}
	if !sandbox.NetworkRunning(sb.Config) {
		return nil
	}
	if err := sandbox.S3Up(ctx, sb.Config, s); err != nil {
		return fmt.Errorf("the sandbox's S3 server: %w", err)
	}
	running, err := sb.RunningNodes()
	if err != nil {
		return err
	}
	for _, n := range running {
		if err := sandbox.TrustS3CA(ctx, sb.Config, n); err != nil {
			return fmt.Errorf("the sandbox's S3 server: %w", err)
		}
	}
	return nil
}

// SyncSecrets makes the sandbox's Lockbox secret hold the site's secrets, which every machine
// reads at its first boot, starting the cloud API that serves it when it does not run. Before
// the network exists it does nothing (ok false): its way up starts the cloud API, and the
// machines it boots wait for the secret's version until SyncSecrets runs again.
func (sb *Sandbox) SyncSecrets(ctx context.Context) (secretID, version string, added, ok bool, err error) {
	if !sandbox.NetworkRunning(sb.Config) {
		return "", "", false, false, nil
	}
	if err := sandbox.CloudAPIUp(ctx, sb.Config, CloudAPIArgv(sb.Exe, sb.Config)); err != nil {
		return "", "", false, false, err
	}
	values, err := SecretValues(sb.Site, sb.Cluster)
	if err != nil {
		return "", "", false, false, err
	}
	client, err := sandbox.LockboxClient(sb.Config)
	if err != nil {
		return "", "", false, false, err
	}
	st := SecretStore{Client: client, SecretID: model.SandboxSecretID(sb.Cluster.Name)}
	version, added, err = PushSecrets(ctx, st, values)
	return st.SecretID, version, added, err == nil, err
}

// ReplaceMachine replaces node's machine and nothing else: a plan targeted at it (given to
// show first), the old machine's pinned host key forgotten, the plan applied. It refuses a
// plan that would lose another node's data. The new machine joins the running cluster by
// itself (etcd's boot script, Patroni's replica bootstrap); waiting for that, and moving the
// leadership away first, is the rollout engine's (rollout.Replace).
func (sb *Sandbox) ReplaceMachine(ctx context.Context, node string, show func(*infra.Plan)) error {
	if !sb.Cluster.HasNode(node) {
		return fmt.Errorf("no node %q to replace: the nodes are %s", node, strings.Join(sb.Cluster.NodeNames(), ", "))
	}
	r, err := sb.Open(sb.VarFiles(sb.Cluster.Backend != nil))
	if err != nil {
		return err
	}
	p, _, err := r.PlanReplace(ctx, model.TargetSandbox, node)
	if err != nil {
		return err
	}
	if show != nil {
		show(p)
	}
	for _, l := range DataLosses(p, sb.Cluster.NodeNames()) {
		if l.Node != node {
			r.ClearPlan()
			return fmt.Errorf("replacing %s's machine would also lose %s's data (%s): nothing was changed", node, l.Node, l.Change.Address)
		}
	}
	if err := sb.ForgetHostKey(node); err != nil {
		r.ClearPlan()
		return err
	}
	return r.Apply(ctx)
}

// RemoveMachine stops node's machine and removes it with its disk, and unpins its host key:
// a node taken out of the cluster file, whose Terraform resource is gone with its destroy-time
// provisioner (Terraform runs those only for resources still in the configuration), so that
// the apply after only forgets it. Leadership and etcd membership are the rollout engine's
// (rollout.Remove), before. No machine by that name is no error: a resumed removal.
func (sb *Sandbox) RemoveMachine(ctx context.Context, node string) error {
	ms, err := sandbox.Machines(sb.Config)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ms, func(m sandbox.Machine) bool { return m.Name == node })
	if i < 0 {
		return nil
	}
	if err := sb.forgetHostKey(ms[i].Address); err != nil {
		return err
	}
	return sandbox.MachineDown(ctx, sb.Config, node)
}

// Dialer reaches the cluster's nodes, and the running machines of nodes that cluster.hcl no
// longer has (the nodes a scale-in takes out).
func (sb *Sandbox) Dialer() (rollout.Dialer, error) {
	nodes, err := NewNodes(sb.Site, sb.Cluster)
	if err != nil {
		return nil, err
	}
	ms, err := sandbox.Machines(sb.Config)
	if err != nil {
		return nil, err
	}
	nodes.leaving = map[string]netip.Addr{}
	for _, m := range ms {
		if m.Running() && !slices.Contains(sb.Cluster.NodeNames(), m.Name) {
			nodes.leaving[m.Name] = m.Address
		}
	}
	return nodes.dialer(), nil
}

// RunningNodes are the machines that run, by node name: the ones that hold data, those of
// nodes taken out of the cluster file included.
func (sb *Sandbox) RunningNodes() ([]string, error) {
	ms, err := sandbox.Machines(sb.Config)
	if err != nil {
		return nil, err
	}
	running := []string{} // not nil: DataLosses counts every VM for nil
	for _, m := range ms {
		// Every machine counts, those of nodes taken out of the cluster file too.
		if m.Running() {
			running = append(running, m.Name)
		}
	}
	return running, nil
}

// LiveRunning is Live of the running machines only: what a change does to them before
// Terraform has made the machines of nodes new in cluster.hcl. Empty when none runs.
func (sb *Sandbox) LiveRunning(ctx context.Context) (rollout.Live, error) {
	running, err := sb.RunningNodes()
	if err != nil || len(running) == 0 {
		return rollout.Live{}, err
	}
	l, _, _, err := sb.live(ctx, running)
	return l, err
}

// Unsafe are the changes of the generated tree no rollout can carry to the running machines
// (rollout.Live's Unsafe); none when no machine runs or the survey fails (the rollout's own
// survey reports that).
func (sb *Sandbox) Unsafe(ctx context.Context) []string {
	l, err := sb.LiveRunning(ctx)
	if err != nil {
		return nil
	}
	return l.Unsafe
}
