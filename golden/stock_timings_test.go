package golden

import (
	"os"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
)

// stockTimings is the cluster `make drill-compare` runs pghac's defaults against
// (BENCHMARKS.md): it must compile, and carry Patroni's, HAProxy's and etcd's stock timings and
// nothing else of its own. The full pipeline's fixtures are tested here, where compiling is
// allowed; the drill package only reads the model.
const stockTimings = "../internal/drill/scenario/testdata/stock-timings.hcl"

func TestStockTimingsFile(t *testing.T) {
	src, err := os.ReadFile(stockTimings)
	if err != nil {
		t.Fatal(err)
	}
	_, stock, diags := compiler.CompileSource(src, "stock-timings.hcl", model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, c := stock.Patroni, stock.HAProxy.Check
	if p.TTL != 30 || p.LoopWait != 10 || p.RetryTimeout != 10 {
		t.Errorf("patroni ttl/loop_wait/retry_timeout = %d/%d/%d, want Patroni's defaults 30/10/10", p.TTL, p.LoopWait, p.RetryTimeout)
	}
	if c.Inter != 3*time.Second || c.Fall != 3 || c.Rise != 2 {
		t.Errorf("haproxy check = inter %s fall %d rise %d, want inter 3s fall 3 rise 2", c.Inter, c.Fall, c.Rise)
	}

	// Everything else is the repository's cluster.
	root, err := os.ReadFile("../cluster.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, ours, diags := compiler.CompileSource(root, "cluster.hcl", model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if e := stock.Etcd; e.HeartbeatInterval != 100*time.Millisecond || e.ElectionTimeout != time.Second {
		t.Errorf("etcd heartbeat %s, election %s; want etcd's defaults 100ms, 1s", e.HeartbeatInterval, e.ElectionTimeout)
	}
	stock.Etcd.HeartbeatInterval, stock.Etcd.ElectionTimeout = ours.Etcd.HeartbeatInterval, ours.Etcd.ElectionTimeout
	stock.Patroni.TTL, stock.Patroni.LoopWait, stock.Patroni.RetryTimeout = ours.Patroni.TTL, ours.Patroni.LoopWait, ours.Patroni.RetryTimeout
	stock.HAProxy.Check = ours.HAProxy.Check
	if a, b := stock.Nodes, ours.Nodes; len(a) != len(b) || stock.Patroni != ours.Patroni || stock.HAProxy.ReplicaMaxLagBytes != ours.HAProxy.ReplicaMaxLagBytes ||
		stock.Etcd.ClientPort != ours.Etcd.ClientPort || stock.Etcd.HeartbeatInterval != ours.Etcd.HeartbeatInterval {
		t.Errorf("stock-timings.hcl differs from cluster.hcl in more than the timings")
	}
}
