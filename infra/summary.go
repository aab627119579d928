package infra

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Action is what a plan does to one resource instance.
type Action string

const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"  // in place
	ActionReplace Action = "replace" // destroy and create, in either order
	ActionDelete  Action = "delete"
	ActionRead    Action = "read"   // a data source read during apply
	ActionForget  Action = "forget" // removed from state, left running
)

// Change is one resource instance a plan touches. It carries addresses and attribute paths,
// never values: plans hold secrets.
type Change struct {
	Address string // e.g. yandex_compute_instance.node["node0"]
	Type    string // e.g. yandex_compute_instance
	Name    string // e.g. node
	Key     string // the count index or for_each key, "" when neither
	Deposed bool   // an old object left by an interrupted create-before-destroy
	Action  Action
	// Reason is Terraform's action_reason, e.g. replace_because_cannot_update; often "".
	Reason string
	// ReplacePaths are the attributes whose change forces a replacement, e.g.
	// boot_disk[0].initialize_params[0].image_id.
	ReplacePaths []string
	// Updated are the paths of the values an update in place changes (or leaves to be known
	// after apply), e.g. resources[0].cores, sorted: paths only, since values may be secrets.
	Updated []string
	// Labels are the object's labels (a "labels" map of strings) as they are, or as they
	// will be when it is new: what it is for, never a secret.
	Labels map[string]string
}

// Destructive reports whether the change destroys the existing object.
func (c Change) Destructive() bool { return c.Action == ActionReplace || c.Action == ActionDelete }

// Summary is what a plan does, counted and listed.
type Summary struct {
	// Counts per action. A replacement counts once, as Replace (Terraform counts it as one
	// add and one destroy).
	Add, Change, Replace, Destroy, Read, Forget int

	Changes []Change // in Terraform's order (by address); no-ops left out
	Outputs []string // names of outputs that change, sorted
	// Kept are the managed resources the state has and the plan leaves in place, unchanged
	// or updated (not replaced, not destroyed), by address in Terraform's order: what runs
	// before and after the apply.
	Kept []string
}

// Empty reports whether the plan changes nothing, outputs included.
func (s Summary) Empty() bool { return len(s.Changes) == 0 && len(s.Outputs) == 0 }

// Counts is the one-line tally, e.g. "2 to add, 0 to change, 1 to replace, 0 to destroy".
func (s Summary) Counts() string {
	line := fmt.Sprintf("%d to add, %d to change, %d to replace, %d to destroy", s.Add, s.Change, s.Replace, s.Destroy)
	if s.Read > 0 {
		line += fmt.Sprintf(", %d to read", s.Read)
	}
	if s.Forget > 0 {
		line += fmt.Sprintf(", %d to forget", s.Forget)
	}
	return line
}

// Summarize reads a plan as `terraform show -json` gives it.
func Summarize(p *tfjson.Plan) Summary {
	var s Summary
	if p == nil {
		return s
	}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		a := rc.Change.Actions
		if rc.Mode == tfjson.ManagedResourceMode && rc.DeposedKey == "" && (a.NoOp() || a.Update()) {
			s.Kept = append(s.Kept, rc.Address)
		}
		var act Action
		switch {
		case a.Replace():
			act = ActionReplace
			s.Replace++
		case a.Create():
			act = ActionCreate
			s.Add++
		case a.Update():
			act = ActionUpdate
			s.Change++
		case a.Delete():
			act = ActionDelete
			s.Destroy++
		case a.Read():
			act = ActionRead
			s.Read++
		case a.Forget():
			act = ActionForget
			s.Forget++
		default: // no-op
			continue
		}
		c := Change{
			Address: rc.Address,
			Type:    rc.Type,
			Name:    rc.Name,
			Key:     indexKey(rc.Index),
			Deposed: rc.DeposedKey != "",
			Action:  act,
			Reason:  string(rc.ActionReason),
		}
		for _, rp := range rc.Change.ReplacePaths {
			c.ReplacePaths = append(c.ReplacePaths, formatPath(rp))
		}
		if act == ActionUpdate {
			c.Updated = updatedAttrs(rc.Change)
		}
		c.Labels = labels(rc.Change.Before)
		if c.Labels == nil {
			c.Labels = labels(rc.Change.After)
		}
		s.Changes = append(s.Changes, c)
	}
	for name, oc := range p.OutputChanges {
		if oc != nil && !oc.Actions.NoOp() {
			s.Outputs = append(s.Outputs, name)
		}
	}
	sort.Strings(s.Outputs)
	return s
}

func indexKey(i any) string {
	switch v := i.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// formatPath turns a replace path (a list of attribute names, map keys and list indexes) into
// Terraform's traversal syntax.
func formatPath(p any) string {
	steps, ok := p.([]any)
	if !ok {
		return fmt.Sprint(p)
	}
	var b strings.Builder
	for i, step := range steps {
		switch v := step.(type) {
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		case float64:
			b.WriteString("[" + strconv.FormatFloat(v, 'f', -1, 64) + "]")
		default: // json.Number with UseJSONNumber, or an int
			fmt.Fprintf(&b, "[%v]", v)
		}
	}
	return b.String()
}

// updatedAttrs are the paths of the leaf values that differ between ch's before and after,
// or become unknown, like formatPath's ("resources[0].cores", "metadata.user-data"), sorted.
func updatedAttrs(ch *tfjson.Change) []string {
	var out []string
	diffPaths("", ch.Before, ch.After, ch.AfterUnknown, &out)
	sort.Strings(out)
	return out
}

// diffPaths appends to out the paths under prefix where before and after differ (unknown
// marks what is known after apply only: true, or maps and lists of such marks).
func diffPaths(prefix string, before, after, unknown any, out *[]string) {
	if u, ok := unknown.(bool); ok && u {
		*out = append(*out, prefix)
		return
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	um, _ := unknown.(map[string]any)
	if (bIsMap || before == nil) && (aIsMap || after == nil) && (bIsMap || aIsMap) {
		keys := map[string]bool{}
		for _, m := range []map[string]any{bm, am, um} {
			for k := range m {
				keys[k] = true
			}
		}
		for k := range keys {
			diffPaths(join(k), bm[k], am[k], um[k], out)
		}
		return
	}
	bl, bIsList := before.([]any)
	al, aIsList := after.([]any)
	ul, _ := unknown.([]any)
	if (bIsList || before == nil) && (aIsList || after == nil) && (bIsList || aIsList) {
		for i := range max(len(bl), len(al), len(ul)) {
			diffPaths(fmt.Sprintf("%s[%d]", prefix, i), at(bl, i), at(al, i), at(ul, i), out)
		}
		return
	}
	if !reflect.DeepEqual(before, after) {
		*out = append(*out, prefix)
	}
}

// at is l[i], nil past its end.
func at(l []any, i int) any {
	if i < len(l) {
		return l[i]
	}
	return nil
}

// labels is the "labels" attribute of an object's values, nil when it has none.
func labels(values any) map[string]string {
	m, _ := values.(map[string]any)
	ls, _ := m["labels"].(map[string]any)
	if len(ls) == 0 {
		return nil
	}
	out := make(map[string]string, len(ls))
	for k, v := range ls {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
