package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/clusteredit"
	"github.com/pghac/pghac/internal/drill"
	"github.com/pghac/pghac/internal/drill/scenario"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
	"github.com/pghac/pghac/internal/view"
)

var drillCommand = &command{
	name:     "drill",
	synopsis: "[SCENARIO...] [--repeat N] [--report DIR] [--steady DURATION] [--list] [-f FILE] [--state-dir DIR] [--terraform PATH]",
	summary:  "run failover drills on the sandbox under load and check that no acknowledged write is lost",
	detail: `Runs failover scenarios on the running sandbox (pghac up), each under a steady
load: two writers per node insert unique ids through the node's HAProxy primary
port (5000) and record every acknowledgement, one reader per node reads through
the replica port (5001), and a monitor samples the leader lock in etcd and every
member's role, state, timeline and lag five times a second. After a few seconds
of load the scenario injects its fault, undoes it, waits until every member is
healthy and caught up, and reads every id back from the final primary.

Each run is judged on: acknowledged writes lost (must be 0), split-brain writes
(acknowledged by a server that did not hold the leader lock: must be 0), the write
outage (longest gap between acknowledgements after the fault) against the
scenario's limit, read errors, the time until the cluster was whole again, and the
leader changes (none allowed where the scenario keeps the leader).

Scenarios (all of them, in this order, when none is named; --list prints them):
` + scenarioList() + `
A table of the runs is printed; --report (default .pghac/sandbox/drill/<UTC time>/)
gets summary.txt, report.html (a timeline chart per run: writes acknowledged,
failed and unknown over time, with the fault, the heal, the recovery and every
leader change marked), and per run NAME-REP.history.json and NAME-REP.report.json.

Exits 0 when every run passed, 1 when any broke an invariant or a limit, 2 on a
bad command line, 4 when a drill could not run (the sandbox is not up or not
healthy, a fault could not be injected) or was interrupted.`,
	maxArgs: 64,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		f := addSandboxFlags(fs, true)
		repeat := fs.Int("repeat", 1, "run each scenario `N` times")
		report := fs.String("report", "", "write the reports into `DIR` (default .pghac/sandbox/drill/<UTC time>)")
		steady := fs.Duration("steady", 10*time.Minute, "how long the steady scenario runs (`DURATION`)")
		list := fs.Bool("list", false, "list the scenarios and exit")
		return func(c *cli, args []string) int {
			if *list {
				fmt.Fprint(c.stdout, scenarioList())
				return exitOK
			}
			var picked []scenario.Scenario
			for _, a := range args {
				s, ok := scenario.Lookup(a)
				if !ok {
					return c.usageError(lookup("drill"), fmt.Sprintf("no scenario %q: want one of %s", a, strings.Join(scenario.Names(), ", ")))
				}
				picked = append(picked, s)
			}
			if len(picked) == 0 {
				picked = scenario.All()
			}
			if *repeat < 1 {
				return c.usageError(lookup("drill"), "--repeat must be at least 1")
			}
			if *steady <= 0 {
				return c.usageError(lookup("drill"), "--steady must be positive")
			}
			s, code, ok := c.sandboxSite("drill", f)
			if !ok {
				return code
			}
			return c.drill(s, *f.terraform, picked, *repeat, *report, *steady)
		}
	},
}

func scenarioList() string {
	var b strings.Builder
	for _, s := range scenario.All() {
		fmt.Fprintf(&b, "  %-17s %s\n", s.Name, s.Summary)
	}
	return b.String()
}

