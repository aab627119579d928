package systemd

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"text/template"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

//go:embed templates/dropin.conf.tmpl
var dropInText string

var dropInTmpl = template.Must(template.New("dropin.conf").Option("missingkey=error").Parse(dropInText))

// dropIn is one unit's drop-in file.
type dropIn struct {
	Unit     string // e.g. "patroni.service"
	Sections []section
}

type section struct {
	Name       string // "Unit" or "Service"
	Directives []directive
}

// directive is one setting and the one-line reason it is there.
type directive struct {
	Key, Value, Why string
}

// restartSec keeps restart attempts under systemd's default start limit (5 starts in 10 s),
// past which it would give up on a unit for good.
const restartSec = "5s"

// etcdStartTimeout bounds how long a member may wait for quorum while the cluster forms:
// etcd reports ready only once a quorum of members has joined, and on first boot the other
// nodes may still be installing packages.
const etcdStartTimeout = "10min"

// Path is where the drop-in for unit lives.
func Path(unit string) string { return "/etc/systemd/system/" + unit + ".d/pghac.conf" }

// Hooks are the other families' commands the drop-ins run, passed in by package emit, as
// families import no other family.
type Hooks struct {
	// Etcd3Fix apply Patroni's etcd3 leader-lock fix where the image needs it (the patroni
	// family's Etcd3FixCommands): patroni.service runs them before every start.
	Etcd3Fix []string
	// EtcdExecStart starts etcd (the etcd family's ExecStart, which decides whether a member
	// founds the cluster or joins it); empty keeps Debian's.
	EtcdExecStart string
}

// NodePart returns node n's drop-ins, in path order, and no boot lines: the user-data reloads
// systemd before any family starts a unit.
func NodePart(c *model.Cluster, n model.Node, h Hooks) (artifact.NodePart, error) {
	var units []dropIn
	if n.EtcdMember {
		units = append(units, etcdDropIn(h.EtcdExecStart))
	}
	units = append(units, patroniDropIn(n, h.Etcd3Fix), pgbouncerDropIn(c))

	files := make([]artifact.NodeFile, 0, len(units))
	for _, u := range units {
		var b bytes.Buffer
		if err := dropInTmpl.Execute(&b, u); err != nil {
			return artifact.NodePart{}, fmt.Errorf("systemd: %s: %w", Path(u.Unit), err)
		}
		files = append(files, artifact.NodeFile{Path: Path(u.Unit), Owner: "root:root", Mode: 0o644, Bytes: b.Bytes()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return artifact.NodePart{Files: files}, nil
}

func etcdDropIn(execStart string) dropIn {
	service := []directive{
		{"Restart", "always",
			"A member left down costs the cluster its tolerance of the next failure; Debian restarts on-abnormal only."},
		{"RestartSec", restartSec,
			"Stay under systemd's start limit (5 starts in 10 s), past which it stops restarting."},
		{"TimeoutStartSec", etcdStartTimeout,
			"A new member is ready only once a quorum has joined; the other nodes may still be installing packages."},
	}
	if execStart != "" {
		service = append(service,
			directive{"ExecStart", "", "Replace Debian's command line rather than add a second one."},
			directive{"ExecStart", execStart,
				"A member without data asks the others whether the cluster runs: it joins it then, and founds it only with them."})
	}
	return dropIn{Unit: "etcd.service", Sections: []section{
		{Name: "Unit", Directives: []directive{
			{"After", "network-online.target",
				"The member binds the node's address; Debian's unit waits only for network.target."},
		}},
		{Name: "Service", Directives: service},
	}}
}

func patroniDropIn(n model.Node, etcd3Fix []string) dropIn {
	unit := []directive{
		{"After", "network-online.target",
			"PostgreSQL binds the node's address and, if it is not up yet, only warns and never listens there."},
		{"Wants", "network-online.target", "Pull in what After= orders against."},
	}
	if n.EtcdMember {
		unit = append(unit,
			directive{"After", "etcd.service",
				"Stop before this node's etcd member, so that a leader hands over while its DCS member still serves."},
			directive{"Wants", "etcd.service", "Starting Patroni also starts this node's etcd member."})
	}
	service := []directive{
		{"Restart", "always",
			"Patroni is the node's HA agent: however it ends, the node must rejoin by itself; Debian restarts on-failure only."},
		{"RestartSec", restartSec,
			"Stay under systemd's start limit (5 starts in 10 s), past which it stops restarting."},
	}
	for _, cmd := range etcd3Fix {
		service = append(service, directive{"ExecStartPre", "+" + cmd,
			"Re-apply the etcd3 leader-lock backport before every start (as root): a reinstalled 3.0.2 package would bring the split-brain back. A no-op on a patched file; any other fails the start."})
	}
	return dropIn{Unit: "patroni.service", Sections: []section{
		{Name: "Unit", Directives: unit},
		{Name: "Service", Directives: service},
	}}
}

func pgbouncerDropIn(c *model.Cluster) dropIn {
	nofile := 2*c.PgBouncer.MaxClientConn + 1024
	return dropIn{Unit: "pgbouncer.service", Sections: []section{
		{Name: "Unit", Directives: []directive{
			{"After", "network-online.target",
				"PgBouncer binds the node's address and, if it is not up yet, only warns and never listens there."},
			{"Wants", "network-online.target", "Pull in what After= orders against."},
		}},
		{Name: "Service", Directives: []directive{
			{"Restart", "always",
				"Debian's unit never restarts it, and HAProxy checks Patroni, not PgBouncer: a dead one on the primary stops all writes."},
			{"RestartSec", restartSec,
				"Stay under systemd's start limit (5 starts in 10 s), past which it stops restarting."},
			{"LimitNOFILE", strconv.Itoa(nofile),
				"Two per client (its socket, a server connection) for max_client_conn " +
					strconv.Itoa(c.PgBouncer.MaxClientConn) + ", plus systemd's default 1024 for the rest."},
		}},
	}}
}
