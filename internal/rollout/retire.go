package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/internal/patroni"
)

// A node about to leave is retired first: tagged nofailover and nosync in its Patroni
// configuration and Patroni reloaded, so that Patroni neither promotes it nor makes it the
// synchronous standby while the removal runs. Without that, a leaving leader whose
// synchronous standby leaves too has nowhere to hand over: in synchronous mode Patroni
// switches over to the synchronous standby alone. A leader is never tagged nofailover (Patroni
// demotes a leader that may not be primary, with no say in who follows): it is retired once
// it has handed over.

// reloadRunningPatroni reloads a node's Patroni if it runs. One that does not stays so: it
// neither leads nor syncs, and is leaving.
const reloadRunningPatroni = "systemctl try-reload-or-restart patroni"

// retireTags are the Patroni tags a leaving node gets.
var retireTags = []string{"nofailover", "nosync"}

// retire tags node nofailover and nosync and reloads its Patroni; a node already tagged is
// left alone. A node that cannot be reached is no error (it runs no Patroni to elect or sync
// to): it is logged.
func retire(ctx context.Context, dial Dialer, node string, log func(string)) error {
	c, err := dial(ctx, node)
	if err != nil {
		log(fmt.Sprintf("%s cannot be reached to tag it nofailover and nosync (%v): going on without", node, err))
		return nil
	}
	defer c.Close()
	files, err := c.ReadFiles(ctx, []string{patroniConfig})
	if err != nil {
		return fmt.Errorf("reading %s's Patroni configuration: %w", node, err)
	}
	f := files[patroniConfig]
	if !f.Exists {
		return nil // no Patroni on it
	}
	tagged, changed, err := withTags(f.Content, retireTags)
	if err != nil {
		return fmt.Errorf("%s's %s: %w", node, patroniConfig, err)
	}
	if !changed {
		return nil
	}
	if err := c.WriteFile(ctx, patroniConfig, tagged, f.Mode, f.Owner); err != nil {
		return fmt.Errorf("tagging %s nofailover and nosync: %w", node, err)
	}
	if _, err := c.Run(ctx, reloadRunningPatroni, nil); err != nil {
		return fmt.Errorf("reloading %s's Patroni after tagging it nofailover and nosync: %w", node, err)
	}
	log(fmt.Sprintf("tagged %s nofailover and nosync: Patroni neither promotes it nor makes it the synchronous standby", node))
	return nil
}

// withTags is a Patroni configuration with each of names set true in its tags mapping (made
// when there is none), everything else as it was; changed is false when all were true.
func withTags(config []byte, names []string) (out []byte, changed bool, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(config, &doc); err != nil {
		return nil, false, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("not a YAML mapping")
	}
	root := doc.Content[0]
	tags := mappingValue(root, "tags")
	if tags == nil || tags.Kind != yaml.MappingNode {
		tags = &yaml.Node{Kind: yaml.MappingNode}
		setMapping(root, "tags", tags)
	}
	for _, name := range names {
		if v := mappingValue(tags, name); v != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!bool" && strings.EqualFold(v.Value, "true") {
			continue
		}
		setMapping(tags, name, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
		changed = true
	}
	if !changed {
		return config, false, nil
	}
	out, err = yaml.Marshal(&doc)
	return out, true, err
}

// mappingValue is the value under key in mapping node m, nil when there is none.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setMapping sets key to v in mapping node m, appending it when m has no such key.
func setMapping(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// waitSyncStays waits, in synchronous mode, until a node of keep is the synchronous standby
// and none of leaving is: Patroni's leader moves the role on its next cycles once they are
// tagged nosync, and a switchover goes to that node alone. (Between the two, for a moment no
// member has the role: waiting for none of leaving alone would hand over too soon.) Outside
// synchronous mode it returns at once.
func waitSyncStays(ctx context.Context, pc *patroni.Client, keep, leaving []string, timeout time.Duration, log func(string)) error {
	cfg, err := pc.Config(ctx)
	if err != nil {
		return &UnreachableError{Err: err}
	}
	if !synchronousMode(cfg) {
		return nil
	}
	staysSync := func(cl patroni.Cluster) bool {
		stays := false
		for _, m := range cl.Members {
			if m.Role != patroni.RoleSyncStandby {
				continue
			}
			if slices.Contains(leaving, m.Name) {
				return false
			}
			stays = stays || slices.Contains(keep, m.Name)
		}
		return stays
	}
	cl, err := pc.Cluster(ctx)
	if err != nil {
		return &UnreachableError{Err: err}
	}
	if staysSync(cl) {
		return nil
	}
	log(fmt.Sprintf("waiting for Patroni to make a node that stays the synchronous standby (%s)", cl))
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := pc.WaitFor(wctx, pollEvery, staysSync); err != nil {
		return fmt.Errorf("no node that stays became the synchronous standby within %v: %w", timeout, err)
	}
	return nil
}

// leavingReplicas are the nodes of nodes that cl lists and that do not lead.
func leavingReplicas(cl patroni.Cluster, nodes []string) []string {
	var out []string
	for _, n := range nodes {
		if m, ok := cl.Member(n); ok && !m.IsLeader() {
			out = append(out, n)
		}
	}
	return slices.Clip(out)
}