func (c *cli) drill(s site.Site, terraform string, picked []scenario.Scenario, repeat int, reportDir string, steady time.Duration) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(c.stderr, "pghac drill: "+format+"\n", args...)
		return exitRuntime
	}
	cl, code, ok := c.loadQuiet("drill", s)
	if !ok {
		return code
	}
	pc, vars, err := provision.SandboxPatroni(s, cl)
	if err != nil {
		return fail("%v", err)
	}
	var caCert string // a cluster from before TLS has none: its drills ask for no TLS
	if s.HasCA() {
		caCert = s.CACert()
	}
	env, err := scenario.NewEnv(cl, provision.SandboxConfig(s, cl, nil), vars, caCert, pc)
	if err != nil {
		return fail("%s: %v", s.File, err)
	}
	if env.Dial, err = provision.Dialer(s, cl); err != nil {
		return fail("%v", err)
	}
	env.Steady = steady
	env.Progress = view.PrefixWriter{W: c.stderr, Prefix: "  "}
	if cl.Backup == nil {
		var kept []scenario.Scenario
		for _, sc := range picked {
			if sc.NeedsBackups {
				fmt.Fprintf(c.stderr, "pghac drill: skipping %s: the cluster file turns backups off\n", sc.Name)
				continue
			}
			kept = append(kept, sc)
		}
		if picked = kept; len(picked) == 0 {
			return fail("no scenario left to run")
		}
	}
	fl := provision.Fleet{Site: s, Cluster: cl}
	env.Restore = func(ctx context.Context, t time.Time) error {
		_, err := fl.Restore(ctx, provision.RestoreTarget{Time: t}, func(step string) { fmt.Fprintf(env.Progress, "           restore: %s\n", step) }, io.Discard)
		return err
	}
	if slices.ContainsFunc(picked, func(s scenario.Scenario) bool { return s.ReplacesMachines || s.RotatesSecrets || s.Resizes }) {
		// Machines are replaced as pghac up --replace does: through the sandbox's Terraform,
		// the new ones downloading the backend from this host. Secrets are rotated as pghac
		// secrets rotate does. The cluster changes shape as pghac up changes it.
		sb, code, ok := c.sandbox("drill", s, terraform)
		if !ok {
			return code
		}
		stepLog := func(msg string) { fmt.Fprintf(env.Progress, "           %s\n", msg) }
		env.RotateSecret = func(ctx context.Context, name model.Secret) error {
			_, err := sb.RotateSecret(ctx, name, 5*time.Minute, nil, stepLog)
			return err
		}
		env.RotateTLS = func(ctx context.Context) error {
			_, err := sb.RotateTLS(ctx, 5*time.Minute, nil, nil, stepLog)
			return err
		}
		env.RotateCA = func(ctx context.Context) (string, error) {
			step, _, err := sb.RotateCA(ctx, 5*time.Minute, nil, nil, nil, stepLog)
			return step.String(), err
		}
		sb.Stdout = view.PrefixWriter{W: c.stderr, Prefix: "    terraform: "}
		if cl.Backend != nil {
			serveCtx, stopServing := context.WithCancel(c.ctx)
			defer stopServing()
			if err := sb.ServeBackend(serveCtx, "", func(err error) { fmt.Fprintf(c.stderr, "pghac drill: %v\n", err) }); err != nil {
				return fail("%v", err)
			}
		}
		env.ReplaceMachine = func(ctx context.Context, node string) error { return sb.ReplaceMachine(ctx, node, nil) }
		// up's output goes where the drill's progress goes; the backend is served already.
		sub := *c
		upOut := &view.LinePrefixer{W: c.stderr, Prefix: "    up: "}
		sub.stdout, sub.stderr = upOut, upOut
		sub.backendServed = true
		env.ScaleOut = func(_ context.Context, n int) ([]string, error) { return sub.drillScaleOut(s, terraform, n) }
		env.ScaleIn = func(context.Context, []string) error {
			if code := sub.up(s, terraform, "", 10*time.Minute, true, nil); code != exitOK {
				return fmt.Errorf("pghac up --allow-replace with the cluster file as it was: exit code %d", code)
			}
			return nil
		}
	}
	if reportDir == "" {
		reportDir = s.DrillReports(time.Now().UTC().Format("20060102T150405Z"))
	}
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return fail("%v", err)
	}

	runs, err := scenario.RunAll(c.ctx, env, picked, repeat, reportDir, c.stderr)
	if err != nil {
		fail("%v", err)
		c.drillReports(reportDir, runs)
		return exitRuntime
	}
	switch {
	case c.drillReports(reportDir, runs) != exitOK:
		return exitRuntime
	case slices.ContainsFunc(runs, func(r drill.Run) bool { return !r.Report.OK() }):
		return exitInvalid
	}
	return exitOK
}

// drillReports prints the table of runs and where their reports are, once it has written
// summary.txt and report.html into dir; with no runs there is nothing to report.
func (c *cli) drillReports(dir string, runs []drill.Run) int {
	if len(runs) == 0 {
		return exitOK
	}
	table, err := scenario.WriteReports(dir, runs)
	c.stdout.Write(table) // the results, even when a file could not be written
	if err != nil {
		return c.fail("drill", err)
	}
	fmt.Fprintf(c.stdout, "\nReports: %s\n", dir)
	return exitOK
}

// drillScaleOut runs up on a copy of the cluster file with n node blocks added
// (clusteredit.AddNodes), kept in the state folder, and returns the new nodes' names.
func (c *cli) drillScaleOut(s site.Site, terraform string, n int) ([]string, error) {
	src, err := os.ReadFile(s.File)
	if err != nil {
		return nil, err
	}
	out, names, err := clusteredit.AddNodes(src, s.File, n)
	if err != nil {
		return nil, err
	}
	bigger := s
	bigger.File = filepath.Join(s.Dir, "drill-cluster.hcl")
	if err := os.WriteFile(bigger.File, out, 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(bigger.File)
	if code := c.up(bigger, terraform, "", 10*time.Minute, false, nil); code != exitOK {
		return nil, fmt.Errorf("pghac up with %s added: exit code %d", strings.Join(names, ", "), code)
	}
	return names, nil
}
