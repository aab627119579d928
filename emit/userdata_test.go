package emit_test

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/cloudinit"
	"github.com/pghac/pghac/emit/haproxy"
	"github.com/pghac/pghac/emit/loadtest"
	"github.com/pghac/pghac/emit/patroni"
)

// These tests read the user-data that the real families' parts make together: the boot
// sequence across families, which no family and not cloudinit alone can see.

// userData is what the tests read back from a user-data document.
type userData struct {
	WriteFiles []struct {
		Path        string `yaml:"path"`
		Owner       string `yaml:"owner"`
		Permissions string `yaml:"permissions"`
		Defer       bool   `yaml:"defer"`
		Encoding    string `yaml:"encoding"`
		Content     string `yaml:"content"`
	} `yaml:"write_files"`
	RunCmd []string `yaml:"runcmd"`
}

// build builds c and returns the set and the parsed user-data at path.
func build(t *testing.T, c *model.Cluster, path string) (*artifact.Set, userData) {
	t.Helper()
	s, err := emit.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := s.Get(path)
	if !ok {
		t.Fatalf("no %s", path)
	}
	var ud userData
	if err := yaml.Unmarshal(f.Bytes, &ud); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return s, ud
}

// TestBuildBootSequence pins a node's runcmd: the package clean-up, the metadata guard and the
// filling in of the secrets (every file with a placeholder, in write order) before any service
// starts, then each family's boot lines in dependency order (etcd, Patroni with its package
// held and its etcd3 fix first, PgBouncer, HAProxy), and the etcd3 fix script written last, by
// the user-data only.
func TestBuildBootSequence(t *testing.T) {
	c := modeltest.Cluster()
	s, ud := build(t, c, "nodes/node1/user-data.yaml")
	wantRun := []string{
		"set -eux",
		"rm -f /usr/sbin/policy-rc.d",
		"if [ -d /etc/postgresql/15/main ]; then pg_dropcluster --stop 15 main; fi",
		"systemctl daemon-reload",
		"systemctl enable --now pghac-metadata-guard.service",
		"/usr/bin/python3 -I /usr/local/lib/pghac/secrets.py /etc/pghac/tls/ca.crt /etc/pghac/tls/node.pem /etc/pghac/tls/service.pem /etc/patroni/config.yml /etc/patroni/pgbouncer-admin.pgpass " +
			"/etc/patroni/post-bootstrap.sh /etc/pgbouncer/userlist.txt /etc/haproxy/haproxy.cfg",
		"systemctl enable etcd",
		"systemctl restart --no-block etcd",
		"apt-mark hold patroni",
		"/usr/bin/python3 -I /usr/local/lib/pghac/patroni-etcd3-fix.py /usr/lib/python3/dist-packages/patroni/dcs/etcd3.py",
		"systemctl enable patroni",
		"systemctl restart --no-block patroni",
		"systemctl enable pgbouncer",
		"systemctl restart pgbouncer",
		"[ -e /var/lib/haproxy/server-state ] || echo 1 > /var/lib/haproxy/server-state",
		"systemctl enable haproxy",
		"systemctl restart haproxy",
	}
	if diff := cmp.Diff(wantRun, ud.RunCmd); diff != "" {
		t.Errorf("runcmd (-want +got):\n%s", diff)
	}
	// The files filled in are exactly those written with a placeholder, in write order.
	var withPlaceholder []string
	for _, wf := range ud.WriteFiles {
		if strings.Contains(wf.Content, "${") {
			withPlaceholder = append(withPlaceholder, wf.Path)
		}
	}
	if want := "/usr/bin/python3 -I " + cloudinit.SecretsScriptPath + " " + strings.Join(withPlaceholder, " "); !slices.Contains(ud.RunCmd, want) {
		t.Errorf("runcmd does not fill in the files with placeholders (%s):\n%s", want, strings.Join(ud.RunCmd, "\n"))
	}
	// The tools the boot and the services run come last, written by the user-data only.
	tools := map[string]string{patroni.Etcd3FixPath: string(patroni.Etcd3Fix(c).Bytes), haproxy.SaveStatePath: haproxy.SaveStateScript}
	for _, wf := range ud.WriteFiles[len(ud.WriteFiles)-len(tools):] {
		if want, ok := tools[wf.Path]; !ok || !wf.Defer || wf.Owner != "root:root" || wf.Permissions != "0755" || wf.Content != want {
			t.Errorf("write_files entry %s owner %s permissions %s defer %v: want one of the deferred tools, root's, 0755",
				wf.Path, wf.Owner, wf.Permissions, wf.Defer)
		}
		delete(tools, wf.Path)
		if _, ok := s.Get("nodes/node1/files" + wf.Path); ok {
			t.Errorf("%s is in the deploy tree, want it in the user-data only", wf.Path)
		}
	}
	if len(tools) > 0 {
		t.Errorf("tools not written last: %v", tools)
	}
}

