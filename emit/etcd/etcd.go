package etcd

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"strings"
	"text/template"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

const (
	// EnvPath is where Debian's etcd.service reads its environment from.
	EnvPath = "/etc/default/etcd"
	// DataDir is the member's data directory. It differs from the package's default
	// (/var/lib/etcd/default) so that the throwaway single-node cluster the package starts on
	// install can never be mistaken for the real one.
	DataDir = "/var/lib/etcd/pghac"

	// unit is etcd's systemd unit as Debian's package ships it.
	unit = "etcd"

	// BootPath is where a node keeps the script etcd starts through (BootScript).
	BootPath = "/usr/local/lib/pghac/etcd-boot.py"
)

// BootScript decides at every start of a member without data whether it founds the cluster or
// joins the running one (adding itself, replacing a former machine of its node), then execs
// etcd. The decision is made on the node, by asking the other members, so that the emitted
// files are the same for the first boot and for a replaced or added node. python3 is on every
// node: Patroni needs it.
//
//go:embed templates/boot.py
var BootScript string

// ExecStart is etcd.service's command line through BootScript: Debian's, prefixed.
func ExecStart() string {
	return "/usr/bin/python3 -I " + BootPath + " /usr/bin/etcd $DAEMON_ARGS"
}

// loopback is where local clients (etcdctl, health probes) reach the member without knowing the
// node's address.
var loopback = netip.MustParseAddr("127.0.0.1")

//go:embed templates/etcd.env.tmpl
var envText string

var envTmpl = template.Must(template.New("etcd.env").Option("missingkey=error").Parse(envText))

// envData is what the template needs, every URL list already joined in member order.
type envData struct {
	Name               string
	Cluster            string
	DataDir            string
	ListenClientURLs   string
	AdvertiseClientURL string
	PeerURL            string
	InitialCluster     string
	Token              string
	// Peers are the other members' client URLs, where BootScript asks whether a cluster runs.
	Peers string
	// HeartbeatMs and ElectionMs are raft's timings in etcd's unit, milliseconds.
	HeartbeatMs int64
	ElectionMs  int64
}

// NodePart returns etcd's part of node n. A member gets its environment file and boot lines
// that enable and start etcd; any other node, boot lines that stop and mask the etcd the
// package may have started, so that nothing starts it again.
func NodePart(c *model.Cluster, n model.Node) (artifact.NodePart, error) {
	if !n.EtcdMember {
		return artifact.NodePart{Boot: []string{"systemctl disable --now " + unit, "systemctl mask " + unit}}, nil
	}
	env, err := envFile(c, n)
	if err != nil {
		return artifact.NodePart{}, err
	}
	return artifact.NodePart{
		Files:     []artifact.NodeFile{env},
		BootFiles: []artifact.NodeFile{{Path: BootPath, Owner: "root:root", Mode: 0o755, Bytes: []byte(BootScript)}},
		// A new member waits for quorum and the other nodes may boot later: don't block on it.
		// Restart, not start, in case an image already runs the package's default etcd.
		Boot: []string{"systemctl enable " + unit, "systemctl restart --no-block " + unit},
	}, nil
}

// envFile is member n's environment file.
func envFile(c *model.Cluster, n model.Node) (artifact.NodeFile, error) {
	members := c.EtcdNodes()
	if len(members) == 0 {
		return artifact.NodeFile{}, fmt.Errorf("etcd: node %s is a member but the cluster lists no etcd nodes", n.Name)
	}
	initial := make([]string, len(members))
	var peers []string
	for i, m := range members {
		initial[i] = m.Name + "=" + url(m.Address, c.Etcd.PeerPort)
		if m.Name != n.Name {
			peers = append(peers, url(m.Address, c.Etcd.ClientPort))
		}
	}
	hb, err := millis(c.Etcd.HeartbeatInterval)
	if err != nil {
		return artifact.NodeFile{}, fmt.Errorf("etcd: %s: heartbeat interval: %w", EnvPath, err)
	}
	el, err := millis(c.Etcd.ElectionTimeout)
	if err != nil {
		return artifact.NodeFile{}, fmt.Errorf("etcd: %s: election timeout: %w", EnvPath, err)
	}
	d := envData{
		Name:               n.Name,
		Cluster:            c.Name,
		DataDir:            DataDir,
		ListenClientURLs:   url(n.Address, c.Etcd.ClientPort) + "," + url(loopback, c.Etcd.ClientPort),
		AdvertiseClientURL: url(n.Address, c.Etcd.ClientPort),
		PeerURL:            url(n.Address, c.Etcd.PeerPort),
		InitialCluster:     strings.Join(initial, ","),
		Token:              c.Etcd.Token,
		Peers:              strings.Join(peers, ","),
		HeartbeatMs:        hb,
		ElectionMs:         el,
	}
	var b bytes.Buffer
	if err := envTmpl.Execute(&b, d); err != nil {
		return artifact.NodeFile{}, fmt.Errorf("etcd: %s: %w", EnvPath, err)
	}
	return artifact.NodeFile{Path: EnvPath, Owner: "root:root", Mode: 0o644, Bytes: b.Bytes()}, nil
}

// url is an http URL of addr:port; netip brackets IPv6 addresses as URLs need.
func url(addr netip.Addr, port int) string {
	return "http://" + netip.AddrPortFrom(addr, uint16(port)).String()
}

// millis is d in whole milliseconds, the only unit etcd's timing flags take.
func millis(d time.Duration) (int64, error) {
	if d <= 0 || d%time.Millisecond != 0 {
		return 0, fmt.Errorf("%s is not a positive whole number of milliseconds", d)
	}
	return d.Milliseconds(), nil
}
