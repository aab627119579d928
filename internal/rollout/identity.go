package rollout

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// identityChange says what a change of a node's Patroni configuration from have to want would
// make of it: a member of another cluster, when its scope (the cluster's name) or namespace
// changes. Rolled out, Patroni would find no cluster under the new key and bootstrap an empty
// one beside the old. "" when neither changes or a file does not parse (the rollout's own
// checks report that).
func identityChange(have, want []byte) string {
	type identity struct {
		Scope     string `yaml:"scope"`
		Namespace string `yaml:"namespace"`
	}
	var h, w identity
	if yaml.Unmarshal(have, &h) != nil || yaml.Unmarshal(want, &w) != nil || h.Scope == "" {
		return ""
	}
	switch {
	case h.Scope != w.Scope:
		return fmt.Sprintf("the cluster's name changes from %q to %q (Patroni's scope): a running cluster cannot be renamed; put the old name back", h.Scope, w.Scope)
	case h.Namespace != w.Namespace:
		return fmt.Sprintf("Patroni's namespace changes from %q to %q: its members would look for their cluster elsewhere in etcd; put the old one back", h.Namespace, w.Namespace)
	}
	return ""
}
