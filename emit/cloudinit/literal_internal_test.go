package cloudinit

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestLiteralBlockMatchesYAML keeps literalBlock in step with what yaml.v3 really does.
func TestLiteralBlockMatchesYAML(t *testing.T) {
	for _, s := range []string{
		"a\nb\n", "\tindented with a tab\n", "  leading spaces\n", "trailing space \nx\n", "trailing tab\t\nx\n",
		"ends in space ", "bell \a\n", "cr\r\n", "del\x7f\n", "nel\u0085\n", "line sep\u2028\n", "bom\ufeff\n",
		"ünïcödé ✓\n", "# comment\n\n\nblank lines\n", "x:\n  - y\n",
	} {
		out, err := yaml.Marshal(struct {
			C string `yaml:"c"`
		}{s})
		if err != nil {
			t.Fatal(err)
		}
		var n yaml.Node
		isLiteral := false
		// yaml.v3 writes a literal block starting with a tab that it cannot read back.
		if err := yaml.Unmarshal(out, &n); err == nil {
			isLiteral = n.Content[0].Content[1].Style == yaml.LiteralStyle
		}
		if got := literalBlock([]byte(s)); got != isLiteral {
			t.Errorf("literalBlock(%q) = %v, yaml.v3 literal = %v", s, got, isLiteral)
		}
	}
}
