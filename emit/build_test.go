package emit_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/golden/realcheck"
)

// nodeFiles are the files every node of modeltest.Cluster gets, by path on the node. The
// golden tests pin their content; this pins the layout.
var nodeFiles = []string{
	"/etc/default/etcd",
	"/etc/haproxy/haproxy.cfg",
	"/etc/patroni/config.yml",
	"/etc/patroni/pgbouncer-admin.pgpass",
	"/etc/patroni/pgbouncer-reconnect.sh",
	"/etc/patroni/post-bootstrap.sh",
	"/etc/pgbouncer/pgbouncer.ini",
	"/etc/pgbouncer/userlist.txt",
	"/etc/pghac/tls/ca.crt",
	"/etc/pghac/tls/node.pem",
	"/etc/pghac/tls/service.pem",
	"/etc/systemd/system/etcd.service.d/pghac.conf",
	"/etc/systemd/system/haproxy.service.d/pghac.conf",
	"/etc/systemd/system/patroni.service.d/pghac.conf",
	"/etc/systemd/system/pgbouncer.service.d/pghac.conf",
}

func TestBuild(t *testing.T) {
	c := modeltest.Cluster()
	s, err := emit.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range c.Nodes {
		for _, p := range nodeFiles {
			want = append(want, "nodes/"+n.Name+"/files"+p)
		}
		want = append(want, "nodes/"+n.Name+"/user-data.yaml")
	}
	// The Terraform root module, which reads those user-data files, with the Lockbox secret
	// the nodes fill their placeholders in from.
	want = append(want, "network.tf", "nodes.tf", "outputs.tf", "provider.tf", "secrets.tf", "security.tf", "variables.tf", "versions.tf")
	sort.Strings(want)
	if diff := cmp.Diff(want, s.Paths()); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if err := emit.Check(s, c); err != nil {
		t.Errorf("Build's output fails Check: %v", err)
	}

	// Each node's own files are what its user-data carries.
	for _, n := range c.Nodes {
		ud, _ := s.Get("nodes/" + n.Name + "/user-data.yaml")
		for _, p := range nodeFiles {
			f, ok := s.Get("nodes/" + n.Name + "/files" + p)
			if !ok {
				continue
			}
			if !bytes.Contains(ud.Bytes, []byte("path: "+p+"\n")) {
				t.Errorf("%s user-data does not write %s", n.Name, p)
			}
			if f.Mode != 0o644 {
				t.Errorf("%s: mode %v, want 0644", f.Path, f.Mode)
			}
		}
	}

	again, err := emit.Build(modeltest.Cluster())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.Files(), again.Files()); diff != "" {
		t.Errorf("second Build differs (-first +second):\n%s", diff)
	}
}

// TestBuildUserDataCloudInit runs the installed cloud-init's validator on every node's
// user-data, rendered with test secrets as its files are once the node filled them in.
func TestBuildUserDataCloudInit(t *testing.T) {
	c := modeltest.Cluster()
	s, err := emit.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range c.Nodes {
		ud, ok := s.Get("nodes/" + n.Name + "/user-data.yaml")
		if !ok {
			t.Fatalf("no user-data for %s", n.Name)
		}
		path := filepath.Join(dir, n.Name+".yaml")
		if err := os.WriteFile(path, realcheck.Render(ud.Bytes), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := realcheck.CloudInit(context.Background(), path); err != nil {
			t.Errorf("%s: %v", n.Name, err)
		}
	}
}
