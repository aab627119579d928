package emit

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/backend"
	"github.com/pghac/pghac/emit/certs"
	"github.com/pghac/pghac/emit/cloudinit"
	"github.com/pghac/pghac/emit/etcd"
	"github.com/pghac/pghac/emit/haproxy"
	"github.com/pghac/pghac/emit/loadtest"
	"github.com/pghac/pghac/emit/patroni"
	"github.com/pghac/pghac/emit/pgbackrest"
	"github.com/pghac/pghac/emit/pgbouncer"
	"github.com/pghac/pghac/emit/sandboxtf"
	"github.com/pghac/pghac/emit/systemd"
	"github.com/pghac/pghac/emit/terraform"
)

// nodeFamily emits its part of one node: the files cloud-init writes there, its boot lines.
type nodeFamily struct {
	name string
	part func(c *model.Cluster, n model.Node) (artifact.NodePart, error)
}

// clusterFamily emits deploy-tree files that belong to the cluster as a whole.
type clusterFamily struct {
	name  string
	files func(c *model.Cluster) ([]artifact.File, error)
}

// nodeFamilies run in this order for every node, and their files appear in the node's
// user-data in this order. So do their boot lines, which start the services in dependency
// order: etcd, Patroni, PgBouncer in front of PostgreSQL, HAProxy in front of PgBouncer, and
// last the notes backend, which serves through HAProxy.
var nodeFamilies = []nodeFamily{
	{"certs", certs.NodePart},
	{"etcd", etcd.NodePart},
	{"patroni", patroni.NodePart},
	{"pgbouncer", pgbouncer.NodePart},
	{"haproxy", haproxy.NodePart},
	{"systemd", systemdPart},
	{"pgbackrest", pgbackrest.NodePart},
	{"backend", backend.NodePart},
}

// systemdPart is the systemd family's part, with patroni.service re-applying the patroni
// family's etcd3 fix before every start and etcd.service starting through the etcd family's
// boot script: families import no other family, so it is wired here.
func systemdPart(c *model.Cluster, n model.Node) (artifact.NodePart, error) {
	return systemd.NodePart(c, n, systemd.Hooks{Etcd3Fix: patroni.Etcd3FixCommands(c), EtcdExecStart: etcd.ExecStart()})
}

// clusterFamilies run after every node's files are in the set (terraform reads the user-data
// files by path). Each Terraform family emits for its own target only. loadtest joins here.
var clusterFamilies = []clusterFamily{
	{"terraform", terraform.Files},
	{"sandboxtf", sandboxtf.Files},
	{"loadtest", loadtest.Files},
	{"loadgen", loadGenerator},
}

// loadGenerator is the load generator's user-data, which carries the loadtest family's bundle:
// families import no other family, so it is handed to cloudinit here.
func loadGenerator(c *model.Cluster) ([]artifact.File, error) {
	bundle, err := loadtest.Bundle(c)
	if err != nil {
		return nil, err
	}
	return cloudinit.LoadGeneratorFiles(c, bundle, loadtest.ConfigFile)
}

// userDataFamily names the family that packs a node's parts into its user-data.
const userDataFamily = "cloudinit"

// Error is a failure while emitting or self-checking: a pghac bug, never a problem of the
// user's cluster.hcl (the compiler has reported those before emit runs).
type Error struct {
	// Family is the emitter family that produced the artifact, e.g. "patroni".
	Family string
	// Path is the artifact's path in the deploy tree, or the node's directory when the family
	// failed before naming a file.
	Path string
	Err  error
}

