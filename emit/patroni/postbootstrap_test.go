package patroni

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/artifact"
)

// The script runs for real in TestBootstrap (a real Patroni bootstraps with it, then it runs
// again); these pin what that test cannot see.
func TestPostBootstrap(t *testing.T) {
	c := modeltest.Cluster()
	c.Backend = &model.Backend{Port: 8080, User: "notes", Database: "notes"}
	c.Roles = []model.Role{{Name: "shop", ConnectionLimit: 50}}
	c.Databases = []model.Database{{Name: "shop_db", Owner: "shop", ConnectionLimit: -1}}
	part, err := NodePart(c, c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(part.Files, func(f artifact.NodeFile) bool { return f.Path == PostBootstrapPath })
	if i < 0 {
		t.Fatalf("files %v, want the post_bootstrap script", part.Files)
	}
	f := part.Files[i]
	if f.Path != PostBootstrapPath || f.Owner != "postgres:postgres" || f.Mode.Perm() != 0o700 {
		t.Errorf("post_bootstrap file = %s %s %v, want %s postgres:postgres 0700", f.Path, f.Owner, f.Mode, PostBootstrapPath)
	}
	if out, err := exec.Command("sh", "-n", "-c", string(f.Bytes)).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s", err, out)
	}
	script := string(f.Bytes)
	// Passwords only inside the here-document psql reads, never on a command line.
	before, heredoc, ok := strings.Cut(script, "<<'SQL'\n")
	if !ok || strings.Contains(before, "${") {
		t.Errorf("a placeholder before the here-document:\n%s", before)
	}
	for _, want := range []string{
		`\set password '${role_shop_password}'`,
		`ALTER ROLE :"role" LOGIN PASSWORD :'password' CONNECTION LIMIT 50;`,
		`\set db shop_db` + "\n" + `\set role shop`,
		`\set password '${` + string(model.SecretPgBouncerAuthPassword) + `}'`,
		`\set password '${` + string(model.SecretBackendPassword) + `}'`,
		"\\connect template1\n", "\\connect postgres\n",
	} {
		if !strings.Contains(heredoc, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	// The roles a database needs exist before it.
	if strings.Index(script, `\set role shop`) > strings.Index(script, `\set db shop_db`) {
		t.Error("database shop_db comes before its owner")
	}
	if !strings.HasSuffix(script, "\nSQL\n") {
		t.Error("the here-document is not closed at the end")
	}
}
