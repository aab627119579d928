package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/crypto/ssh"
)

// Tunnel opens TCP connections from the far side of an SSH connection to a jump host, as
// `ssh -L` does: how pghac reaches the nodes' HTTP endpoints (Patroni's REST API, etcd's
// health, HAProxy's statistics, the backend) when SSH through the jump host is the only way
// in. The jump host must allow TCP forwarding.
type Tunnel struct {
	via  *ssh.Client
	done chan struct{} // closed once the connection has ended
}

// OpenTunnel connects to the jump host ep with opts' operator key, its host key checked
// against (or pinned in) opts.HostKeys. opts.Jump is not used: ep is the jump host.
func OpenTunnel(ctx context.Context, ep Endpoint, opts Options) (*Tunnel, error) {
	if opts.Key == nil || opts.HostKeys == nil {
		return nil, errors.New("remote: OpenTunnel needs the operator key and the pinned host keys")
	}
	c, err := dialSSH(ctx, nil, ep, opts.config(ep.User), opts.timeout())
	if err != nil {
		return nil, fmt.Errorf("jump host %s: %w", ep, err)
	}
	t := &Tunnel{via: c, done: make(chan struct{})}
	go func() { c.Wait(); close(t.done) }()
	return t, nil
}

// DialContext connects to addr from the jump host.
func (t *Tunnel) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.via.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("%s through the jump host: %w", addr, err)
	}
	return c, nil
}

// HTTPClient is an HTTP client whose connections go through the tunnel, each request bounded
// by timeout.
func (t *Tunnel) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: t.DialContext, DisableKeepAlives: true}}
}

// Broken reports whether the connection to the jump host has ended (the jump host went away,
// or Close): a new tunnel is needed.
func (t *Tunnel) Broken() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// Close closes the connection to the jump host, and with it every connection through it.
func (t *Tunnel) Close() error { return t.via.Close() }
