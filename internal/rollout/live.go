package rollout

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/remote"
)

// Conn is a connection to one node: *remote.Client is one.
type Conn interface {
	FileReader
	WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode, owner string) error
	Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error)
	Close() error
}

// Dialer connects to a node by name.
type Dialer func(ctx context.Context, node string) (Conn, error)

// Live is what a change to the generated tree needs on the running cluster: per node the
// managed files that differ and what makes them take effect, and the dynamic configuration's
// settings that differ, with whether PostgreSQL must restart for them.
type Live struct {
	Nodes    []NodePlan
	Settings []Setting
	Restart  bool
	// PostBootstrap is the post_bootstrap script's new content when any node's differs (roles
	// or databases added, a password rotated), and PostBootstrapArg its argument: the local
	// superuser connection. Written to each node like any file (nothing to reload), it runs
	// once, through the leader, before any node changes (Apply).
	PostBootstrap    []byte
	PostBootstrapArg string
	// Broken are the nodes with problems before the rollout, by the caller's health check (a
	// rollout that stopped after breaking a node, a hand edit): Apply changes them first, and
	// overlooks their problems until it has. It refuses when the change does not touch one.
	Broken []string
	// Joining are nodes new to the cluster (a scale out), booted before the rollout: they can
	// copy the data only once the others admit their address (pg_hba names each node's), which
	// is part of the rollout. Apply does not wait for their health until every node has its
	// change, then waits for them to join.
	Joining []string
	// Unsafe are the changes that cannot be rolled out to a running cluster, each naming its
	// node (a renamed cluster): Apply refuses l while there are any.
	Unsafe []string
	// secrets are the values Apply keeps out of its errors (psql's may quote a statement).
	secrets map[string]string
}

// Empty reports whether the cluster runs what the generated tree says.
func (l Live) Empty() bool {
	if len(l.Unsafe) > 0 {
		return false
	}
	for _, n := range l.Nodes {
		if len(n.Files) > 0 || n.Err != nil {
			return false
		}
	}
	return len(l.Settings) == 0
}

// Changes reports whether l changes node's files.
func (l Live) Changes(node string) bool {
	return slices.ContainsFunc(l.Nodes, func(n NodePlan) bool { return n.Node == node && len(n.Files) > 0 })
}

// Unreachable are the nodes that could not be surveyed.
func (l Live) Unreachable() []NodePlan {
	var out []NodePlan
	for _, n := range l.Nodes {
		if n.Err != nil {
			out = append(out, n)
		}
	}
	return out
}

// patroniConfig is where Patroni's configuration file is on every node, postBootstrapScript
// its post_bootstrap script (emit/patroni's ConfigPath and PostBootstrapPath).
const (
	patroniConfig       = "/etc/patroni/config.yml"
	postBootstrapScript = "/etc/patroni/post-bootstrap.sh"
	// pgbackrestConfig is pgBackRest's (emit/pgbackrest's ConfigPath).
	pgbackrestConfig = "/etc/pgbackrest/pgbackrest.conf"
	// etcd3FixScript is Patroni's backport (emit/patroni's Etcd3FixPath).
	etcd3FixScript = "/usr/local/lib/pghac/patroni-etcd3-fix.py"
	// backendInstallScript installs the backend's build (emit/backend's InstallPath).
	backendInstallScript = "/usr/local/lib/pghac/install-backend"
)

// contextsQuery lists every parameter's context, as the running PostgreSQL knows them.
const contextsQuery = `runuser -u postgres -- psql -XAt -c 'SELECT name, context FROM pg_settings'`

