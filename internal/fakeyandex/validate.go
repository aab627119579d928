package fakeyandex

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// valueCheck is one of the real provider's value validators, re-implemented.
// For a known, non-null value it returns the error's summary and detail, or
// two empty strings.
type valueCheck func(name string, v tftypes.Value) (summary, detail string)

var (
	intBetweenRe   = regexp.MustCompile(`^validation\.IntBetween\((-?\d+), (-?\d+)\)$`)
	intAtLeastRe   = regexp.MustCompile(`^validation\.IntAtLeast\((-?\d+)\)$`)
	floatAtLeastRe = regexp.MustCompile(`^FloatAtLeast\((-?[0-9.]+)\)$`)
	strLenRe       = regexp.MustCompile(`^validation\.StringLenBetween\((\d+), (\d+)\)$`)
	strInSliceRe   = regexp.MustCompile(`^validation\.StringInSlice\(\[\]string\{([^}]*)\}, false\)$`)
	fwLengthRe     = regexp.MustCompile(`^stringvalidator\.LengthBetween\((\d+), (\d+)\)$`)
	fwRegexRe      = regexp.MustCompile(`^regex (\^.*\$)$`)
	quotedListRe   = regexp.MustCompile(`^\s*"[^"\\]*"\s*(,\s*"[^"\\]*"\s*)*,?\s*$`)
)

// parseCheck turns the Go source of a validator from the JSON's validate key
// into a check. Only validators whose behaviour is fully given by their
// literal arguments are understood; any other (validation.All, lists named
// by Go identifiers, the provider's own functions) returns nil and is not
// checked. The messages follow terraform-plugin-sdk/v2's helper/validation
// and terraform-plugin-framework-validators.
func parseCheck(src string) valueCheck {
	if m := fwLengthRe.FindStringSubmatch(src); m != nil {
		lo, hi := atoi(m[1]), atoi(m[2])
		return func(name string, v tftypes.Value) (string, string) {
			var s string
			if v.As(&s) != nil {
				return "", ""
			}
			if n := int64(len([]rune(s))); n < lo || n > hi {
				return "Invalid Attribute Value Length",
					fmt.Sprintf("Attribute %s string length must be between %d and %d, got: %d", name, lo, hi, n)
			}
			return "", ""
		}
	}
	if m := fwRegexRe.FindStringSubmatch(src); m != nil {
		re, err := regexp.Compile(m[1])
		if err != nil {
			return nil
		}
		return func(name string, v tftypes.Value) (string, string) {
			var s string
			if v.As(&s) != nil || re.MatchString(s) {
				return "", ""
			}
			return "Invalid Attribute Value Match",
				fmt.Sprintf("Attribute %s value must match regular expression '%s', got: %s", name, re, s)
		}
	}
	if m := intBetweenRe.FindStringSubmatch(src); m != nil {
		lo, hi := atoi(m[1]), atoi(m[2])
		return func(name string, v tftypes.Value) (string, string) {
			n, ok := intValue(v)
			if !ok {
				return fmt.Sprintf("expected type of %s to be integer", name), ""
			}
			if n < lo || n > hi {
				return fmt.Sprintf("expected %s to be in the range (%d - %d), got %d", name, lo, hi, n), ""
			}
			return "", ""
		}
	}
	if m := intAtLeastRe.FindStringSubmatch(src); m != nil {
		lo := atoi(m[1])
		return func(name string, v tftypes.Value) (string, string) {
			n, ok := intValue(v)
			if !ok {
				return fmt.Sprintf("expected type of %s to be integer", name), ""
			}
			if n < lo {
				return fmt.Sprintf("expected %s to be at least (%d), got %d", name, lo, n), ""
			}
			return "", ""
		}
	}
	if m := floatAtLeastRe.FindStringSubmatch(src); m != nil {
		lo, _ := strconv.ParseFloat(m[1], 64)
		return func(name string, v tftypes.Value) (string, string) {
			var f big.Float
			if v.As(&f) != nil {
				return "", ""
			}
			if x, _ := f.Float64(); x < lo {
				return fmt.Sprintf("expected %s to be at least (%v), got %v", name, lo, x), ""
			}
			return "", ""
		}
	}
	if m := strLenRe.FindStringSubmatch(src); m != nil {
		lo, hi := atoi(m[1]), atoi(m[2])
		return func(name string, v tftypes.Value) (string, string) {
			var s string
			if v.As(&s) != nil {
				return "", ""
			}
			if n := int64(len(s)); n < lo || n > hi {
				return fmt.Sprintf("expected length of %s to be in the range (%d - %d), got %s", name, lo, hi, s), ""
			}
			return "", ""
		}
	}
	if m := strInSliceRe.FindStringSubmatch(src); m != nil && quotedListRe.MatchString(m[1]) {
		var valid []string
		for _, q := range goStringsRe.FindAllStringSubmatch(m[1], -1) {
			valid = append(valid, q[1])
		}
		return func(name string, v tftypes.Value) (string, string) {
			var s string
			if v.As(&s) != nil {
				return "", ""
			}
			for _, ok := range valid {
				if s == ok {
					return "", ""
				}
			}
			return fmt.Sprintf("expected %s to be one of %q, got %s", name, valid, s), ""
		}
	}
	return nil
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// intValue reports a number's value when it is a whole number; SDKv2's
// integer validators reject other numbers.
func intValue(v tftypes.Value) (int64, bool) {
	var f big.Float
	if v.As(&f) != nil || !f.IsInt() {
		return 0, false
	}
	n, acc := f.Int64()
	return n, acc == big.Exact
}

// validator walks a configuration value the way terraform-plugin-sdk/v2's
// schemaMap.Validate does, for the subset of checks the fake implements.
type validator struct {
	root      *block
	rootValue tftypes.Value
	diags     []*tfprotov6.Diagnostic
}

func validateConfig(ts *typeSchema, config tftypes.Value) []*tfprotov6.Diagnostic {
	if !config.IsKnown() || config.IsNull() {
		return nil
	}
	v := &validator{root: ts.block, rootValue: config}
	v.block(ts.block, config, tftypes.NewAttributePath(), nil)
	for _, group := range ts.oneOf {
		v.oneOf(group)
	}
	return v.diags
}

func (v *validator) add(sev tfprotov6.DiagnosticSeverity, path *tftypes.AttributePath, summary, detail string) {
	v.diags = append(v.diags, &tfprotov6.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Attribute: path})
}