// TestBuildEtcd3Fix checks that the etcd3 fix is written and run only for Patroni 3.0, that
// its script runs before Patroni is enabled or started, and that patroni.service re-applies it
// before every start.
func TestBuildEtcd3Fix(t *testing.T) {
	for _, version := range []string{"3.0", "2.1", "3.2"} {
		t.Run(version, func(t *testing.T) {
			c := modeltest.Cluster()
			c.OS.PatroniVersion = version
			s, ud := build(t, c, "nodes/node0/user-data.yaml")
			written := false
			for _, f := range ud.WriteFiles {
				written = written || f.Path == patroni.Etcd3FixPath
			}
			run := slices.IndexFunc(ud.RunCmd, func(cmd string) bool { return strings.Contains(cmd, patroni.Etcd3FixPath) })
			dropIn, _ := s.Get("nodes/node0/files/etc/systemd/system/patroni.service.d/pghac.conf")
			preStart := bytes.Contains(dropIn.Bytes, []byte("\nExecStartPre=+/usr/bin/python3 -I "+patroni.Etcd3FixPath+" "))
			if want := version == "3.0"; written != want || (run >= 0) != want || preStart != want {
				t.Fatalf("Patroni %s: fix written %v, run %v, run before every start %v; want all %v", version, written, run >= 0, preStart, want)
			}
			if run >= 0 {
				enable, restart := slices.Index(ud.RunCmd, "systemctl enable patroni"), slices.Index(ud.RunCmd, "systemctl restart --no-block patroni")
				if enable < run || restart < run {
					t.Errorf("the fix runs after Patroni is enabled or started:\n%s", strings.Join(ud.RunCmd, "\n"))
				}
			}
		})
	}
}

func TestBuildEtcdNonMember(t *testing.T) {
	c := modeltest.Cluster()
	c.Nodes[2].EtcdMember = false
	c.OS.DefaultCluster = ""
	_, ud := build(t, c, "nodes/node2/user-data.yaml")

	idx := func(cmd string) int { return slices.Index(ud.RunCmd, cmd) }
	disable, mask := idx("systemctl disable --now etcd"), idx("systemctl mask etcd")
	if disable < 0 || mask < disable {
		t.Errorf("runcmd does not disable and then mask etcd:\n%s", strings.Join(ud.RunCmd, "\n"))
	}
	for _, cmd := range ud.RunCmd {
		if strings.Contains(cmd, "enable etcd") || strings.Contains(cmd, "restart --no-block etcd") {
			t.Errorf("non-member starts etcd: %q", cmd)
		}
		if strings.Contains(cmd, "pg_dropcluster") {
			t.Errorf("no default cluster, yet runcmd has %q", cmd)
		}
	}
	if pat := idx("systemctl restart --no-block patroni"); pat < mask || idx("systemctl restart pgbouncer") < pat ||
		idx("systemctl restart haproxy") < idx("systemctl restart pgbouncer") {
		t.Errorf("runcmd order is not etcd < patroni < pgbouncer < haproxy:\n%s", strings.Join(ud.RunCmd, "\n"))
	}
}

