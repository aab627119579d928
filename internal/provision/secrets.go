package provision

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/lockbox"
	"github.com/pghac/pghac/internal/site"
)

// SecretStore is where a target's nodes read the cluster's secrets at their first boot: a
// Lockbox secret, and a client that may write its versions.
type SecretStore struct {
	Client   *lockbox.Client
	SecretID string
}

// SecretValues are the values of cl's secrets in s's secrets file, by name: what the nodes
// must read. A secret the file lacks is an error naming it.
func SecretValues(s site.Site, cl *model.Cluster) (map[string]string, error) {
	have, err := s.ReadSecrets()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var missing []string
	for _, sec := range cl.Secrets() {
		v, ok := have[string(sec)]
		if !ok || v == "" {
			missing = append(missing, string(sec))
			continue
		}
		out[string(sec)] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s lacks %v: run `pghac secrets init` again to add them", s.Secrets(), missing)
	}
	return out, nil
}

// PushSecrets writes values as a new version of st's secret unless its newest version holds
// exactly them, and returns the version the nodes now read and whether it is new. A secret
// without a version yet (the first apply) gets its first. Lockbox applies a version's entries
// as changes to the one before: entries values lacks (a role taken out) are removed.
func PushSecrets(ctx context.Context, st SecretStore, values map[string]string) (version string, added bool, err error) {
	have, v, err := st.Client.Payload(ctx, st.SecretID)
	switch {
	case err == nil && maps.Equal(have, values):
		return v, false, nil
	case err != nil && !lockbox.IsNotFound(err):
		return "", false, fmt.Errorf("reading Lockbox secret %s: %w", st.SecretID, err)
	}
	req := lockbox.AddVersionRequest{Description: fmt.Sprintf("written by pghac: %d secrets", len(values)), BaseVersionID: v}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		req.PayloadEntries = append(req.PayloadEntries, lockbox.TextEntry(k, values[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := values[k]; !ok {
			req.PayloadEntries = append(req.PayloadEntries, lockbox.RemoveEntry(k))
		}
	}
	if v, err = st.Client.AddVersionChanges(ctx, st.SecretID, req); err != nil {
		return "", false, fmt.Errorf("writing Lockbox secret %s: %w", st.SecretID, err)
	}
	return v, true, nil
}
