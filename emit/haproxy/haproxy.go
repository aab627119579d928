package haproxy

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"text/template"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

// ConfigPath is the file Debian's haproxy.service loads.
const ConfigPath = "/etc/haproxy/haproxy.cfg"

// unit is HAProxy's systemd unit as Debian's package ships it.
const unit = "haproxy"

// loopback serves clients on the node itself, such as the backend.
var loopback = netip.MustParseAddr("127.0.0.1")

//go:embed templates/haproxy.cfg.tmpl
var cfgText string

// StateFile is where a reload saves the servers' states and the new workers load them from.
const StateFile = "/var/lib/haproxy/server-state"

// ReloadDropIn changes haproxy.service's reload so that it saves the servers' states first.
const ReloadDropIn = "/etc/systemd/system/haproxy.service.d/pghac.conf"

//go:embed templates/reload.conf
var reloadDropIn string

// SaveStatePath is where a node keeps the script that saves HAProxy's server states.
const SaveStatePath = "/usr/local/lib/pghac/haproxy-save-state.py"

// SaveStateScript saves HAProxy's server states for the next workers (python3 is on every node:
// Patroni needs it).
//
//go:embed templates/save-state.py
var SaveStateScript string

var cfgTmpl = template.Must(template.New("haproxy.cfg").Option("missingkey=error").Funcs(template.FuncMap{
	// addrPort brackets IPv6 addresses, which HAProxy's bind accepts.
	"addrPort": func(a netip.Addr, port int) string { return netip.AddrPortFrom(a, uint16(port)).String() },
}).Parse(cfgText))

type cfgData struct {
	Node, Cluster string
	MaxConn       int
	// Binds are the addresses every frontend listens on: the node's own, for clients and the
	// network load balancer, and loopback, for the backend running on the node.
	Binds                               []netip.Addr
	PrimaryPort, ReplicaPort, StatsPort int
	StatsUser, StatsPassword            string
	ServiceCert                         string // its certificate, then its key
	DefaultServer                       string
	ReplicaMaxLagBytes                  int64
	Servers                             []server
	CheckPort                           int
}

type server struct {
	Name    string
	Address string // PgBouncer's addr:port on that node
}

// NodePart returns HAProxy's part of node n: its configuration and the boot lines that enable
// and start it.
func NodePart(c *model.Cluster, n model.Node) (artifact.NodePart, error) {
	b, err := config(c, n)
	if err != nil {
		return artifact.NodePart{}, fmt.Errorf("haproxy: %s: %w", ConfigPath, err)
	}
	return artifact.NodePart{
		// 0640: the file holds the stats password once rendered. Group haproxy as Debian ships it.
		Files: []artifact.NodeFile{
			{Path: ConfigPath, Owner: "root:haproxy", Mode: 0o640, Bytes: b},
			{Path: ReloadDropIn, Owner: "root:root", Mode: 0o644, Bytes: []byte(reloadDropIn)},
		},
		BootFiles: []artifact.NodeFile{{Path: SaveStatePath, Owner: "root:root", Mode: 0o755, Bytes: []byte(SaveStateScript)}},
		// Restart, so that an HAProxy the image already runs reads the config; and wait for
		// it, so that a bad config fails the boot where it shows.
		// HAProxy warns about a missing state file: the first start gets an empty one.
		Boot: []string{"[ -e " + StateFile + " ] || echo 1 > " + StateFile, "systemctl enable " + unit, "systemctl restart " + unit},
	}, nil
}

func config(c *model.Cluster, n model.Node) ([]byte, error) {
	chk := c.HAProxy.Check
	inter, err := duration(chk.Inter)
	if err != nil {
		return nil, fmt.Errorf("check inter: %w", err)
	}
	if chk.Fall < 1 || chk.Rise < 1 {
		return nil, fmt.Errorf("check fall %d and rise %d must be at least 1", chk.Fall, chk.Rise)
	}
	d := cfgData{
		Node:        n.Name,
		Cluster:     c.Name,
		MaxConn:     c.HAProxy.MaxConn,
		Binds:       []netip.Addr{n.Address, loopback},
		PrimaryPort: c.HAProxy.PrimaryPort,
		ReplicaPort: c.HAProxy.ReplicaPort,
		StatsPort:   c.HAProxy.StatsPort,
		StatsUser:   model.StatsUser,
		// The stats page shows every server's state and address: it is not public.
		StatsPassword: model.SecretStatsPassword.Placeholder(),
		ServiceCert:   model.TLSServicePath,
		DefaultServer: fmt.Sprintf("inter %s fall %d rise %d on-marked-down shutdown-sessions",
			inter, chk.Fall, chk.Rise),
		ReplicaMaxLagBytes: c.HAProxy.ReplicaMaxLagBytes,
		CheckPort:          c.Patroni.RestAPIPort,
	}
	for _, m := range c.Nodes {
		d.Servers = append(d.Servers, server{
			Name:    m.Name,
			Address: netip.AddrPortFrom(m.Address, uint16(c.PgBouncer.Port)).String(),
		})
	}
	var b bytes.Buffer
	if err := cfgTmpl.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// duration formats d in HAProxy's time syntax, in the largest unit that holds it exactly.
func duration(d time.Duration) (string, error) {
	switch {
	case d <= 0:
		return "", fmt.Errorf("%s is not positive", d)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second), nil
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond), nil
	case d%time.Microsecond == 0:
		return fmt.Sprintf("%dus", d/time.Microsecond), nil
	}
	return "", fmt.Errorf("%s is finer than HAProxy's microseconds", d)
}
