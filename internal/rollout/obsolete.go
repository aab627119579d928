package rollout

import (
	"path"
	"slices"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/pghac/pghac/internal/remote"
)

// KindRemoved is the FileChange kind of an obsolete file the node still has.
const KindRemoved = "removed"

// obsolete are the files pghac writes only while a feature is on or a setting has a certain
// value (emit/pgbackrest's timers, unit and scripts: backups turned off, differential backups
// changed to incremental). A node that has one the generated tree no longer gives it gets it
// removed, timers stopped first: left behind, they would go on starting backups nobody asked
// for. pgBackRest's configuration is not among them: until PostgreSQL restarts with archiving
// off, its archive_command still pushes WAL with it.
var obsolete = []string{
	"/etc/systemd/system/pghac-backup-ensure.timer",
	"/etc/systemd/system/pghac-backup-full.timer",
	"/etc/systemd/system/pghac-backup-diff.timer",
	"/etc/systemd/system/pghac-backup-incr.timer",
	"/etc/systemd/system/pghac-backup@.service",
	"/usr/local/lib/pghac/pghac-backup",
	"/usr/local/lib/pghac/pghac-wal-get",
}

// obsoleteFor are the obsolete files want does not give.
func obsoleteFor(want []File) []string {
	var out []string
	for _, p := range obsolete {
		if !slices.ContainsFunc(want, func(f File) bool { return f.Path == p }) {
			out = append(out, p)
		}
	}
	return out
}

// removedFile is the FileChange removing the node's file h at p.
func removedFile(node, p string, h remote.RemoteFile, secrets map[string]string) FileChange {
	fc := FileChange{File: File{Path: p, Mode: h.Mode, Owner: h.Owner}, Kind: KindRemoved, Actions: []Action{ActionNone}}
	if strings.HasPrefix(p, unitDir) {
		fc.Actions = []Action{ActionDaemonReload}
	}
	fc.Diff = udiff.Unified(node+":"+p, "(removed)", hideKeys(Redact(string(h.Content), secrets)), "")
	return fc
}

// removeCommand removes the file at p from a node: a timer is stopped and disabled first.
func removeCommand(p string) string {
	cmd := "rm -f " + remote.Quote(p)
	if strings.HasPrefix(p, unitDir) && strings.HasSuffix(p, ".timer") {
		cmd = "systemctl disable --now " + remote.Quote(path.Base(p)) + " 2>/dev/null || true; " + cmd
	}
	return cmd
}

// unitDir is where pghac puts its systemd units and drop-ins.
const unitDir = "/etc/systemd/system/"
