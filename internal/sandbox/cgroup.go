package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupRoot is where cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupTop is pghac's own directory in every hierarchy; a sandbox's machines sit
// in cgroupTop/<bridge>/<machine> (see sandbox-notes §3.2: without their own
// cgroup, machines started with --keep-unit share one /payload tree).
const cgroupTop = "pghac"

// hierarchies returns the cgroup hierarchies a machine is put into: on a hybrid
// host (v1 controllers + name=systemd + cgroup2 at unified) the systemd, unified
// and freezer ones; on a pure cgroup2 host the single root.
func hierarchies() ([]string, error) {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return []string{cgroupRoot}, nil
	}
	var hs []string
	for _, h := range []string{"systemd", "unified", "freezer"} {
		p := filepath.Join(cgroupRoot, h)
		if _, err := os.Stat(filepath.Join(p, "cgroup.procs")); err == nil {
			hs = append(hs, p)
		}
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy found under %s", cgroupRoot)
	}
	return hs, nil
}

// cgroupRel is a machine's cgroup path relative to each hierarchy.
func (c Config) cgroupRel(name string) string { return filepath.Join(cgroupTop, c.Bridge, name) }

// cgroupDirs are a machine's cgroup directories, one per hierarchy.
func (c Config) cgroupDirs(name string) ([]string, error) {
	hs, err := hierarchies()
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, h := range hs {
		dirs = append(dirs, filepath.Join(h, c.cgroupRel(name)))
	}
	return dirs, nil
}

// cgroupPIDs lists every process in dir and its descendants (cgroup.procs of each).
func cgroupPIDs(dir string) []int {
	var pids []int
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	slices.Sort(pids)
	return slices.Compact(pids)
}

// killCgroup kills every process in a machine's cgroups (cgroup.kill where the
// kernel has it, SIGKILL per process otherwise) and waits up to d for them to go.
func killCgroup(dirs []string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, dir := range dirs {
			left = append(left, cgroupPIDs(dir)...)
		}
		live := slices.DeleteFunc(left, func(pid int) bool { return !alive(pid) })
		if len(live) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v are still in %s after SIGKILL", live, dirs[0])
		}
		for _, dir := range dirs {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err == nil {
				continue
			}
			for _, pid := range cgroupPIDs(dir) {
				_ = signal(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeCgroupTree removes dir and every cgroup under it, deepest first; a missing
// dir is fine. A cgroup that still holds processes cannot be removed (EBUSY).
func removeCgroupTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
		}
	}
	return errors.Join(errs...)
}
