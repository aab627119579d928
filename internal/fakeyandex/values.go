package fakeyandex

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// attrs returns the attributes of a known, non-null object value; nil otherwise.
func attrs(v tftypes.Value) map[string]tftypes.Value {
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	var m map[string]tftypes.Value
	if err := v.As(&m); err != nil {
		panic(fmt.Sprintf("fakeyandex: object expected: %v", err)) // schema and value disagree: a bug
	}
	return m
}

// elems returns the elements of a known, non-null list or set value.
func elems(v tftypes.Value) []tftypes.Value {
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	var s []tftypes.Value
	if err := v.As(&s); err != nil {
		panic(fmt.Sprintf("fakeyandex: list or set expected: %v", err))
	}
	return s
}

// mapElems returns the elements of a known, non-null map value.
func mapElems(v tftypes.Value) map[string]tftypes.Value {
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	var m map[string]tftypes.Value
	if err := v.As(&m); err != nil {
		panic(fmt.Sprintf("fakeyandex: map expected: %v", err))
	}
	return m
}

// attrOrNull returns obj's attribute name, or a null of typ when obj itself
// is null or unknown (a missing prior element, a removed block).
func attrOrNull(obj tftypes.Value, name string, typ tftypes.Type) tftypes.Value {
	if m := attrs(obj); m != nil {
		return m[name]
	}
	return tftypes.NewValue(typ, nil)
}

// fakeTime is what every computed timestamp becomes: obviously not a real
// creation time, and stable so that replans stay empty.
const fakeTime = "2000-01-01T00:00:00Z"

// faker turns unknown values into plausible, clearly fake known ones. Values
// depend only on seed and the attribute path, so the same seed gives the
// same values (data sources hash their configuration into the seed).
type faker struct{ seed []byte }

func (f faker) hash(path *tftypes.AttributePath) []byte {
	h := sha256.New()
	h.Write(f.seed)
	h.Write([]byte(path.String()))
	return h.Sum(nil)
}

// fill replaces every unknown inside v with a fake value.
func (f faker) fill(v tftypes.Value) (tftypes.Value, error) {
	return tftypes.Transform(v, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		return f.value(p, v.Type()), nil
	})
}

// value is the fake for an unknown of type typ at path p:
//   - strings: "fake<16 hex>" for id and *_id, fakeTime for *_at, an address
//     from 192.0.2.0/24 (TEST-NET-1, never routed) for address and
//     *ip_address, "fake-<name>" otherwise;
//   - numbers 0, bools false, collections empty, objects faked per attribute.
func (f faker) value(p *tftypes.AttributePath, typ tftypes.Type) tftypes.Value {
	name := lastName(p)
	switch {
	case typ.Is(tftypes.String), typ.Is(tftypes.DynamicPseudoType):
		h := f.hash(p)
		var s string
		switch {
		case name == "id" || strings.HasSuffix(name, "_id"):
			s = "fake" + hex.EncodeToString(h[:8])
		case strings.HasSuffix(name, "_at"):
			s = fakeTime
		case name == "address" || strings.HasSuffix(name, "ip_address"):
			s = fmt.Sprintf("192.0.2.%d", 1+int(h[0])%254)
		default:
			s = "fake-" + name
		}
		return tftypes.NewValue(tftypes.String, s)
	case typ.Is(tftypes.Number):
		return tftypes.NewValue(typ, new(big.Float))
	case typ.Is(tftypes.Bool):
		return tftypes.NewValue(typ, false)
	case typ.Is(tftypes.List{}), typ.Is(tftypes.Set{}):
		return tftypes.NewValue(typ, []tftypes.Value{})
	case typ.Is(tftypes.Map{}):
		return tftypes.NewValue(typ, map[string]tftypes.Value{})
	case typ.Is(tftypes.Object{}):
		ot := typ.(tftypes.Object)
		vals := map[string]tftypes.Value{}
		for _, n := range sortedKeys(ot.AttributeTypes) {
			vals[n] = f.value(p.WithAttributeName(n), ot.AttributeTypes[n])
		}
		return tftypes.NewValue(typ, vals)
	}
	return tftypes.NewValue(typ, nil)
}

// lastName is the last attribute name on a path ("" at the root), so that
// list elements of "nat_ip_address" are named like the attribute.
func lastName(p *tftypes.AttributePath) string {
	steps := p.Steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if n, ok := steps[i].(tftypes.AttributeName); ok {
			return string(n)
		}
	}
	return ""
}
