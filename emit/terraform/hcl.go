package terraform

import (
	"fmt"
	"net/netip"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Expression builders. Literal values go through hclwrite.TokensForValue, which quotes and
// escapes them (a "${" in a value becomes "$${"), so nothing from the model can turn into
// Terraform syntax; only the builders below write references and interpolations.

// ref is a reference such as yandex_vpc_network.cluster.id: root, then one step per
// argument, a string naming an attribute and an int indexing a list.
func ref(root string, steps ...any) hclwrite.Tokens {
	t := hcl.Traversal{hcl.TraverseRoot{Name: root}}
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			t = append(t, hcl.TraverseAttr{Name: s})
		case int:
			t = append(t, hcl.TraverseIndex{Key: cty.NumberIntVal(int64(s))})
		default:
			panic(fmt.Sprintf("ref: step %v of type %T", s, s))
		}
	}
	return hclwrite.TokensForTraversal(t)
}

// resourceRef refers to attribute attr of resource typ.name.
func resourceRef(typ, name string, steps ...any) hclwrite.Tokens {
	return ref(typ, append([]any{name}, steps...)...)
}

// attr is expr.name1.name2...
func attr(expr hclwrite.Tokens, names ...string) hclwrite.Tokens {
	out := append(hclwrite.Tokens{}, expr...)
	for _, n := range names {
		out = append(out,
			&hclwrite.Token{Type: hclsyntax.TokenDot, Bytes: []byte(".")},
			&hclwrite.Token{Type: hclsyntax.TokenIdent, Bytes: []byte(n)})
	}
	return out
}

func str(s string) hclwrite.Tokens { return hclwrite.TokensForValue(cty.StringVal(s)) }

func num(n int) hclwrite.Tokens { return hclwrite.TokensForValue(cty.NumberIntVal(int64(n))) }

func strs(ss []string) hclwrite.Tokens {
	elems := make([]hclwrite.Tokens, len(ss))
	for i, s := range ss {
		elems[i] = str(s)
	}
	return hclwrite.TokensForTuple(elems)
}

func cidrs(ps []netip.Prefix) hclwrite.Tokens {
	ss := make([]string, len(ps))
	for i, p := range ps {
		ss[i] = p.String()
	}
	return strs(ss)
}

func tuple(elems ...hclwrite.Tokens) hclwrite.Tokens { return hclwrite.TokensForTuple(elems) }

func call(name string, args ...hclwrite.Tokens) hclwrite.Tokens {
	return hclwrite.TokensForFunctionCall(name, args...)
}

// item is one key of an object constructor.
type item struct {
	key   string
	value hclwrite.Tokens
}

// object is an object constructor with its keys in the given order; keys must be identifiers.
func object(items ...item) hclwrite.Tokens {
	attrs := make([]hclwrite.ObjectAttrTokens, len(items))
	for i, it := range items {
		attrs[i] = hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForIdentifier(it.key), Value: it.value}
	}
	return hclwrite.TokensForObject(attrs)
}

// labels is a map of Yandex Cloud labels, written sorted by key.
func labels(kv ...string) hclwrite.Tokens {
	m := map[string]cty.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return hclwrite.TokensForValue(cty.ObjectVal(m))
}

// template is a quoted string template: each string part is literal text (escaped), each
// hclwrite.Tokens part an interpolated expression.
func template(parts ...any) hclwrite.Tokens {
	out := hclwrite.Tokens{{Type: hclsyntax.TokenOQuote, Bytes: []byte(`"`)}}
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			if p == "" {
				continue
			}
			lit := hclwrite.TokensForValue(cty.StringVal(p))
			out = append(out, lit[1:len(lit)-1]...) // drop the quotes
		case hclwrite.Tokens:
			out = append(out, &hclwrite.Token{Type: hclsyntax.TokenTemplateInterp, Bytes: []byte("${")})
			out = append(out, p...)
			out = append(out, &hclwrite.Token{Type: hclsyntax.TokenTemplateSeqEnd, Bytes: []byte("}")})
		default:
			panic(fmt.Sprintf("template: part %v of type %T", p, p))
		}
	}
	return append(out, &hclwrite.Token{Type: hclsyntax.TokenCQuote, Bytes: []byte(`"`)})
}

// comment appends one "#" comment line per argument ("" gives a bare "#").
func comment(b *hclwrite.Body, lines ...string) {
	var toks hclwrite.Tokens
	for _, l := range lines {
		text := "#"
		if l != "" {
			text += " " + l
		}
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte(text + "\n")})
	}
	b.AppendUnstructuredTokens(toks)
}

// block appends a block, with its comment lines right above it, and returns its body. A blank
// line separates it from whatever b already holds.
func block(b *hclwrite.Body, comments []string, typ string, labels ...string) *hclwrite.Body {
	if len(b.Attributes()) > 0 || len(b.Blocks()) > 0 {
		b.AppendNewline()
	}
	if len(comments) > 0 {
		comment(b, comments...)
	}
	return b.AppendNewBlock(typ, labels).Body()
}

// checkIdent returns an error unless name can be a Terraform resource, variable or object
// key name as it is.
func checkIdent(what, name string) error {
	if !hclsyntax.ValidIdentifier(name) {
		return fmt.Errorf("%s %q is not a valid Terraform name", what, name)
	}
	return nil
}
