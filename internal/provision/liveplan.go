package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/rollout"
)

// LivePlan is the live part of a saved plan: the change the generated tree makes to the
// nodes that run before and after Terraform's apply, as the plan surveyed it. cloud-init
// reads a VM's user-data on its first boot only, so Terraform's in-place update of it
// reaches no running node: apply rolls this out after Terraform, once it has surveyed the
// nodes again and found the same change (Fingerprint).
type LivePlan struct {
	// Nodes are the nodes surveyed: those whose VMs Terraform's plan keeps.
	Nodes []string `json:"nodes"`
	// Fingerprint is rollout.Live.Fingerprint of the survey.
	Fingerprint string `json:"fingerprint"`
	// Changes says whether the survey found anything to do; Unreachable whether some node
	// could not be surveyed (apply refuses while one cannot).
	Changes     bool `json:"changes"`
	Unreachable bool `json:"unreachable,omitempty"`
}

// livePlanFile is the live part's record, beside Terraform's saved plan in the working
// directory.
const livePlanFile = "pghac-live-plan.json"

// KeptNodes are the nodes of cl whose VMs p keeps in place (infra.Summary.Kept): the nodes
// that run now and still will once p is applied, whose configuration only a live rollout
// changes. A node whose VM p creates or replaces boots from its new user-data.
func KeptNodes(p *infra.Plan, cl *model.Cluster) []string {
	var out []string
	for _, n := range cl.NodeNames() {
		if slices.Contains(p.Summary.Kept, MachineAddress(cl.Target, n)) {
			out = append(out, n)
		}
	}
	return out
}

// SaveLive records lp as the live part of the saved plan.
func (r *Run) SaveLive(lp LivePlan) error {
	b, err := json.MarshalIndent(lp, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.Dir(), livePlanFile), append(b, '\n'), 0o600)
}

// SavedLive is the live part of the saved plan, nil when it has none (nothing ran when it
// was made).
func (r *Run) SavedLive() (*LivePlan, error) {
	path := filepath.Join(r.Dir(), livePlanFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lp LivePlan
	if err := json.Unmarshal(b, &lp); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &lp, nil
}

// ClearLive removes the live part of the saved plan, if any.
func (r *Run) ClearLive() error {
	if err := os.Remove(filepath.Join(r.Dir(), livePlanFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ClearPlan removes the saved plan with its live part.
func (r *Run) ClearPlan() error { return errors.Join(r.ClearLive(), r.Workdir.ClearPlan()) }

// LiveOf is Live of the nodes in nodes only. Patroni not answering because no node can be
// reached is no error: the nodes are in l with why (rollout.Live.Unreachable).
func (f Fleet) LiveOf(ctx context.Context, nodes []string) (rollout.Live, rollout.Dialer, *patroni.Client, error) {
	l, dial, pc, err := f.live(ctx, nodes)
	if _, ok := errors.AsType[*rollout.UnreachableError](err); ok && len(l.Unreachable()) > 0 {
		err = nil
	}
	return l, dial, pc, err
}