// Survey compares the running cluster with want, each node's managed files by node name:
// every node's files over dial, the dynamic configuration through pc against the one in the
// Patroni configuration of want, and the contexts of changed parameters from a node's
// PostgreSQL. A node that cannot be reached is in the plan with its error.
func Survey(ctx context.Context, want map[string][]File, dial Dialer, pc *patroni.Client, secrets map[string]string) (Live, error) {
	l := Live{secrets: secrets}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	var wantDCS map[string]any
	var contextsFrom Conn
	defer func() {
		if contextsFrom != nil {
			contextsFrom.Close()
		}
	}()
	for _, name := range names {
		for _, f := range want[name] {
			if f.Path == patroniConfig && wantDCS == nil {
				dcs, err := DCS(f.Content)
				if err != nil {
					return l, fmt.Errorf("%s: %w", name, err)
				}
				wantDCS = dcs
				if l.PostBootstrapArg, err = localSuperuser(f.Content); err != nil {
					return l, fmt.Errorf("%s: %w", name, err)
				}
			}
		}
		c, err := dial(ctx, name)
		if err != nil {
			l.Nodes = append(l.Nodes, NodePlan{Node: name, Err: err})
			continue
		}
		np := SurveyFiles(ctx, name, c, want[name], secrets)
		for _, f := range np.Files {
			if f.Path == postBootstrapScript {
				l.PostBootstrap = f.Content
			}
		}
		for _, f := range want[name] {
			if f.Path != patroniConfig || np.Err != nil {
				continue
			}
			if fc, ok, err := surveyPassfile(ctx, c, f.Content); err != nil {
				np.Err = err
			} else if ok {
				np.Files = append(np.Files, fc)
			}
			if slices.ContainsFunc(np.Files, func(fc FileChange) bool { return fc.Path == patroniConfig && fc.Kind == "changed" }) {
				have, err := c.ReadFiles(ctx, []string{patroniConfig})
				if err != nil {
					np.Err = err
				} else if why := identityChange(have[patroniConfig].Content, f.Content); why != "" {
					l.Unsafe = append(l.Unsafe, name+": "+why)
				}
			}
		}
		l.Nodes = append(l.Nodes, np)
		if contextsFrom == nil {
			contextsFrom = c
		} else {
			c.Close()
		}
	}
	if wantDCS == nil {
		return l, nil
	}
	have, err := pc.Config(ctx)
	if err != nil {
		return l, &UnreachableError{Err: err}
	}
	l.Settings = DiffDCS(have, wantDCS)
	if len(l.Settings) > 0 {
		if contextsFrom == nil {
			return l, fmt.Errorf("no node answers to tell which of the changed settings need a restart")
		}
		out, err := contextsFrom.Run(ctx, contextsQuery, nil)
		if err != nil {
			return l, fmt.Errorf("reading pg_settings: %w", err)
		}
		l.Restart = NeedsRestart(l.Settings, ParseContexts(out))
	}
	return l, nil
}

// actionCommands are the commands that carry out the actions on a node.
var actionCommands = map[Action]string{
	ActionDaemonReload:    "systemctl daemon-reload",
	ActionReloadPatroni:   reloadOrStart("patroni"),
	ActionReloadPgBouncer: reloadOrStart("pgbouncer"),
	ActionReloadHAProxy:   reloadOrStart("haproxy"),
	ActionRestartEtcd:     "systemctl restart etcd",
	ActionRestartBackend:  "systemctl restart pghac-backend",
	// A cluster without a backend has no unit; one that does not run reads the file at start.
	ActionReloadBackend:    "if systemctl is-active -q pghac-backend; then systemctl reload pghac-backend; fi",
	ActionInstallBackend:   backendInstallScript,
	ActionRestartPgBouncer: "systemctl restart pgbouncer",
	ActionInstallPgBackRest: "command -v pgbackrest >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbackrest; }; " +
		"install -d -o postgres -g postgres -m 0750 /var/spool/pgbackrest /var/log/pgbackrest",
	ActionStartBackupTimers: "cd /etc/systemd/system && systemctl enable --now pghac-backup-*.timer",
	ActionHoldPatroni:       "apt-mark hold patroni",
	// A PostgreSQL that does not run reads the files when Patroni starts it.
	ActionReloadPostgres: "if runuser -u postgres -- pg_isready -q; then runuser -u postgres -- psql -XAtq -c 'SELECT pg_reload_conf()'; fi",
}

// reloadOrStart reloads unit, or starts it when it does not run: the change may be what mends
// it (a file a hand edit or an earlier change broke). A unit that failed to start again and
// again (HAProxy's Restart=always against a bad configuration) is past systemd's start limit
// for a while: reset-failed lifts it.
func reloadOrStart(unit string) string {
	return "systemctl reset-failed " + unit + " 2>/dev/null; systemctl reload-or-restart " + unit
}

// Applied is what Apply did: the nodes changed, the dynamic configuration, and how long it took.
type Applied struct {
	Nodes      []string // nodes changed, in order
	Configured Configured
	Took       time.Duration
}

// Healthy waits until the cluster is healthy (the caller's definition, with everything pghac
// checks) but for problems of the nodes in except.
type Healthy func(ctx context.Context, except []string) error

