package fakeyandex

import (
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The real provider wraps the schemas of some SDKv2 resources (the service
// account's static access key among them) in ExtendWithOutputToLockbox
// (yandex/lockbox_outputs.go): an optional output_to_lockbox block holds a
// Lockbox secret_id and, for each sensitive output X, entry_for_X. When the
// block is set, the provider writes those outputs into a new version of the
// secret, records the version in output_to_lockbox_version_id and clears
// them from the state, so that they never reach a plan or the state.
const (
	outputToLockboxBlock = "output_to_lockbox"
	lockboxEntryPrefix   = "entry_for_"
)

// moveToLockbox does to state, an applied object of a resource of schema b,
// what the real provider does at the end of a create or update: with
// output_to_lockbox set, every output it has an entry_for_ attribute for is
// cleared. SDKv2 clears a string to "" (d.Set(attr, nil)). The fake has no
// Lockbox to put the values in; the version id is faked like any computed id.
func moveToLockbox(b *block, state tftypes.Value) tftypes.Value {
	ol := findBlock(b, outputToLockboxBlock)
	vals := attrs(state)
	if ol == nil || vals == nil || count(vals[ol.name]) == 0 {
		return state
	}
	for _, a := range ol.block.attrs {
		moved, ok := strings.CutPrefix(a.name, lockboxEntryPrefix)
		if !ok {
			continue
		}
		if v, ok := vals[moved]; ok && v.Type().Is(tftypes.String) {
			vals[moved] = tftypes.NewValue(tftypes.String, "")
		}
	}
	return tftypes.NewValue(state.Type(), vals)
}
