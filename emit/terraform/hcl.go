package terraform

import (
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// labels is a map of Yandex Cloud labels, written sorted by key.
func labels(kv ...string) hclwrite.Tokens {
	m := map[string]cty.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return hclwrite.TokensForValue(cty.ObjectVal(m))
}
