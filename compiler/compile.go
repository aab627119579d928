package compiler

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// Compile resolves f for target. It returns the model only when there is no error
// diagnostic; warnings come with a model.
//
// The phases run in this order because later blocks read what earlier ones resolved (nodes
// need the network, Patroni and PostgreSQL the nodes and the image, roles the backend, ...);
// each block's rules live in the file named after it.
func Compile(f *schema.File, target model.Target) (*model.Cluster, hcl.Diagnostics) {
	var d diags
	if f == nil || f.Cluster == nil {
		var rng hcl.Range
		if f != nil {
			rng = hcl.Range{Filename: f.Filename, Start: hcl.InitialPos, End: hcl.InitialPos}
		}
		d.missingCluster(rng)
		return nil, d.Diagnostics
	}
	sc := f.Cluster
	c := &model.Cluster{Name: sc.Name, Target: target, DeclRange: sc.DefRange}
	checkCluster(&d, sc, target)

	cv := resolveClusterVM(&d, sc.VM, sc.Bastion != nil)
	var osOK bool
	c.OS, osOK = compileImage(&d, cv)

	c.Network = compileNetwork(&d, sc)
	c.Nodes = compileNodes(&d, sc, cv, c.Network, target)
	c.DevSingleNode = deref(sc.DevSingleNode, false)
	c.DeletionProtection = deref(sc.DeletionProtection, true)
	checkQuorum(&d, sc, c)
	c.Etcd = compileEtcd(&d, sc, c)
	c.Patroni = compilePatroni(&d, sc, c)
	c.PgBouncer = compilePgBouncer(&d, sc.PgBouncer)
	c.HAProxy = compileHAProxy(&d, sc.HAProxy)
	c.Postgres = compilePostgres(&d, sc, c, osOK)
	c.Backup = compileBackup(&d, sc, c, target)
	c.Backend = compileBackend(&d, sc.Backend, c.Network, target)
	c.Roles = compileRoles(&d, sc, c)
	c.Databases = compileDatabases(&d, sc, c)
	c.LoadGenerator = compileLoadGenerator(&d, sc, cv, c, target)
	c.Bastion = compileBastion(&d, sc, cv, c, target)
	c.LoadBalancer = compileLoadBalancer(&d, sc, c.Network, c.Nodes)
	c.TLS = compileTLS(&d, sc)
	c.State = compileState(&d, sc)
	c.LoadTests = compileLoadTests(&d, sc, c)
	checkPorts(&d, sc, c)
	sandbox := compileSandbox(&d, sc)
	if target == model.TargetSandbox {
		c.Sandbox = sandbox
		localize(&d, sc, c, cv)
	}

	if d.HasErrors() {
		return nil, d.Diagnostics
	}
	return c, d.Diagnostics
}
