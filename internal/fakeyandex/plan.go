package fakeyandex

import (
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// planBlock turns Terraform's proposed new object into the planned one:
// SDKv2 defaults fill null optional attributes (when defaults is set: SDKv2
// resources), framework defaults fill null computed ones (always), computed
// attributes still null become unknown ("known after apply"), SDKv2
// Optional+Computed blocks left out of the configuration keep their prior
// value, and set elements that match a prior element keep that element's
// computed values. prior is the prior object at the same place (null when
// there is none).
func planBlock(b *block, proposed, prior tftypes.Value, defaults bool) tftypes.Value {
	if !proposed.IsKnown() || proposed.IsNull() {
		return proposed
	}
	vals := attrs(proposed)
	for _, a := range b.attrs {
		if !vals[a.name].IsNull() {
			continue
		}
		switch {
		case a.def != nil && (defaults || a.computed):
			// An SDKv2 default is never on a computed attribute, a
			// framework default always is: the framework plans it too.
			vals[a.name] = *a.def
		case a.computed:
			vals[a.name] = tftypes.NewValue(a.typ, tftypes.UnknownValue)
		}
	}
	priorVals := attrs(prior)
	for _, nb := range b.blocks {
		cur := vals[nb.name]
		if !cur.IsKnown() || cur.IsNull() {
			continue
		}
		var priorBlock tftypes.Value
		if priorVals != nil {
			priorBlock = priorVals[nb.name]
		} else {
			priorBlock = tftypes.NewValue(cur.Type(), nil)
		}
		if defaults && nb.sdkComputed && count(cur) == 0 && priorBlock.IsKnown() && count(priorBlock) > 0 {
			vals[nb.name] = priorBlock // left out of the configuration: SDKv2 keeps what it has
			continue
		}
		elemNull := tftypes.NewValue(nb.block.typ, nil)
		switch nb.nesting {
		case tfprotov6.SchemaNestedBlockNestingModeSingle, tfprotov6.SchemaNestedBlockNestingModeGroup:
			vals[nb.name] = planBlock(nb.block, cur, priorBlock, defaults)
		case tfprotov6.SchemaNestedBlockNestingModeList:
			priorElems := elems(priorBlock)
			out := elems(cur)
			for i, e := range out {
				p := elemNull
				if i < len(priorElems) {
					p = priorElems[i]
				}
				out[i] = planBlock(nb.block, e, p, defaults)
			}
			vals[nb.name] = tftypes.NewValue(cur.Type(), out)
		case tfprotov6.SchemaNestedBlockNestingModeSet:
			out := elems(cur)
			for i, e := range out {
				out[i] = planBlock(nb.block, e, elemNull, defaults)
			}
			vals[nb.name] = tftypes.NewValue(cur.Type(), matchSet(nb.block, out, elems(priorBlock)))
		case tfprotov6.SchemaNestedBlockNestingModeMap:
			priorElems := mapElems(priorBlock)
			out := mapElems(cur)
			for k, e := range out {
				p, ok := priorElems[k]
				if !ok {
					p = elemNull
				}
				out[k] = planBlock(nb.block, e, p, defaults)
			}
			vals[nb.name] = tftypes.NewValue(cur.Type(), out)
		}
	}
	return tftypes.NewValue(proposed.Type(), vals)
}

// matchSet replaces each planned set element that still has unknowns with an
// unused prior element that agrees with it everywhere except on computed
// attributes that are unknown. Without this, an unchanged security-group
// rule would lose its computed id on every plan (Terraform matches set
// elements on their configured values, before defaults are filled in) and
// every replan would show the rule removed and added again.
func matchSet(b *block, planned, prior []tftypes.Value) []tftypes.Value {
	used := make([]bool, len(prior))
	for _, e := range planned {
		for j, p := range prior {
			if !used[j] && e.Equal(p) {
				used[j] = true
				break
			}
		}
	}
	for i, e := range planned {
		if e.IsFullyKnown() {
			continue
		}
		for j, p := range prior {
			if !used[j] && matches(b, e, p) {
				planned[i] = p
				used[j] = true
				break
			}
		}
	}
	return planned
}

// matches reports whether prior object p can stand for planned object e.
func matches(b *block, e, p tftypes.Value) bool {
	if e.IsNull() || p.IsNull() || !e.IsKnown() || !p.IsKnown() {
		return e.Equal(p)
	}
	ev, pv := attrs(e), attrs(p)
	for _, a := range b.attrs {
		if a.computed && !ev[a.name].IsKnown() {
			continue
		}
		if !ev[a.name].Equal(pv[a.name]) {
			return false
		}
	}
	for _, nb := range b.blocks {
		x, y := ev[nb.name], pv[nb.name]
		switch nb.nesting {
		case tfprotov6.SchemaNestedBlockNestingModeList, tfprotov6.SchemaNestedBlockNestingModeSet:
			xs, ys := elems(x), elems(y)
			if !x.IsKnown() || len(xs) != len(ys) {
				return false
			}
			if nb.nesting == tfprotov6.SchemaNestedBlockNestingModeSet {
				if !setMatches(nb.block, xs, ys) {
					return false
				}
				continue
			}
			for i := range xs {
				if !matches(nb.block, xs[i], ys[i]) {
					return false
				}
			}
		case tfprotov6.SchemaNestedBlockNestingModeMap:
			xm, ym := mapElems(x), mapElems(y)
			if !x.IsKnown() || len(xm) != len(ym) {
				return false
			}
			for k, xe := range xm {
				ye, ok := ym[k]
				if !ok || !matches(nb.block, xe, ye) {
					return false
				}
			}
		default:
			if !matches(nb.block, x, y) {
				return false
			}
		}
	}
	return true
}

// setMatches reports whether each element of xs matches a distinct element
// of ys (both the same length); set order carries no meaning.
func setMatches(b *block, xs, ys []tftypes.Value) bool {
	used := make([]bool, len(ys))
	for _, x := range xs {
		found := false
		for j, y := range ys {
			if !used[j] && matches(b, x, y) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// replacePaths lists the attribute paths whose change makes the real
// provider replace the object: force_new attributes that differ between
// planned and prior, and force_new blocks whose element count differs. Lists
// and maps are compared per element; a changed set block is reported whole
// when anything in it is force_new, because set elements have no stable
// address. config is the configuration
// at the same place, for RequiresReplaceIfConfigured.
func replacePaths(b *block, path *tftypes.AttributePath, planned, prior, config tftypes.Value) []*tftypes.AttributePath {
	var out []*tftypes.AttributePath
	for _, a := range b.attrs {
		if a.forceNew == forceNewNever {
			continue
		}
		pv := attrOrNull(planned, a.name, a.typ)
		qv := attrOrNull(prior, a.name, a.typ)
		if pv.Equal(qv) {
			continue
		}
		if a.forceNew == forceNewIfConfigured && attrOrNull(config, a.name, a.typ).IsNull() {
			continue
		}
		out = append(out, path.WithAttributeName(a.name))
	}
	for _, nb := range b.blocks {
		btyp := b.typ.AttributeTypes[nb.name]
		pv := attrOrNull(planned, nb.name, btyp)
		qv := attrOrNull(prior, nb.name, btyp)
		cv := attrOrNull(config, nb.name, btyp)
		if pv.Equal(qv) {
			continue
		}
		p := path.WithAttributeName(nb.name)
		if !pv.IsKnown() || !qv.IsKnown() {
			if nb.forceNew != forceNewNever || hasForceNew(nb.block) {
				out = append(out, p)
			}
			continue
		}
		// Like SDKv2, a force_new block forces replacement when its number
		// of elements changes; changes inside it go by the inner flags.
		if nb.forceNew != forceNewNever && count(pv) != count(qv) {
			out = append(out, p)
			continue
		}
		if !hasForceNew(nb.block) {
			continue
		}
		elemNull := tftypes.NewValue(nb.block.typ, nil)
		switch nb.nesting {
		case tfprotov6.SchemaNestedBlockNestingModeSingle, tfprotov6.SchemaNestedBlockNestingModeGroup:
			out = append(out, replacePaths(nb.block, p, pv, qv, cv)...)
		case tfprotov6.SchemaNestedBlockNestingModeList:
			ps, qs, cs := elems(pv), elems(qv), elems(cv)
			for i := 0; i < len(ps) || i < len(qs); i++ {
				pe, qe, ce := elemNull, elemNull, elemNull
				if i < len(ps) {
					pe = ps[i]
				}
				if i < len(qs) {
					qe = qs[i]
				}
				if i < len(cs) {
					ce = cs[i]
				}
				out = append(out, replacePaths(nb.block, p.WithElementKeyInt(i), pe, qe, ce)...)
			}
		case tfprotov6.SchemaNestedBlockNestingModeMap:
			pm, qm, cm := mapElems(pv), mapElems(qv), mapElems(cv)
			keys := map[string]bool{}
			for k := range pm {
				keys[k] = true
			}
			for k := range qm {
				keys[k] = true
			}
			for _, k := range sortedKeys(keys) {
				pe, qe, ce := elemNull, elemNull, elemNull
				if e, ok := pm[k]; ok {
					pe = e
				}
				if e, ok := qm[k]; ok {
					qe = e
				}
				if e, ok := cm[k]; ok {
					ce = e
				}
				out = append(out, replacePaths(nb.block, p.WithElementKeyString(k), pe, qe, ce)...)
			}
		default: // set
			out = append(out, p)
		}
	}
	return out
}

// count is the number of elements of a block value: 0 or 1 for a single block.
func count(v tftypes.Value) int {
	switch {
	case v.IsNull():
		return 0
	case v.Type().Is(tftypes.List{}), v.Type().Is(tftypes.Set{}):
		return len(elems(v))
	case v.Type().Is(tftypes.Map{}):
		return len(mapElems(v))
	}
	return 1
}

// hasForceNew reports whether anything inside b forces replacement.
func hasForceNew(b *block) bool {
	for _, a := range b.attrs {
		if a.forceNew != forceNewNever {
			return true
		}
	}
	for _, nb := range b.blocks {
		if nb.forceNew != forceNewNever || hasForceNew(nb.block) {
			return true
		}
	}
	return false
}
