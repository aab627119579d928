package health

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/internal/remote"
	"github.com/pghac/pghac/internal/remote/sshdtest"
)

// TestObserveThroughTunnel: status asks every node's Patroni, etcd, HAProxy and backend
// through a jump host (a real sshd) and sees what it sees directly; with the tunnel closed it
// reaches nothing, so the answers did come through it.
func TestObserveThroughTunnel(t *testing.T) {
	key, pub := sshdtest.OperatorKey(t)
	jump := sshdtest.Start(t, pub, true, "")
	tun, err := remote.OpenTunnel(context.Background(), remote.Endpoint{Addr: jump.Addr, User: "root"},
		remote.Options{Key: key, HostKeys: remote.NewHostKeys(filepath.Join(t.TempDir(), "known_hosts"))})
	if err != nil {
		t.Fatal(err)
	}

	cl := fakeCluster(t, healthyNodes())
	direct := NewProber(cl, statsPass, 0).Observe(context.Background())
	p := NewProber(cl, statsPass, 0).UseHTTP(tun.HTTPClient(2 * time.Second))
	through := p.Observe(context.Background())
	if !through.Healthy || !cmp.Equal(direct, through) {
		t.Errorf("through the jump host (-direct +through):\n%s", cmp.Diff(direct, through))
	}
	tun.Close()
	if rep := p.Observe(context.Background()); rep.Healthy || len(rep.Problems) == 0 {
		t.Errorf("a closed tunnel still reached the nodes: %+v", rep)
	}
}
