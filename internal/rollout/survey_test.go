package rollout

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/internal/remote"
	"github.com/pghac/pghac/internal/remote/sshdtest"
)

// TestSurveyFiles reads the "node's" files over real SSH: the node is this host, through
// OpenSSH's sshd on loopback, and the files live in a temporary folder.
func TestSurveyFiles(t *testing.T) {
	priv, pub, err := remote.NewOperatorKey("test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "key")
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := remote.LoadOperatorKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := sshdtest.Start(t, pub, false, "")
	c, err := remote.Dial(context.Background(), remote.Endpoint{Addr: srv.Addr, User: "root"},
		remote.Options{Key: key, HostKeys: remote.NewHostKeys(filepath.Join(dir, "known_hosts"))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const secret = "S3cretValueS3cretValue"
	// A re-issued certificate: the node has the old one and its key, which no secret's
	// current value is.
	const oldKey = "-----BEGIN EC PRIVATE KEY-----\nOLDKEYOLDKEY\n-----END EC PRIVATE KEY-----\n"
	const oldPEM = "-----BEGIN CERTIFICATE-----\nOLDCERT\n-----END CERTIFICATE-----\n" + oldKey
	const newPEM = "-----BEGIN CERTIFICATE-----\nNEWCERT\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nNEWKEY\n-----END EC PRIVATE KEY-----\n"
	have := map[string]string{"same": "a\n", "changed": "password: " + secret + "\nold line\n", "mode": "m\n", "node.pem": oldPEM}
	for name, content := range have {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := func(name, content string, mode os.FileMode) File {
		return File{Path: filepath.Join(dir, name), Content: []byte(content), Mode: mode, Owner: "root:root"}
	}
	want := []File{
		file("same", "a\n", 0o644),
		file("changed", "password: "+secret+"\nnew line\n", 0o644),
		file("mode", "m\n", 0o600),
		file("missing", "new\n", 0o644),
		file("node.pem", newPEM, 0o640),
	}
	// An obsolete file the node has is removed; one it lacks, or one the tree still gives, is not.
	defer func(o []string) { obsolete = o }(obsolete)
	obsolete = []string{filepath.Join(dir, "gone"), filepath.Join(dir, "never"), filepath.Join(dir, "same")}
	if err := os.WriteFile(filepath.Join(dir, "gone"), []byte("old timer\n"+oldKey), 0o644); err != nil {
		t.Fatal(err)
	}
	np := SurveyFiles(context.Background(), "node0", c, want, map[string]string{"pw": secret, "tls_node_node0": newPEM})
	if np.Err != nil {
		t.Fatal(np.Err)
	}
	kinds := map[string]string{}
	for _, f := range np.Files {
		kinds[filepath.Base(f.Path)] = f.Kind
		for _, s := range []string{secret, "OLDKEY", "OLDCERT", "NEWKEY", "NEWCERT"} {
			if strings.Contains(f.Diff, s) {
				t.Errorf("%s: the diff shows %s:\n%s", f.Path, s, f.Diff)
			}
		}
	}
	if diff := cmp.Diff(map[string]string{"changed": "changed", "mode": "mode", "missing": "added", "gone": KindRemoved, "node.pem": "changed"}, kinds); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	for _, f := range np.Files {
		if filepath.Base(f.Path) == "changed" && (!strings.Contains(f.Diff, "-old line") || !strings.Contains(f.Diff, "+new line") || !strings.Contains(f.Diff, "password: ${pw}")) {
			t.Errorf("the diff of a changed file:\n%s", f.Diff)
		}
		if filepath.Base(f.Path) == "node.pem" && (!strings.Contains(f.Diff, "-(an earlier ${tls_node_node0})") || !strings.Contains(f.Diff, "+${tls_node_node0}")) {
			t.Errorf("the diff of a re-issued certificate:\n%s", f.Diff)
		}
		if f.Kind == KindRemoved && (!strings.Contains(f.Diff, "-old timer") || !strings.Contains(f.Diff, "-(a private key, not shown)")) {
			t.Errorf("the diff of a removed file:\n%s", f.Diff)
		}
	}
}

func TestActions(t *testing.T) {
	np := NodePlan{Files: []FileChange{
		{File: File{Path: "/etc/pgbouncer/pgbouncer.ini"}, Actions: actionFor("/etc/pgbouncer/pgbouncer.ini")},
		{File: File{Path: "/etc/pgbouncer/userlist.txt"}, Actions: actionFor("/etc/pgbouncer/userlist.txt")},
		{File: File{Path: "/etc/systemd/system/etcd.service.d/pghac.conf"}, Actions: actionFor("/etc/systemd/system/etcd.service.d/pghac.conf")},
		{File: File{Path: "/etc/patroni/post-bootstrap.sh"}, Actions: actionFor("/etc/patroni/post-bootstrap.sh")},
		{File: File{Path: "/etc/systemd/system/patroni.service.d/pghac.conf"}, Actions: actionFor("/etc/systemd/system/patroni.service.d/pghac.conf")},
	}}
	want := []Action{ActionDaemonReload, ActionReloadPgBouncer, ActionRestartEtcd}
	if got := np.Actions(); !slices.Equal(got, want) {
		t.Errorf("Actions = %q, want %q", got, want)
	}
	// TLS files: each reloads what reads it, none restarts anything.
	for p, want := range map[string][]Action{
		"/etc/pghac/tls/node.pem":    {ActionReloadPostgres},
		"/etc/pghac/tls/service.pem": {ActionReloadPgBouncer, ActionReloadHAProxy, ActionReloadBackend},
		"/etc/pghac/tls/ca.crt":      {ActionReloadPgBouncer, ActionReloadPostgres},
	} {
		if got := actionFor(p); !slices.Equal(got, want) {
			t.Errorf("actionFor(%s) = %q, want %q", p, got, want)
		}
	}
}

// TestDiffDCS compares the repository's generated dynamic configuration with itself as
// Patroni's JSON gives it back (numbers as floats), then with changes.
func TestDiffDCS(t *testing.T) {
	rendered, err := RenderTemplate(userData(t), "user-data.yaml", testVars(t, userData(t)))
	if err != nil {
		t.Fatal(err)
	}
	files, err := ManagedFiles(rendered)
	if err != nil {
		t.Fatal(err)
	}
	var cfg []byte
	for _, f := range files {
		if f.Path == "/etc/patroni/config.yml" {
			cfg = f.Content
		}
	}
	want, err := DCS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(want)
	var have map[string]any
	if err := json.Unmarshal(b, &have); err != nil {
		t.Fatal(err)
	}
	have["check_timeline"] = true // Patroni's own keys stay
	if got := DiffDCS(have, want); len(got) != 0 {
		t.Fatalf("the same configuration differs: %+v", got)
	}

	params := want["postgresql"].(map[string]any)["parameters"].(map[string]any)
	params["work_mem"] = "16MB"
	params["statement_timeout"] = "30s"
	delete(params, "random_page_cost")
	want["ttl"] = 30
	got := DiffDCS(have, want)
	wantSettings := []Setting{
		{Key: "postgresql.parameters.random_page_cost", Have: "1.1"},
		{Key: "postgresql.parameters.statement_timeout", Want: "30s"},
		{Key: "postgresql.parameters.work_mem", Have: "9532kB", Want: "16MB"},
		{Key: "ttl", Have: float64(20), Want: 30},
	}
	if diff := cmp.Diff(wantSettings, got); diff != "" {
		t.Errorf("DiffDCS (-want +got):\n%s", diff)
	}
	patch := Patch(got)
	wantPatch := map[string]any{"ttl": 30, "postgresql": map[string]any{"parameters": map[string]any{
		"random_page_cost": nil, "statement_timeout": "30s", "work_mem": "16MB"}}}
	if diff := cmp.Diff(wantPatch, patch); diff != "" {
		t.Errorf("Patch (-want +got):\n%s", diff)
	}
}
