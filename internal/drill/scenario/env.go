package scenario

import (
	"fmt"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/drill/workload"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/sandbox"
)

// NewEnv is where a drill finds cl running in the sandbox sb: the load goes through each
// node's HAProxy ports as the cluster's client role (model.Cluster.ClientRole, which it needs),
// whose password it takes from secrets (the target's secret variables by name), over TLS
// verified against caCert when it is not "", the monitor reads the leader lock from every
// etcd member and the members from pc's endpoints, and pc is also what switches over and
// reinitializes. The caller sets Progress, Steady and the timeouts.
func NewEnv(cl *model.Cluster, sb sandbox.Config, secrets map[string]string, caCert string, pc *patroni.Client) (Env, error) {
	user, database, ok := cl.ClientRole()
	if !ok {
		return Env{}, fmt.Errorf("the drills write as an application's role: %w", model.ErrNoClientRole)
	}
	env := Env{
		Sandbox: sb,
		Load: workload.Config{
			PrimaryPort: cl.HAProxy.PrimaryPort,
			ReplicaPort: cl.HAProxy.ReplicaPort,
			User:        user,
			Password:    secrets[string(model.RolePassword(user))],
			Database:    database,
			CACert:      caCert,
		},
		Monitor:     workload.MonitorConfig{LeaderKey: leaderKey(cl.Patroni), Patroni: pc.Endpoints},
		Patroni:     pc,
		MaxLag:      cl.HAProxy.ReplicaMaxLagBytes,
		Synchronous: cl.Patroni.SynchronousMode,
		DataDir:     cl.OS.DataDir,
		Backups:     cl.Backup != nil,
	}
	for _, n := range cl.Nodes {
		env.Nodes = append(env.Nodes, n.Name)
		env.Load.Nodes = append(env.Load.Nodes, workload.Node{Name: n.Name, Addr: n.Address})
		env.Monitor.Etcd = append(env.Monitor.Etcd, "http://"+n.AddrPort(cl.Etcd.ClientPort).String())
	}
	return env, nil
}

// leaderKey is Patroni's leader key in etcd: /<namespace>/<scope>/leader, whatever slashes
// the namespace was given with.
func leaderKey(p model.Patroni) string {
	return "/" + strings.Trim(p.Namespace, "/") + "/" + p.Scope + "/leader"
}
