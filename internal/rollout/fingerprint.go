package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Fingerprint identifies what l would do and what it was surveyed from: per node, each file
// that differs with its diff (secrets as placeholders), mode, owner and actions, whether the
// node could be reached; the settings with their values; the post_bootstrap script; the
// unsafe changes. A plan records it and apply surveys again: a cluster that changed since
// (a hand edit, a node that went away, a failover that matters) gives another fingerprint,
// and apply refuses what nobody reviewed. Who leads is left out: Apply orders by the leader
// it finds.
func (l Live) Fingerprint() string {
	type file struct {
		Path, Kind, Diff, Owner string
		Mode                    uint32
		Actions                 []Action
	}
	type node struct {
		Node        string
		Files       []file
		Unreachable bool
	}
	type setting struct {
		Key        string
		Have, Want string
	}
	var v struct {
		Nodes         []node
		Settings      []setting
		Restart       bool
		PostBootstrap [sha256.Size]byte
		Unsafe        []string
	}
	for _, n := range l.Nodes {
		nd := node{Node: n.Node, Unreachable: n.Err != nil}
		for _, f := range n.Files {
			nd.Files = append(nd.Files, file{Path: f.Path, Kind: f.Kind, Diff: f.Diff, Owner: f.Owner, Mode: uint32(f.Mode), Actions: f.Actions})
		}
		v.Nodes = append(v.Nodes, nd)
	}
	for _, s := range l.Settings {
		v.Settings = append(v.Settings, setting{Key: s.Key, Have: ScalarText(s.Have), Want: ScalarText(s.Want)})
	}
	v.Restart, v.Unsafe = l.Restart, l.Unsafe
	if l.PostBootstrap != nil {
		v.PostBootstrap = sha256.Sum256(l.PostBootstrap)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain strings, numbers and slices always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
