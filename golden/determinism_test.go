package golden

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/pghac/pghac/emit/artifact"
)

// TestDeterminism builds every valid case several times, and once more from a copy whose
// blocks come in another order where order means nothing: the output must not change.
// Building again catches maps ranged while emitting; reordering catches output that follows
// the file's order instead of the model's sorted one.
func TestDeterminism(t *testing.T) {
	for _, c := range validCases(t) {
		t.Run(c.name, func(t *testing.T) {
			first := buildValid(t, c)
			for range 2 {
				for i, b := range buildValid(t, c) {
					if diff := diffSets(first[i].set, b.set); diff != "" {
						t.Fatalf("%s: building again gives other output (-first +again):\n%s", b.target, diff)
					}
				}
			}

			shuffled, err := reorderBlocks(c.src)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(shuffled, c.src) {
				t.Fatal("reordering changed nothing: the test would prove nothing")
			}
			for i, b := range buildValid(t, goldenCase{name: c.name, file: c.file + " (blocks reordered)", src: shuffled, root: c.root}) {
				if diff := diffSets(first[i].set, b.set); diff != "" {
					t.Errorf("%s: reordering blocks changes the output (-as written +reordered):\n%s\nreordered file:\n%s", b.target, diff, shuffled)
				}
			}
		})
	}
}

// reorderBlocks returns src with the order of the blocks inside `cluster` reversed (which
// reverses the node and load_test blocks among themselves and swaps every other top-level
// block), and the subnet blocks inside `network` reversed.
func reorderBlocks(src []byte) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, "cluster.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	for _, cl := range f.Body().Blocks() {
		if cl.Type() != "cluster" {
			continue
		}
		reverseBlocks(cl.Body())
		for _, b := range cl.Body().Blocks() {
			if b.Type() == "network" {
				reverseBlocks(b.Body())
			}
		}
	}
	return hclwrite.Format(f.Bytes()), nil
}

func reverseBlocks(body *hclwrite.Body) {
	blocks := body.Blocks()
	for _, b := range blocks {
		body.RemoveBlock(b)
	}
	for i := len(blocks) - 1; i >= 0; i-- {
		body.AppendBlock(blocks[i])
	}
}

// diffSets is cmp.Diff of two sets as path -> mode and content.
func diffSets(a, b *artifact.Set) string {
	m := func(s *artifact.Set) map[string]string {
		out := map[string]string{}
		for _, f := range s.Files() {
			out[f.Path] = fmt.Sprintf("%v\n%s", f.Mode, f.Bytes)
		}
		return out
	}
	return cmp.Diff(m(a), m(b))
}

func TestReorderBlocks(t *testing.T) {
	src := []byte(`cluster "main" {
  name_attr = 1
  network {
    subnet "a" {
      cidr = "1"
    }
    subnet "b" {
      cidr = "2"
    }
    admin_cidrs = []
  }
  node "n0" {
    vm {
      cores = 2
    }
  }
  node "n1" {}
  patroni {
    ttl = 20
  }
}
`)
	want := `cluster "main" {
  name_attr = 1
  patroni {
    ttl = 20
  }
  node "n1" {}
  node "n0" {
    vm {
      cores = 2
    }
  }
  network {
    admin_cidrs = []
    subnet "b" {
      cidr = "2"
    }
    subnet "a" {
      cidr = "1"
    }
  }
}
`
	got, err := reorderBlocks(src)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
