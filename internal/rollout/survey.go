package rollout

import (
	"context"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/remote"
)

// Action is what a node needs so that a changed file takes effect.
type Action string

const (
	// ActionNone: the file is read when used (a script, a password file).
	ActionNone Action = "none"
	// ActionReloadPatroni: Patroni rereads its configuration file on SIGHUP (its local
	// PostgreSQL settings and pg_hba included).
	ActionReloadPatroni Action = "reload patroni"
	// ActionReloadPgBouncer: PgBouncer rereads its files on RELOAD (SIGHUP).
	ActionReloadPgBouncer Action = "reload pgbouncer"
	// ActionReloadHAProxy: HAProxy's master starts new workers with the new file.
	ActionReloadHAProxy Action = "reload haproxy"
	// ActionRestartEtcd: etcd reads its environment at start only.
	ActionRestartEtcd Action = "restart etcd"
	// ActionRestartPgBouncer: a change of PgBouncer's unit takes a restart.
	ActionRestartPgBouncer Action = "restart pgbouncer"
	// ActionReloadBackend: the backend reads its TLS certificate again on a reload (SIGHUP).
	ActionReloadBackend Action = "reload pghac-backend"
	// ActionRestartBackend: the backend reads its other files at start only.
	ActionRestartBackend Action = "restart pghac-backend"
	// ActionDaemonReload: systemd rereads unit files; the unit itself restarts (see unitOf).
	ActionDaemonReload Action = "systemctl daemon-reload"
	// ActionInstallPgBackRest: backups turned on for a running node need pgBackRest and
	// its folders, which cloud-init gives a new node.
	ActionInstallPgBackRest Action = "install pgbackrest"
	// ActionStartBackupTimers: a new backup timer is enabled and started.
	ActionStartBackupTimers Action = "start backup timers"
	// ActionInstallBackend: a new backend build (its URL or checksum in the install script)
	// is downloaded, checked and installed, and the backend restarted with it.
	ActionInstallBackend Action = "install the backend build"
	// ActionReloadPostgres: PostgreSQL rereads its certificate and key on a reload (Patroni
	// does not reload it for a file whose path stayed the same).
	ActionReloadPostgres Action = "reload postgresql"
	// ActionHoldPatroni: the Patroni backport is made for one package version, which a node
	// keeps (cloud-init holds it on a new node; older nodes get the hold with a new script).
	ActionHoldPatroni Action = "hold the patroni package"
)

// ActionsFor is what a change of the managed file at p needs.
func ActionsFor(p string) []Action { return actionFor(p) }

// actionFor is what a change of the managed file at p needs. A unit file or drop-in of a
// service restarts it after a daemon-reload, except Patroni's: restarting Patroni restarts
// PostgreSQL, which a rollout does only through Patroni.
func actionFor(p string) []Action {
	switch {
	case p == patroniConfig:
		return []Action{ActionReloadPatroni}
	case p == model.TLSServicePath:
		// Served by PgBouncer to clients, by HAProxy on its statistics page, by the backend.
		return []Action{ActionReloadPgBouncer, ActionReloadHAProxy, ActionReloadBackend}
	case p == model.TLSCAPath:
		// Both verify with it: PgBouncer its server connections, PostgreSQL its clients'.
		return []Action{ActionReloadPgBouncer, ActionReloadPostgres}
	case strings.HasPrefix(p, model.TLSDir):
		return []Action{ActionReloadPostgres}
	case strings.HasPrefix(p, "/etc/pgbouncer/"):
		return []Action{ActionReloadPgBouncer}
	case p == "/etc/haproxy/haproxy.cfg":
		return []Action{ActionReloadHAProxy}
	case p == "/etc/default/etcd":
		return []Action{ActionRestartEtcd}
	case strings.HasPrefix(p, "/etc/pghac-backend/"):
		return []Action{ActionRestartBackend}
	case p == etcd3FixScript:
		return []Action{ActionHoldPatroni}
	case p == backendInstallScript:
		return []Action{ActionInstallBackend}
	case p == pgbackrestConfig:
		return []Action{ActionInstallPgBackRest}
	case strings.HasPrefix(p, unitDir+"pghac-backup-") && strings.HasSuffix(p, ".timer"):
		return []Action{ActionDaemonReload, ActionStartBackupTimers}
	case strings.HasPrefix(p, unitDir):
		unit := strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(p, unitDir), "/", 2)[0], ".d")
		switch unit {
		case "etcd.service":
			return []Action{ActionDaemonReload, ActionRestartEtcd}
		case "pghac-backend.service":
			return []Action{ActionDaemonReload, ActionRestartBackend}
		case "pgbouncer.service":
			return []Action{ActionDaemonReload, ActionRestartPgBouncer}
		}
		return []Action{ActionDaemonReload}
	}
	return []Action{ActionNone}
}

// FileChange is a managed file a node does not have as the generated tree says.
type FileChange struct {
	File
	Kind    string // "changed", "added" (the node lacks it), "mode" (only mode or owner differ)
	Diff    string // unified diff of the content, secrets shown as their placeholders
	Actions []Action
}

// NodePlan is what one node needs.
type NodePlan struct {
	Node  string
	Files []FileChange
	// Err is why the node could not be surveyed (unreachable, say); nil when it was.
	Err error
}

