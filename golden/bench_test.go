package golden

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
)

// BenchmarkBuildRoot is decode + compile + emit of the repository's cluster.hcl, in memory:
// the work of `pghac build` without the disk.
func BenchmarkBuildRoot(b *testing.B) {
	src, err := os.ReadFile(rootFile)
	if err != nil {
		b.Fatal(err)
	}
	benchBuild(b, src)
}

// BenchmarkBuild99Nodes builds a cluster of 99 nodes, 33 in each of three zones, to show how
// the pipeline scales with the node count. Every node runs etcd (99 is odd).
func BenchmarkBuild99Nodes(b *testing.B) {
	src, err := os.ReadFile(rootFile)
	if err != nil {
		b.Fatal(err)
	}
	big, err := manyNodes(src, 99)
	if err != nil {
		b.Fatal(err)
	}
	benchBuild(b, big)
}

func benchBuild(b *testing.B, src []byte) {
	b.Helper()
	set, f, diags, err := BuildSource(src, "cluster.hcl", model.TargetYandex)
	if diags.HasErrors() || err != nil {
		txt, _ := RenderDiagnostics(diags, f.Files())
		b.Fatalf("the benchmark's cluster does not build: %v\n%s\n%s", err, txt, src)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := BuildSource(src, "cluster.hcl", model.TargetYandex); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(set.Len()), "files")
}

// manyNodes rewrites a cluster file (the root one) to have n nodes spread over three zones,
// each zone's subnet a /20, keeping everything else the file says.
func manyNodes(src []byte, n int) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, "cluster.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	zones := []string{"ru-central1-a", "ru-central1-b", "ru-central1-d"}
	base := netip.MustParseAddr("10.128.0.0").As4()
	for _, cl := range f.Body().Blocks() {
		if cl.Type() != "cluster" {
			continue
		}
		body := cl.Body()
		for _, b := range body.Blocks() {
			switch b.Type() {
			case "node", "load_generator":
				// The load generator's address is in the old subnets; it is not what scales.
				body.RemoveBlock(b)
			case "network":
				for _, s := range b.Body().Blocks() {
					if s.Type() == "subnet" {
						b.Body().RemoveBlock(s)
					}
				}
				for i, z := range zones {
					s := b.Body().AppendNewBlock("subnet", []string{z})
					s.Body().SetAttributeValue("cidr", cty.StringVal(fmt.Sprintf("%d.%d.%d.0/20", base[0], base[1], 16*i)))
				}
			}
		}
		for i := range n {
			zone := i % len(zones)
			node := body.AppendNewBlock("node", []string{fmt.Sprintf("node%02d", i)})
			node.Body().SetAttributeValue("zone", cty.StringVal(zones[zone]))
			node.Body().SetAttributeValue("address", cty.StringVal(fmt.Sprintf("%d.%d.%d.%d", base[0], base[1], 16*zone, 10+i/len(zones))))
		}
	}
	return hclwrite.Format(f.Bytes()), nil
}

// TestManyNodes keeps the benchmark's generated cluster valid as the schema evolves: the
// benchmarks themselves do not run in `go test`.
func TestManyNodes(t *testing.T) {
	src, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	big, err := manyNodes(src, 9)
	if err != nil {
		t.Fatal(err)
	}
	set, f, diags, err := BuildSource(big, "cluster.hcl", model.TargetYandex)
	if diags.HasErrors() || err != nil {
		txt, _ := RenderDiagnostics(diags, f.Files())
		t.Fatalf("%v\n%s\n%s", err, txt, big)
	}
	userData := 0
	for _, p := range set.Paths() {
		if strings.HasSuffix(p, "/user-data.yaml") {
			userData++
		}
	}
	if userData != 9 {
		t.Errorf("%d nodes built, want 9", userData)
	}
}