// block checks one object of b. key holds the SDK-style key parts of the
// object ("boot_disk", "0"), which ConflictsWith/ExactlyOneOf keys use.
func (v *validator) block(b *block, obj tftypes.Value, path *tftypes.AttributePath, key []string) {
	vals := attrs(obj)
	for _, a := range b.attrs {
		val := vals[a.name]
		p := path.WithAttributeName(a.name)
		k := strings.Join(append(append([]string{}, key...), a.name), ".")
		if len(a.exactlyOneOf) > 0 {
			v.exactlyOne(k, a.exactlyOneOf, p)
		}
		if val.IsNull() {
			continue
		}
		if a.deprecated != "" {
			v.add(tfprotov6.DiagnosticSeverityWarning, p, "Argument is deprecated", a.deprecated)
		}
		if !val.IsKnown() {
			continue
		}
		for _, ck := range a.conflictsWith {
			other, found := v.lookup(ck)
			if found && other.IsKnown() {
				v.add(tfprotov6.DiagnosticSeverityError, p, "Conflicting configuration arguments",
					fmt.Sprintf("%q: conflicts with %s", k, ck))
			}
		}
		if a.check != nil {
			if summary, detail := a.check(a.name, val); summary != "" {
				v.add(tfprotov6.DiagnosticSeverityError, p, summary, detail)
			}
		}
	}
	for _, nb := range b.blocks {
		val := vals[nb.name]
		if !val.IsKnown() || val.IsNull() {
			continue
		}
		p := path.WithAttributeName(nb.name)
		k := append(append([]string{}, key...), nb.name)
		switch nb.nesting {
		case tfprotov6.SchemaNestedBlockNestingModeSingle, tfprotov6.SchemaNestedBlockNestingModeGroup:
			v.block(nb.block, val, p, k)
		case tfprotov6.SchemaNestedBlockNestingModeList:
			for i, e := range elems(val) {
				if e.IsKnown() && !e.IsNull() {
					v.block(nb.block, e, p.WithElementKeyInt(i), append(k, strconv.Itoa(i)))
				}
			}
		case tfprotov6.SchemaNestedBlockNestingModeSet:
			// SDKv2 keys set elements by a hash no ConflictsWith key can
			// name, so "~" never resolves, as in the real provider.
			for _, e := range elems(val) {
				if e.IsKnown() && !e.IsNull() {
					v.block(nb.block, e, p.WithElementKeyValue(e), append(k, "~"))
				}
			}
		case tfprotov6.SchemaNestedBlockNestingModeMap:
			m := mapElems(val)
			for _, mk := range sortedKeys(m) {
				if e := m[mk]; e.IsKnown() && !e.IsNull() {
					v.block(nb.block, e, p.WithElementKeyString(mk), append(k, mk))
				}
			}
		}
	}
}