// TestBuildRunCmdShell checks runcmd with the node's shell, as cloud-init joins it: one
// /bin/sh script, one line per entry, for an etcd member and a node that is none, with a
// backend.
func TestBuildRunCmdShell(t *testing.T) {
	c := modeltest.Cluster()
	c.Nodes[2].EtcdMember = false
	c.Backend = &model.Backend{Port: 8080, Database: "notes", User: "notes",
		ArtifactURL: "https://example.com/pghac-backend", ArtifactSHA256: strings.Repeat("ab", 32)}
	for _, node := range []string{"node0", "node2"} {
		_, ud := build(t, c, "nodes/"+node+"/user-data.yaml")
		script := "#!/bin/sh\n" + strings.Join(ud.RunCmd, "\n") + "\n"
		out, err := exec.Command("/bin/sh", "-n", "-c", script).CombinedOutput()
		if err != nil {
			t.Errorf("%s: sh -n: %v\n%s\n%s", node, err, out, script)
		}
	}
}

// TestBuildLoadGenerator decodes the load generator's write_files as cloud-init would and
// compares them with the bundle in the deploy tree: byte for byte, CRLF ammo included.
func TestBuildLoadGenerator(t *testing.T) {
	c := modeltest.Cluster()
	c.Backend = &model.Backend{Port: 8080, Database: "notes", User: "notes",
		ArtifactURL: "https://example.com/pghac-backend", ArtifactSHA256: strings.Repeat("ab", 32)}
	c.LoadTests = []model.LoadTest{{Name: "mixed", Schedule: "const(1, 10s)", Duration: 10 * time.Second,
		Ammo: []string{model.AmmoGet, model.AmmoPost}, Node: c.Nodes[0].Name, Instances: 10, Timeout: time.Second}}
	c.LoadGenerator = &model.LoadGenerator{Name: "loadgen", Zone: c.Nodes[0].Zone, Address: netip.MustParseAddr("10.128.0.30"),
		VM: c.Nodes[0].VM, ArtifactURL: "https://example.com/pghac", ArtifactSHA256: strings.Repeat("ab", 32)}
	s, ud := build(t, c, cloudinit.LoadGeneratorUserDataPath)
	var bundle []artifact.File
	for _, f := range s.Files() {
		if strings.HasPrefix(f.Path, loadtest.Dir+"/") {
			bundle = append(bundle, f)
		}
	}
	// The bundle, then the metadata guard's two files.
	if len(bundle) == 0 || len(ud.WriteFiles) != len(bundle)+2 {
		t.Fatalf("%d files written, want the bundle's %d and the metadata guard's 2", len(ud.WriteFiles), len(bundle))
	}
	for i, f := range bundle {
		w := ud.WriteFiles[i]
		got := []byte(w.Content)
		if w.Encoding == "b64" {
			// Python's b64decode, which cloud-init uses, drops the line breaks too.
			var err error
			if got, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(w.Content, "\n", "")); err != nil {
				t.Fatal(err)
			}
		}
		if want := cloudinit.BundleDir + strings.TrimPrefix(f.Path, loadtest.Dir); w.Path != want || !bytes.Equal(got, f.Bytes) {
			t.Errorf("write_files[%d]: %s (%d bytes), want %s as in the bundle (%d bytes)", i, w.Path, len(got), want, len(f.Bytes))
		}
	}
	if !strings.Contains(strings.Join(ud.RunCmd, "\n"), "install --mode 0755 "+cloudinit.PghacPath+".download "+cloudinit.PghacPath) {
		t.Errorf("runcmd does not install pghac:\n%s", strings.Join(ud.RunCmd, "\n"))
	}
}
