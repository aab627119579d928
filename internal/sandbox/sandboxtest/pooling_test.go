package sandboxtest

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
)

// testdata/transaction-pooling.hcl is what make bench-pooling compares the default session
// pooling with: the repository's cluster with transaction pooling, and nothing else changed
// but what follows from the pool mode (pool size, and max_connections and work_mem from it).
func TestTransactionPoolingFile(t *testing.T) {
	compile := func(path string) *model.Cluster {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, cl, diags := compiler.CompileSource(src, filepath.Base(path), model.TargetSandbox)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return cl
	}
	tx := compile("testdata/transaction-pooling.hcl")
	ours := compile(filepath.Join(repoRoot(t), "cluster.hcl"))
	if tx.PgBouncer.PoolMode != model.PoolTransaction || ours.PgBouncer.PoolMode != model.PoolSession {
		t.Fatalf("pool modes %q and %q, want transaction against cluster.hcl's session", tx.PgBouncer.PoolMode, ours.PgBouncer.PoolMode)
	}
	derived := map[string]bool{"max_connections": true, "work_mem": true}
	tx.PgBouncer.PoolMode, tx.PgBouncer.DefaultPoolSize = ours.PgBouncer.PoolMode, ours.PgBouncer.DefaultPoolSize
	for i, p := range tx.Postgres.Parameters {
		if derived[p.Name] {
			tx.Postgres.Parameters[i] = ours.Postgres.Parameters[i]
		}
	}
	// Source ranges differ: the variant has its own comment and pgbouncer block.
	if diff := cmp.Diff(ours, tx, cmpopts.IgnoreTypes(hcl.Range{}), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
		t.Errorf("transaction-pooling.hcl differs from cluster.hcl in more than pooling (-cluster.hcl +variant):\n%s", diff)
	}
}
