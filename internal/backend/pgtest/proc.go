package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Where Debian's packages put the binaries.
const (
	// PGBin is the directory of PostgreSQL 15's server binaries.
	PGBin = "/usr/lib/postgresql/15/bin"
	// PgBouncerBin is PgBouncer's binary.
	PgBouncerBin = "/usr/sbin/pgbouncer"
)

// procEnv is the whole environment of the servers the fixture starts: nothing of the test's
// environment (PGPASSWORD, PGDATA and the like) leaks into them.
var procEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC"}

// owner is the account the servers run as: postgres when the test runs as root (both servers
// refuse root), else the test's own account (cred nil).
type owner struct {
	cred     *syscall.Credential
	uid, gid int
}

var (
	ownerOnce sync.Once
	ownerVal  owner
	ownerErr  error
)

func runAs() (owner, error) {
	ownerOnce.Do(func() {
		if os.Geteuid() != 0 {
			ownerVal = owner{uid: os.Geteuid(), gid: os.Getegid()}
			return
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			ownerErr = fmt.Errorf("the tests run as root and PostgreSQL refuses root, but there is no postgres user to run it as (install postgresql-15: make deps): %w", err)
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		ownerVal = owner{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid: uid, gid: gid}
	})
	return ownerVal, ownerErr
}

// chown gives paths to the servers' account; a no-op when the test does not run as root.
func (o owner) chown(paths ...string) error {
	if o.cred == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Lchown(p, o.uid, o.gid); err != nil {
			return err
		}
	}
	return nil
}

// command builds a command that runs as o, in its own process group, with procEnv, its
// output appended to logPath.
func (o owner) command(logPath, name string, args ...string) (*exec.Cmd, *os.File, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = procEnv
	cmd.Dir = filepath.Dir(logPath)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: o.cred}
	return cmd, logf, nil
}

// run runs a short command (initdb) as o and returns an error carrying its output's tail.
func (o owner) run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = procEnv
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: o.cred}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed: %w%s", filepath.Base(name), err, tail(out.String(), 15))
	}
	return nil
}

// proc is a running server: the leader of its own process group.
type proc struct {
	cmd  *exec.Cmd
	home string        // a directory that all its processes have as cwd ("" for none)
	done chan struct{} // closed when the leader has exited and been reaped
	err  error         // the leader's exit status, valid after done
}

// startProc starts cmd, whose processes all work in home when it is not "".
func startProc(cmd *exec.Cmd, logf *os.File, home string) (*proc, error) {
	err := cmd.Start()
	logf.Close() // the child has its own descriptor
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, home: home, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the leader has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process group and waits up to grace for the leader to exit, then
// kills what is left. It reports whether the leader exited within grace.
//
// PostgreSQL's children are not in the postmaster's group (each calls setsid), so they are
// found by parent and by working directory (the data directory, p.home); they get SIGKILL
// together with the group when sig is SIGKILL (a crash) or the grace runs out, and stop
// returns only once they are gone: PostgreSQL refuses to start while a process of its old
// instance still holds the shared memory.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) bool {
	pgid := p.cmd.Process.Pid
	kids := children(pgid)
	killAll := func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		for _, k := range append(kids, inDir(p.home)...) {
			k.kill()
		}
	}
	if !p.exited() {
		if sig == syscall.SIGKILL {
			killAll()
		} else {
			_ = syscall.Kill(-pgid, sig)
		}
	}
	clean := true
	select {
	case <-p.done:
	case <-time.After(grace):
		clean = false
		killAll()
		<-p.done
	}
	// Whatever outlived the leader goes too. The group's ID cannot have been reused yet: a
	// new group would need a new leader with this very PID.
	killAll()
	deadline := time.Now().Add(10 * time.Second)
	for groupAlive(pgid) || anyAlive(kids) || len(inDir(p.home)) > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return clean
}

// pidStat is what the fixture reads of /proc/PID/stat.
type pidStat struct {
	pid, ppid, pgrp int
	state           string
	start           string // start time in clock ticks: tells a reused PID apart
}

func readPidStat(pid string) (pidStat, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return pidStat{}, false
	}
	// comm may hold spaces and parentheses: the fields after it start past the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return pidStat{}, false
	}
	f := strings.Fields(string(b[i+1:])) // state ppid pgrp session ... starttime (the 20th)
	if len(f) < 20 {
		return pidStat{}, false
	}
	st := pidStat{state: f[0], start: f[19]}
	st.pid, _ = strconv.Atoi(pid)
	st.ppid, _ = strconv.Atoi(f[1])
	st.pgrp, _ = strconv.Atoi(f[2])
	return st, true
}

// allProcs returns every process's stat.
func allProcs() []pidStat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []pidStat
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if st, ok := readPidStat(e.Name()); ok {
			out = append(out, st)
		}
	}
	return out
}

func (st pidStat) alive() bool { return st.state != "Z" && st.state != "X" }

// children returns the processes whose parent is pid.
func children(pid int) []pidStat {
	var out []pidStat
	for _, st := range allProcs() {
		if st.ppid == pid && st.alive() {
			out = append(out, st)
		}
	}
	return out
}

// inDir returns the live processes whose working directory is dir; none for "".
func inDir(dir string) []pidStat {
	if dir == "" {
		return nil
	}
	var out []pidStat
	for _, st := range allProcs() {
		if cwd, err := os.Readlink("/proc/" + strconv.Itoa(st.pid) + "/cwd"); err == nil && cwd == dir && st.alive() {
			out = append(out, st)
		}
	}
	return out
}

// kill sends SIGKILL to the process if it is still the one that was seen.
func (st pidStat) kill() {
	if now, ok := readPidStat(strconv.Itoa(st.pid)); ok && now.start == st.start {
		_ = syscall.Kill(st.pid, syscall.SIGKILL)
	}
}

// anyAlive reports whether one of procs is still alive (zombies, which hold nothing, do
// not count).
func anyAlive(procs []pidStat) bool {
	for _, st := range procs {
		if now, ok := readPidStat(strconv.Itoa(st.pid)); ok && now.start == st.start && now.alive() {
			return true
		}
	}
	return false
}

// groupAlive reports whether a process of group pgid is alive.
func groupAlive(pgid int) bool {
	for _, st := range allProcs() {
		if st.pgrp == pgid && st.alive() {
			return true
		}
	}
	return false
}

// errPortInUse is a server's start that failed because its port was taken between freePort
// and the server binding it: the caller tries another port.
var errPortInUse = errors.New("the port was taken before the server bound it")

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until something accepts TCP connections on 127.0.0.1:port, p exits, or
// timeout passes.
func waitPort(p *proc, port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("it exited (%v) before listening on %s", p.err, addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s", addr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tail returns the last n lines of s, indented, after a newline; "" for blank s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if strings.TrimSpace(s) == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n    " + strings.Join(lines, "\n    ")
}

// fileTail is tail of a file's content; "" when it cannot be read.
func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return tail(string(b), n)
}