// Apply carries out l, stopping at the first failure with the cluster serving: the nodes one
// at a time, the broken ones first (l.Broken), then the replicas and the leader last, each
// getting its files and running their actions, then waiting for healthy but for the broken
// nodes not changed yet; then the dynamic configuration (ApplyDCS). Nodes l could not
// survey, or broken nodes it does not change, stop it before anything changes.
func Apply(ctx context.Context, l Live, dial Dialer, pc *patroni.Client, healthy Healthy, timeout time.Duration, log func(string)) (Applied, error) {
	start := time.Now()
	var done Applied
	if bad := l.Unreachable(); len(bad) > 0 {
		return done, fmt.Errorf("node %s could not be surveyed (%v): nothing was changed", bad[0].Node, bad[0].Err)
	}
	if len(l.Unsafe) > 0 {
		return done, fmt.Errorf("%s; nothing was changed", strings.Join(l.Unsafe, "; "))
	}
	for _, b := range l.Broken {
		if !l.Changes(b) {
			return done, fmt.Errorf("%s has problems, and the change leaves it as it is: mend it, or replace its machine (--replace %s), first; nothing was changed", b, b)
		}
	}
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return done, &UnreachableError{Err: err}
	}
	leader, _ := cl.Leader()
	if l.PostBootstrap != nil {
		if err := runPostBootstrap(ctx, l, dial, leader.Name); err != nil {
			return done, err
		}
		log(fmt.Sprintf("%s: ran the new post-bootstrap.sh (roles, databases, passwords)", leader.Name))
	}
	order := applyOrder(l.Nodes, l.Broken, leader.Name)
	for i, n := range order {
		if err := applyNode(ctx, n, dial, log); err != nil {
			return done, err
		}
		var pending []string // broken nodes still to change
		for _, m := range order[i+1:] {
			if slices.Contains(l.Broken, m.Node) {
				pending = append(pending, m.Node)
			}
		}
		log(fmt.Sprintf("%s: waiting for the cluster to be healthy%s%s", n.Node, butFor(pending), butJoining(l.Joining)))
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := healthy(wctx, append(pending, l.Joining...))
		cancel()
		if err != nil {
			return done, fmt.Errorf("after changing %s: the cluster is not healthy%s%s within %v: %w", n.Node, butFor(pending), butJoining(l.Joining), timeout, err)
		}
		done.Nodes = append(done.Nodes, n.Node)
	}
	if len(l.Joining) > 0 {
		log(fmt.Sprintf("waiting for %s to join", strings.Join(l.Joining, ", ")))
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := healthy(wctx, nil)
		cancel()
		if err != nil {
			return done, fmt.Errorf("%s did not join within %v of the rollout's end: %w", strings.Join(l.Joining, ", "), timeout, err)
		}
	}
	if len(l.Settings) > 0 {
		log(fmt.Sprintf("dynamic configuration: %d settings", len(l.Settings)))
		done.Configured, err = ApplyDCS(ctx, pc, l.Settings, l.Restart, timeout, func(s Step) {
			log(fmt.Sprintf("[%3ds] %s: %s", int(s.Elapsed.Seconds()), s.Phase, s.State))
		})
		if err != nil {
			return done, err
		}
		if err := healthy(ctx, nil); err != nil {
			return done, fmt.Errorf("after the dynamic configuration: %w", err)
		}
	}
	if err := startFullBackup(ctx, l, order, dial, log); err != nil {
		return done, err
	}
	done.Took = time.Since(start)
	return done, nil
}

// startFullBackup starts a full backup when the rollout turned WAL archiving on (backups
// turned on, or on again): the repository may hold backups from before, but the WAL since
// then was never archived, so none of them recovers to a point after now. The nodes' ensure
// timers fired when they were started, before archiving was on (a dynamic setting, changed
// last), and could not do it. Every node is asked, since only the leader acts; none waits.
func startFullBackup(ctx context.Context, l Live, nodes []NodePlan, dial Dialer, log func(string)) error {
	if !slices.ContainsFunc(l.Settings, func(s Setting) bool {
		return s.Key == "postgresql.parameters.archive_mode" && ScalarText(s.Want) == "on"
	}) {
		return nil
	}
	for _, n := range nodes {
		c, err := dial(ctx, n.Node)
		if err != nil {
			return err
		}
		_, err = c.Run(ctx, "systemctl start --no-block pghac-backup@full.service", nil)
		c.Close()
		if err != nil {
			return fmt.Errorf("%s: starting a full backup: %w", n.Node, err)
		}
	}
	log("WAL archiving is on: a full backup runs on the leader now (pghac backup list shows it when done)")
	return nil
}