// Actions are the node's actions in the order they run: daemon-reload first, then the
// others by name, none left out.
func (n NodePlan) Actions() []Action {
	seen := map[Action]bool{}
	for _, f := range n.Files {
		for _, a := range f.Actions {
			if a != ActionNone {
				seen[a] = true
			}
		}
	}
	var out []Action
	if seen[ActionDaemonReload] {
		out = append(out, ActionDaemonReload)
		delete(seen, ActionDaemonReload)
	}
	rest := make([]Action, 0, len(seen))
	for a := range seen {
		rest = append(rest, a)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	return append(out, rest...)
}

// FileReader reads a node's files; *remote.Client is one.
type FileReader interface {
	ReadFiles(ctx context.Context, paths []string) (map[string]remote.RemoteFile, error)
}

// SurveyFiles compares the files node has with want, secrets redacted in the diffs.
func SurveyFiles(ctx context.Context, node string, r FileReader, want []File, secrets map[string]string) NodePlan {
	np := NodePlan{Node: node}
	paths := make([]string, len(want))
	for i, f := range want {
		paths[i] = f.Path
	}
	gone := obsoleteFor(want)
	have, err := r.ReadFiles(ctx, append(paths, gone...))
	if err != nil {
		np.Err = err
		return np
	}
	for _, f := range want {
		h := have[f.Path]
		fc := FileChange{File: f, Actions: actionFor(f.Path)}
		switch {
		case !h.Exists:
			fc.Kind = "added"
		case string(h.Content) != string(f.Content):
			fc.Kind = "changed"
		case h.Mode != f.Mode || h.Owner != f.Owner:
			fc.Kind = "mode"
			fc.Diff = fmt.Sprintf("mode %04o %s -> %04o %s\n", h.Mode, h.Owner, f.Mode, f.Owner)
			np.Files = append(np.Files, fc)
			continue
		default:
			continue
		}
		old, new := diffTexts(h.Content, f.Content, secrets)
		fc.Diff = udiff.Unified(node+":"+f.Path, "generated:"+path.Base(f.Path), old, new)
		np.Files = append(np.Files, fc)
	}
	for _, p := range gone {
		if h := have[p]; h.Exists {
			np.Files = append(np.Files, removedFile(node, p, h, secrets))
		}
	}
	return np
}

// DCS returns the bootstrap.dcs section of a rendered Patroni configuration file: the
// dynamic configuration the generated tree asks for.
func DCS(patroniConfig []byte) (map[string]any, error) {
	var cfg struct {
		Bootstrap struct {
			DCS map[string]any `yaml:"dcs"`
		} `yaml:"bootstrap"`
	}
	if err := yaml.Unmarshal(patroniConfig, &cfg); err != nil {
		return nil, fmt.Errorf("patroni config: %w", err)
	}
	if cfg.Bootstrap.DCS == nil {
		return nil, fmt.Errorf("patroni config: no bootstrap.dcs")
	}
	return cfg.Bootstrap.DCS, nil
}

// Setting is one dynamic configuration value that differs: Key is its path ("ttl",
// "postgresql.parameters.work_mem"), Have is nil when the running cluster lacks it and Want
// nil when the generated tree drops it.
type Setting struct {
	Key        string
	Have, Want any
}

// DiffDCS lists the settings of want that the running cluster's have lacks or holds with
// another value, sorted by key. PostgreSQL parameters that have has and want lacks are
// listed too, to be removed; other keys only have holds are Patroni's own and stay.
func DiffDCS(have, want map[string]any) []Setting {
	var out []Setting
	var walk func(prefix string, h, w map[string]any, removeExtra bool)
	walk = func(prefix string, h, w map[string]any, removeExtra bool) {
		for k, wv := range w {
			key := prefix + k
			hv, ok := h[k]
			wm, wIsMap := wv.(map[string]any)
			hm, hIsMap := hv.(map[string]any)
			switch {
			case wIsMap && (hIsMap || !ok):
				walk(key+".", hm, wm, key == "postgresql.parameters")
			case !ok || !sameScalar(hv, wv):
				out = append(out, Setting{Key: key, Have: hv, Want: wv})
			}
		}
		if removeExtra {
			for k, hv := range h {
				if _, ok := w[k]; !ok {
					out = append(out, Setting{Key: prefix + k, Have: hv})
				}
			}
		}
	}
	walk("", have, want, false)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// sameScalar compares a value from YAML with one from Patroni's JSON: 20 and 20.0 and "20"
// are the same setting to PostgreSQL and Patroni.
func sameScalar(a, b any) bool {
	return reflect.DeepEqual(a, b) || ScalarText(a) == ScalarText(b)
}

// ScalarText is a setting's value as PostgreSQL would read it: numbers without exponents.
func ScalarText(v any) string {
	switch n := v.(type) {
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	case int:
		return strconv.Itoa(n)
	}
	return fmt.Sprint(v)
}

// Patch is the PATCH /config body that makes the cluster's dynamic configuration hold the
// settings' Want values (null removes).
func Patch(settings []Setting) map[string]any {
	root := map[string]any{}
	for _, s := range settings {
		m := root
		parts := strings.Split(s.Key, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = s.Want
	}
	return root
}
