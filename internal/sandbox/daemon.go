package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// daemon is a host process the sandbox runs beside its machines (the apt proxy, the
// stand-in jump host): detached, in a cgroup of its own under the bridge's, its PID in a
// file of its state folder.
type daemon struct {
	cfg     Config
	what    string // how messages name it
	cgroup  string // its cgroup's name
	dir     string // its state folder: the pid file
	logPath string // its output
	// running is its PID when it runs, else 0: the pid file checked against /proc.
	running func() int
}

func (d daemon) pidFile() string { return filepath.Join(d.dir, "pid") }

// start runs argv as d and waits until it listens on listen, failing with the end of its
// output when it does not within timeout.
func (d daemon) start(ctx context.Context, argv []string, listen netip.AddrPort, timeout time.Duration) error {
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	pid, err := startDetached(d.cgroups(hs), d.logPath, argv)
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	err = waitPort(ctx, listen.Addr().String(), int(listen.Port()), timeout)
	if err == nil && d.running() == 0 {
		err = fmt.Errorf("%s exited", filepath.Base(argv[0]))
	}
	if err != nil {
		out, _ := os.ReadFile(d.logPath)
		return fmt.Errorf("%s: %w%s", d.what, err, indentTail(string(out), 10))
	}
	return nil
}

// stop ends d, and whatever it left in its cgroup (the connections a jump host forwards);
// one that does not run is fine.
func (d daemon) stop() error {
	if pid := d.running(); pid != 0 {
		d.cfg.logf("network: stopping the %s (pid %d)", d.what, pid)
		_ = signal(pid, syscall.SIGTERM)
		if !waitGone(pid, 5*time.Second) {
			_ = signal(pid, syscall.SIGKILL)
			waitGone(pid, 5*time.Second)
		}
	}
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	cgs := d.cgroups(hs)
	_ = killCgroup(cgs, 5*time.Second)
	var errs []error
	for _, cg := range cgs {
		errs = append(errs, removeCgroupTree(cg))
	}
	_ = os.Remove(d.pidFile())
	return errors.Join(errs...)
}

func (d daemon) cgroups(hs []string) []string {
	var cgs []string
	for _, h := range hs {
		cgs = append(cgs, filepath.Join(h, cgroupTop, d.cfg.Bridge, d.cgroup))
	}
	return cgs
}
