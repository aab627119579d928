package provision

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/remote"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/site"
)

// sshPort is where the nodes' sshd listens, on both targets.
const sshPort = 22

// Nodes reaches a cluster's nodes over SSH the same way on every target: as the image's
// default user, with the site's operator key, host keys pinned in the site's known_hosts.
type Nodes struct {
	cl   *model.Cluster
	opts remote.Options
	// leaving are the addresses of nodes that cl no longer has but that still run: those a
	// scale-in takes out (rollout.Remove tags them before they go).
	leaving map[string]netip.Addr
}

// NewNodes is how pghac reaches cl's nodes from site s. The operator key must exist
// (site.EnsureOperatorKey).
func NewNodes(s site.Site, cl *model.Cluster) (*Nodes, error) {
	key, err := remote.LoadOperatorKey(s.OperatorKey())
	if err != nil {
		return nil, fmt.Errorf("the operator key: %w", err)
	}
	n := &Nodes{cl: cl, opts: remote.Options{Key: key, HostKeys: remote.NewHostKeys(s.KnownHosts())}}
	j, err := jumpHost(s, cl)
	if err != nil {
		return nil, err
	}
	if j != nil {
		n.opts.Jump = &remote.Endpoint{Addr: j.Addr(), User: cmp.Or(j.User, cl.OS.DefaultUser)}
	}
	return n, nil
}

// jumpHost is the SSH server pghac reaches cl's nodes through: network.jump_host, else the
// bastion at the public address pghac apply recorded (or the local state holds). nil for
// none: the nodes' own addresses.
func jumpHost(s site.Site, cl *model.Cluster) (*model.JumpHost, error) {
	if cl.Network.JumpHost != nil || cl.Bastion == nil {
		return cl.Network.JumpHost, nil
	}
	addr := recorded(s).Bastion
	if addr == "" {
		addr, _ = infra.StateOutput(s.StateFile(), OutputBastionAddress)
	}
	if addr == "" {
		return nil, fmt.Errorf("the bastion's address is not known here: `pghac apply` makes the bastion and records it in %s", outputsFile(s))
	}
	return &model.JumpHost{Host: addr, Port: sshPort, DeclRange: cl.Bastion.DeclRange}, nil
}

// HTTPClient is how pghac reaches the nodes' HTTP endpoints (Patroni's REST API, etcd, HAProxy's
// statistics, the backend), each request bounded by timeout: nil (directly, at their
// addresses) when cl has no jump host, else through it, like SSH.
func HTTPClient(s site.Site, cl *model.Cluster, timeout time.Duration) (*http.Client, error) {
	if cl.Network.JumpHost == nil && cl.Bastion == nil {
		return nil, nil
	}
	n, err := NewNodes(s, cl)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: n.dialJump, DisableKeepAlives: true}}, nil
}

// tunnels are the open tunnels through jump hosts, by address: one per jump host for the
// whole process, rather than an SSH handshake per HTTP request.
var tunnels = struct {
	sync.Mutex
	open map[string]*remote.Tunnel
}{open: map[string]*remote.Tunnel{}}

// dialJump connects to addr through n's jump host, opening the tunnel on first use and again
// when its connection broke (a jump host restarted).
func (n *Nodes) dialJump(ctx context.Context, network, addr string) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		t, err := n.tunnel(ctx)
		if err != nil {
			return nil, err
		}
		c, err := t.DialContext(ctx, network, addr)
		if err == nil || attempt > 0 || !t.Broken() {
			return c, err
		}
		j := n.opts.Jump.Addr
		tunnels.Lock()
		if tunnels.open[j] == t {
			delete(tunnels.open, j)
		}
		tunnels.Unlock()
		t.Close()
	}
}

// tunnel is the open tunnel through n's jump host, opened when there is none.
func (n *Nodes) tunnel(ctx context.Context) (*remote.Tunnel, error) {
	j := *n.opts.Jump
	tunnels.Lock()
	defer tunnels.Unlock()
	if t := tunnels.open[j.Addr]; t != nil && !t.Broken() {
		return t, nil
	}
	t, err := remote.OpenTunnel(ctx, j, n.opts)
	if err != nil {
		return nil, err
	}
	tunnels.open[j.Addr] = t
	return t, nil
}

// ReachJumpHost connects to cl's jump host, when it has one: one clear error for a jump host
// that does not let pghac in, rather than the same error from every endpoint of every node.
func ReachJumpHost(ctx context.Context, s site.Site, cl *model.Cluster) error {
	if cl.Network.JumpHost == nil && cl.Bastion == nil {
		return nil
	}
	n, err := NewNodes(s, cl)
	if err != nil {
		return err
	}
	if _, err := n.tunnel(ctx); err != nil {
		return fmt.Errorf("cannot reach the nodes: %w", err)
	}
	return nil
}

// Dial connects to node.
func (n *Nodes) Dial(ctx context.Context, node string) (*remote.Client, error) {
	addr, ok := n.leaving[node]
	for _, nd := range n.cl.Nodes {
		if nd.Name == node {
			addr, ok = nd.Address, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("the cluster has no node %q", node)
	}
	ep := remote.Endpoint{Addr: net.JoinHostPort(addr.String(), strconv.Itoa(sshPort)), User: n.cl.OS.DefaultUser}
	return remote.Dial(ctx, ep, n.opts)
}

// Dialer is how the rollout engine reaches cl's nodes from site s (NewNodes).
func Dialer(s site.Site, cl *model.Cluster) (rollout.Dialer, error) {
	nodes, err := NewNodes(s, cl)
	if err != nil {
		return nil, err
	}
	return nodes.dialer(), nil
}

// dialer is n.Dial as a rollout.Dialer.
func (n *Nodes) dialer() rollout.Dialer {
	return func(ctx context.Context, node string) (rollout.Conn, error) {
		c, err := n.Dial(ctx, node)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return c, nil
	}
}