// Error says which emitter failed on which artifact, and that it is a bug.
func (e *Error) Error() string {
	msg := e.Err.Error()
	if !strings.HasPrefix(msg, e.Path+": ") {
		msg = e.Path + ": " + msg
	}
	if e.Family == "" {
		return "internal error (a pghac bug): " + msg
	}
	return fmt.Sprintf("internal error in the %s emitter (a pghac bug): %s", e.Family, msg)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Build emits the deploy tree of c: for every node (in c.Nodes order) the files of each node
// family under nodes/<node>/files/ and the user-data that writes them and runs the families'
// boot lines, then the cluster-wide families. The result has passed Check. Every error is an
// *Error, or several joined.
func Build(c *model.Cluster) (*artifact.Set, error) {
	return build(c, nodeFamilies, clusterFamilies)
}

func build(c *model.Cluster, nodeFams []nodeFamily, clusterFams []clusterFamily) (*artifact.Set, error) {
	s := &artifact.Set{}
	// family by artifact path, so that a failed self-check blames the right emitter.
	owner := map[string]string{}
	add := func(o owned) error {
		if err := s.Add(o.file); err != nil {
			return &Error{Family: o.family, Path: o.file.Path, Err: err}
		}
		owner[o.file.Path] = o.family
		return nil
	}
	// Nodes are independent and their output grows with the node count (every node's HAProxy
	// and etcd settings list every node), so they are emitted in parallel; the results are
	// added in node order, so the set and the first error reported are the same every run.
	perNode := make([][]owned, len(c.Nodes))
	errs := make([]error, len(c.Nodes))
	parallel(len(c.Nodes), func(i int) { perNode[i], errs[i] = emitNode(c, c.Nodes[i], nodeFams) })
	for i := range c.Nodes {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, o := range perNode[i] {
			if err := add(o); err != nil {
				return nil, err
			}
		}
	}
	for _, fam := range clusterFams {
		files, err := fam.files(c)
		if err != nil {
			return nil, &Error{Family: fam.name, Path: ".", Err: err}
		}
		for _, f := range files {
			if err := add(owned{fam.name, f}); err != nil {
				return nil, err
			}
		}
	}
	if problems := check(s, c); len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, e := range problems {
			e.Family = owner[e.Path]
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// owned is an emitted file and the family that emitted it.
type owned struct {
	family string
	file   artifact.File
}

// emitNode returns node n's files under nodes/<node>/files/, then its user-data. A part's
// BootFiles go into the user-data only.
func emitNode(c *model.Cluster, n model.Node, fams []nodeFamily) ([]owned, error) {
	var out []owned
	parts := make([]artifact.NodePart, 0, len(fams))
	seen := map[string]bool{}
	for _, fam := range fams {
		part, err := fam.part(c, n)
		if err != nil {
			return nil, &Error{Family: fam.name, Path: nodeDir(n.Name), Err: err}
		}
		for _, f := range part.Files {
			p, err := nodeFilePath(n.Name, f.Path)
			if err != nil {
				return nil, &Error{Family: fam.name, Path: nodeDir(n.Name), Err: err}
			}
			if seen[p] {
				// Blame the second family here, before cloud-init refuses the duplicate.
				return nil, &Error{Family: fam.name, Path: p, Err: errors.New("emitted twice")}
			}
			seen[p] = true
			// Git keeps only the executable bit; the mode and owner on the node are in the
			// user-data.
			out = append(out, owned{fam.name, artifact.File{Path: p, Mode: 0o644, Bytes: f.Bytes}})
		}
		parts = append(parts, part)
	}
	p := userDataPath(n.Name)
	ud, err := cloudinit.UserData(c, n, parts)
	if err != nil {
		return nil, &Error{Family: userDataFamily, Path: p, Err: err}
	}
	return append(out, owned{userDataFamily, artifact.File{Path: p, Mode: 0o644, Bytes: ud}}), nil
}

// parallel runs f(0) ... f(n-1) on up to GOMAXPROCS goroutines and waits for all of them.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func nodeDir(node string) string { return "nodes/" + node }

func userDataPath(node string) string { return nodeDir(node) + "/user-data.yaml" }

// nodeFilePath is where a file written on node at p (absolute) goes in the deploy tree.
func nodeFilePath(node, p string) (string, error) {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("node file %q: want a clean absolute path", p)
	}
	return nodeDir(node) + "/files" + p, nil
}