// applyOrder is the order Apply changes nodes in: those of broken first, then the others but
// leader, then leader; nodes with no files are left out.
func applyOrder(nodes []NodePlan, broken []string, leader string) []NodePlan {
	rank := func(n NodePlan) int {
		switch {
		case slices.Contains(broken, n.Node):
			return 0
		case n.Node != leader:
			return 1
		}
		return 2
	}
	var order []NodePlan
	for _, n := range nodes {
		if len(n.Files) > 0 {
			order = append(order, n)
		}
	}
	slices.SortStableFunc(order, func(a, b NodePlan) int { return rank(a) - rank(b) })
	return order
}

// butFor is " but for" nodes' problems, "" for none.
func butFor(nodes []string) string {
	if len(nodes) == 0 {
		return ""
	}
	return " but for " + strings.Join(nodes, ", ") + " (not changed yet)"
}

// butJoining names the joining nodes a health wait overlooks.
func butJoining(nodes []string) string {
	if len(nodes) == 0 {
		return ""
	}
	return ", " + strings.Join(nodes, ", ") + " joining"
}

// applyNode writes n's files and runs their actions.
func applyNode(ctx context.Context, n NodePlan, dial Dialer, log func(string)) error {
	c, err := dial(ctx, n.Node)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, f := range n.Files {
		if f.Kind == KindRemoved {
			if _, err := c.Run(ctx, removeCommand(f.Path), nil); err != nil {
				return fmt.Errorf("%s: removing %s: %w", n.Node, f.Path, err)
			}
			log(fmt.Sprintf("%s: removed %s", n.Node, f.Path))
			continue
		}
		if err := c.WriteFile(ctx, f.Path, f.Content, f.Mode, f.Owner); err != nil {
			return fmt.Errorf("%s: writing %s: %w", n.Node, f.Path, err)
		}
		log(fmt.Sprintf("%s: wrote %s", n.Node, f.Path))
	}
	for _, a := range n.Actions() {
		cmd, ok := actionCommands[a]
		if !ok {
			return fmt.Errorf("%s: no command for %q (a pghac bug)", n.Node, a)
		}
		if _, err := c.Run(ctx, cmd, nil); err != nil {
			return fmt.Errorf("%s: %s: %w", n.Node, a, err)
		}
		log(fmt.Sprintf("%s: %s", n.Node, a))
	}
	return nil
}

// runPostBootstrap runs l's new post_bootstrap script on the leader as postgres, fed on stdin
// (it holds passwords), before any node's files change: a rotated password is PostgreSQL's
// before the files that log in with it, while the sessions open with the old one go on.
func runPostBootstrap(ctx context.Context, l Live, dial Dialer, leader string) error {
	if leader == "" {
		return fmt.Errorf("the cluster has no leader to create the roles and databases through")
	}
	c, err := dial(ctx, leader)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Run(ctx, "runuser -u postgres -- sh -s -- "+remote.Quote(l.PostBootstrapArg), l.PostBootstrap); err != nil {
		return fmt.Errorf("%s: running post-bootstrap.sh: %s", leader, Redact(err.Error(), l.secrets))
	}
	return nil
}

// localSuperuser is the connection string of the superuser's local session on a node (peer
// authentication over the socket), from the node's Patroni configuration.
func localSuperuser(patroniConfig []byte) (string, error) {
	var cfg struct {
		PostgreSQL struct {
			Listen string `yaml:"listen"`
		} `yaml:"postgresql"`
	}
	if err := yaml.Unmarshal(patroniConfig, &cfg); err != nil {
		return "", fmt.Errorf("patroni config: %w", err)
	}
	i := strings.LastIndex(cfg.PostgreSQL.Listen, ":")
	port, err := strconv.Atoi(cfg.PostgreSQL.Listen[i+1:])
	if i < 0 || err != nil {
		return "", fmt.Errorf("patroni config: postgresql.listen %q has no port", cfg.PostgreSQL.Listen)
	}
	return fmt.Sprintf("dbname=postgres port=%d", port), nil
}