// lookup resolves an SDK key against the whole configuration like
// terraform.ResourceConfig.Get: list blocks need a numeric index, so keys such
// as "boot_disk.initialize_params" never resolve (the real provider's check
// is then a no-op as well). An empty block list counts as not set.
func (v *validator) lookup(key string) (tftypes.Value, bool) {
	parts := strings.Split(key, ".")
	b, cur := v.root, v.rootValue
	for i := 0; i < len(parts); i++ {
		if !cur.IsKnown() {
			return cur, true
		}
		if cur.IsNull() {
			return cur, false
		}
		vals := attrs(cur)
		if a := findAttr(b, parts[i]); a != nil {
			val := vals[a.name]
			return val, i == len(parts)-1 && !val.IsNull()
		}
		nb := findBlock(b, parts[i])
		if nb == nil {
			return cur, false
		}
		val := vals[nb.name]
		switch nb.nesting {
		case tfprotov6.SchemaNestedBlockNestingModeList:
			if !val.IsKnown() {
				return val, true
			}
			es := elems(val)
			if i == len(parts)-1 {
				return val, len(es) > 0
			}
			i++
			n, err := strconv.Atoi(parts[i])
			if err != nil || n < 0 || n >= len(es) {
				return val, false
			}
			cur = es[n]
		case tfprotov6.SchemaNestedBlockNestingModeSet:
			if !val.IsKnown() {
				return val, true
			}
			return val, i == len(parts)-1 && len(elems(val)) > 0
		default:
			if i == len(parts)-1 {
				return val, !val.IsNull()
			}
			cur = val
		}
		b = nb.block
	}
	return cur, false
}

func (v *validator) exactlyOne(key string, keys []string, path *tftypes.AttributePath) {
	all := append([]string{key}, keys...)
	sort.Strings(all)
	all = slices.Compact(all)
	var set []string
	unknown := 0
	for _, k := range all {
		val, found := v.lookup(k)
		switch {
		case found && !val.IsKnown():
			unknown++ // may still turn out null
		case found:
			set = append(set, k)
		}
	}
	switch {
	case len(set) == 0 && unknown == 0:
		v.add(tfprotov6.DiagnosticSeverityError, path, "Invalid combination of arguments",
			fmt.Sprintf("%q: one of `%s` must be specified", key, strings.Join(all, ",")))
	case len(set) > 1:
		v.add(tfprotov6.DiagnosticSeverityError, path, "Invalid combination of arguments",
			fmt.Sprintf("%q: only one of `%s` can be specified, but `%s` were specified.", key,
				strings.Join(all, ","), strings.Join(set, ",")))
	}
}

// oneOf checks a codeRules group of top-level arguments.
func (v *validator) oneOf(group []string) {
	var set []string
	for _, k := range group {
		val, found := v.lookup(k)
		if found && !val.IsKnown() {
			return
		}
		if found {
			set = append(set, k)
		}
	}
	if len(set) == 1 {
		return
	}
	quoted := make([]string, len(group))
	for i, k := range group {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	v.add(tfprotov6.DiagnosticSeverityError, nil, "Invalid combination of arguments",
		fmt.Sprintf("Exactly one of %s must be set; %d are. The real provider rejects this when it reads the object.",
			strings.Join(quoted, ", "), len(set)))
}

func findAttr(b *block, name string) *attribute {
	for _, a := range b.attrs {
		if a.name == name {
			return a
		}
	}
	return nil
}

func findBlock(b *block, name string) *nestedBlock {
	for _, nb := range b.blocks {
		if nb.name == name {
			return nb
		}
	}
	return nil
}
