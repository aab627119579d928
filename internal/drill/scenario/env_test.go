package scenario

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/internal/drill/workload"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/sandbox"
)

func TestNewEnv(t *testing.T) {
	cl := modeltest.Cluster()
	cl.Etcd.ClientPort = 12379
	sb := sandbox.Config{StateDir: "/state", Bridge: "pghac0"}
	pc := &patroni.Client{Endpoints: []patroni.Endpoint{{Name: "node0", URL: "http://10.128.0.16:8008"}}}
	secrets := map[string]string{
		string(model.SecretSuperuserPassword): "super",
		"postgres_replication_password":       "repl",
		"role_app_password":                   "app-secret",
		"role_zeta_password":                  "zeta-secret",
	}
	if _, err := NewEnv(cl, sb, secrets, "", pc); !errors.Is(err, model.ErrNoClientRole) {
		t.Fatalf("NewEnv without a role that owns a database: %v, want ErrNoClientRole", err)
	}
	// The first role, by name, that owns a database: not the superuser, whom PgBouncer keeps out.
	cl.Roles = []model.Role{{Name: "alpha"}, {Name: "app"}, {Name: "zeta"}}
	cl.Databases = []model.Database{{Name: "appdb", Owner: "app"}, {Name: "z", Owner: "zeta"}}
	env, err := NewEnv(cl, sb, secrets, "/state/tls/ca.crt", pc)
	if err != nil {
		t.Fatal(err)
	}

	if env.Sandbox.StateDir != "/state" || env.Patroni != pc || !slices.Equal(env.Monitor.Patroni, pc.Endpoints) {
		t.Errorf("NewEnv does not keep the sandbox and the Patroni client: %+v", env)
	}
	if want := []string{"node0", "node1", "node2"}; !slices.Equal(env.Nodes, want) {
		t.Errorf("Nodes = %q, want %q", env.Nodes, want)
	}
	wantLoad := []workload.Node{
		{Name: "node0", Addr: netip.MustParseAddr("10.128.0.16")},
		{Name: "node1", Addr: netip.MustParseAddr("10.129.0.14")},
		{Name: "node2", Addr: netip.MustParseAddr("10.130.0.28")},
	}
	if l := env.Load; !slices.Equal(l.Nodes, wantLoad) || l.PrimaryPort != 5000 || l.ReplicaPort != 5001 ||
		l.User != "app" || l.Password != "app-secret" || l.Database != "appdb" || l.CACert != "/state/tls/ca.crt" {
		t.Errorf("Load = %+v", l)
	}
	wantEtcd := []string{"http://10.128.0.16:12379", "http://10.129.0.14:12379", "http://10.130.0.28:12379"}
	if !slices.Equal(env.Monitor.Etcd, wantEtcd) || env.Monitor.LeaderKey != "/service/main/leader" {
		t.Errorf("Monitor = %+v, want etcd %q and leader key /service/main/leader", env.Monitor, wantEtcd)
	}
	if env.MaxLag != 1<<20 || !env.Synchronous {
		t.Errorf("MaxLag %d, Synchronous %v: want HAProxy's replica lag limit and Patroni's synchronous mode", env.MaxLag, env.Synchronous)
	}
}

func TestLeaderKey(t *testing.T) {
	for _, ns := range []string{"/service/", "service", "/service", "service/"} {
		if got := leaderKey(model.Patroni{Namespace: ns, Scope: "main"}); got != "/service/main/leader" {
			t.Errorf("namespace %q: leader key %q, want /service/main/leader", ns, got)
		}
	}
}
