package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// moveScript moves the shell into the cgroups given as its first arguments
// ("N dir1 .. dirN") before it runs anything else, so that nspawn and its
// machine start inside them (notes §3.2).
const moveScript = `n=$1; shift
i=0
while [ "$i" -lt "$n" ]; do echo $$ > "$1/cgroup.procs" || exit 1; shift; i=$((i+1)); done
`

func makeCgroups(cgs []string) error {
	for _, d := range cgs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
	}
	return nil
}

func cgroupArgs(cgs []string) []string {
	return append([]string{strconv.Itoa(len(cgs))}, cgs...)
}

// cgroupCommand is argv run in the foreground inside the cgroups cgs.
func cgroupCommand(ctx context.Context, cgs, argv []string) (*exec.Cmd, error) {
	if err := makeCgroups(cgs); err != nil {
		return nil, err
	}
	args := append([]string{"-c", moveScript + `exec "$@"`, "sh"}, cgroupArgs(cgs)...)
	return command(ctx, "/bin/sh", append(args, argv...)...), nil
}

// startDetached starts argv inside the cgroups cgs, in a session of its own,
// with stdin from /dev/null and stdout and stderr appended to logPath, and
// returns its PID. The intermediate shell exits at once, so the process is not
// pghac's child: it outlives pghac (Terraform's local-exec) and is reaped by init.
func startDetached(cgs []string, logPath string, argv []string) (int, error) {
	if err := makeCgroups(cgs); err != nil {
		return 0, err
	}
	script := moveScript + `log=$1; shift
"$@" </dev/null >>"$log" 2>&1 &
echo $!
`
	args := append([]string{"-c", script, "sh"}, cgroupArgs(cgs)...)
	args = append(append(args, logPath), argv...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = hostEnv
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", filepath.Base(argv[0]), err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("start %s: no pid in %q", filepath.Base(argv[0]), out)
	}
	return pid, nil
}

// removeEmptyTop removes pghac's top cgroup directories when nothing is left in them.
func removeEmptyTop(hs []string) {
	for _, h := range hs {
		_ = syscall.Rmdir(filepath.Join(h, cgroupTop))
	}
}
