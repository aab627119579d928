package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pghac/pghac/internal/patroni"
)

// BootProbe says how far node's boot is: a phase for people, and done once its services
// have been started (on a VM: cloud-init has finished). An error ends the wait: the node
// failed to boot.
type BootProbe func(ctx context.Context, node string) (phase string, done bool, err error)

// waitEvery is how often WaitUp asks.
const waitEvery = time.Second

// WaitUp polls until every node has booted and the cluster is healthy, calling show with a
// node's phase each time it changes: its boot phase, then what its services wait for
// (etcd, Patroni, replication, HAProxy), then "ready". It returns the last report; when ctx
// ends first, with an error that names the nodes not ready and their phases. The problems of
// the nodes in except are overlooked once every node has booted (nodes joining a running
// cluster, which the others admit only later).
func (p *Prober) WaitUp(ctx context.Context, boot BootProbe, show func(node, phase string), except []string) (Report, error) {
	booted := map[string]bool{}
	shown := map[string]string{}
	var rep Report
	for {
		phases := map[string]string{}
		allBooted := true
		for _, n := range p.cluster.Nodes {
			if booted[n.Name] {
				continue
			}
			phase, done, err := boot(ctx, n.Name)
			if err != nil {
				return rep, err
			}
			booted[n.Name] = done
			if !done {
				phases[n.Name] = phase
				allBooted = false
			}
		}
		// The services start at the end of the boot: nothing to ask before.
		healthy := false
		if allBooted {
			rep = p.Observe(ctx)
			healthy = rep.Healthy || except != nil && len(rep.Without(except)) == 0
			for _, m := range rep.Members {
				if rep.Healthy {
					phases[m.Name] = readyPhase(m)
				} else {
					phases[m.Name] = servicePhase(m)
				}
			}
		} else {
			for _, n := range p.cluster.Nodes {
				if booted[n.Name] {
					phases[n.Name] = "cloud-init done, waiting for the other nodes"
				}
			}
		}
		for _, n := range p.cluster.Nodes {
			if ph := phases[n.Name]; ph != shown[n.Name] {
				show(n.Name, ph)
				shown[n.Name] = ph
			}
		}
		if healthy {
			return rep, nil
		}
		select {
		case <-ctx.Done():
			var waiting []string
			for _, n := range p.cluster.Nodes {
				if !strings.HasPrefix(shown[n.Name], "ready") {
					waiting = append(waiting, n.Name+" ("+shown[n.Name]+")")
				}
			}
			return rep, fmt.Errorf("the cluster did not become healthy: %s: %w", strings.Join(waiting, ", "), ctx.Err())
		case <-time.After(waitEvery):
		}
	}
}

// servicePhase says what a node whose boot is done waits for.
func servicePhase(m Member) string {
	leader := m.Role == patroni.RoleLeader
	switch {
	case m.Etcd != EtcdHealthy && m.Etcd != EtcdNotMember:
		return "etcd " + m.Etcd
	case m.State == "":
		return "Patroni starting"
	case leader && m.State != "running":
		return "Patroni leader, " + m.State
	case !leader && m.State != "streaming":
		return "Patroni " + RoleText(m.Role) + ", " + m.State
	case !leader && (m.LagBytes == nil || *m.LagBytes != 0):
		return "replication: streaming, lag " + LagText(m.LagBytes)
	case m.HAProxy != HAProxyOK && m.HAProxy != "":
		return "HAProxy " + m.HAProxy
	}
	return "waiting for the other nodes"
}

func readyPhase(m Member) string {
	if m.Role == patroni.RoleLeader {
		return "ready: Leader"
	}
	return "ready: " + RoleText(m.Role) + ", streaming, lag 0"
}

// roleNames are Patroni's roles as patronictl list shows them.
var roleNames = map[string]string{
	patroni.RoleLeader:        "Leader",
	patroni.RoleSyncStandby:   "Sync Standby",
	patroni.RoleReplica:       "Replica",
	patroni.RoleStandbyLeader: "Standby Leader",
}

// RoleText is Patroni's role as patronictl list shows it ("Sync Standby").
func RoleText(role string) string {
	if r, ok := roleNames[role]; ok {
		return r
	}
	return role
}
