package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Cleanup removes everything the sandbox of cfg has on the host, whatever state an
// interrupted run left it in: every machine (also ones whose state files are gone
// but whose cgroups still hold processes), their veths and disks, the apt proxy, the
// stand-in jump host, pghac's nft table, the bridge and the cgroups. Files in StateDir that are not the
// sandbox's (secrets, Terraform state) and the image cache are kept. Nothing to
// remove is success.
func Cleanup(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	var names []string
	ents, _ := os.ReadDir(cfg.machinesDir())
	for _, e := range ents {
		if e.IsDir() && checkName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	for _, h := range hs {
		ents, _ := os.ReadDir(filepath.Join(h, cgroupTop, cfg.Bridge))
		for _, e := range ents {
			if e.IsDir() && e.Name() != "apt-proxy" && e.Name() != "jump-host" && checkName(e.Name()) == nil {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	var errs []error
	for _, n := range slices.Compact(names) {
		errs = append(errs, MachineDown(ctx, cfg, n))
	}
	errs = append(errs, NetworkDown(ctx, cfg))
	for _, h := range hs {
		d := filepath.Join(h, cgroupTop, cfg.Bridge)
		_ = killCgroup([]string{d}, 5*time.Second)
		errs = append(errs, removeCgroupTree(d))
	}
	removeEmptyTop(hs)
	// The S3 server's bucket holds the backups of these machines' cluster, which a cluster
	// made again cannot use (another system identifier): they go with it.
	errs = append(errs, removeTree(cfg.machinesDir()), removeTree(cfg.proxyDir()), removeTree(cfg.jumpDir()), removeTree(cfg.s3Dir()))
	return errors.Join(errs...)
}
