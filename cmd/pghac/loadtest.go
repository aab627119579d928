package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/cloudinit"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/load"
	"github.com/pghac/pghac/internal/pki"
	"github.com/pghac/pghac/internal/site"
)

var loadtestCommand = &command{
	name:     "loadtest",
	synopsis: "[--scenario NAME] [--target TARGET] [--dir deploy] [--config load.yaml] [--address HOST:PORT] [--report DIR] [--progress WHEN]",
	summary:  "run a load test of the bundle 'build' emitted (Yandex Tank format) and report",
	detail: `Runs one load-test scenario of the bundle that 'pghac build' writes to
DIR/TARGET/loadtest/NAME/ (load.yaml and ammo.txt, in Yandex Tank's phantom
format), or with --config any Tank load.yaml and its ammo: requests per second
follow the schedule (line, const, step) whatever the target's latency, at most
phantom.instances in flight, and Tank's autostop criteria (http, net, quantile,
time, instances, limit) are checked every second. Without --scenario, the only
scenario there is runs; with several, it says which there are.

Progress goes to stderr, one line a second (rewritten in place on a terminal).
The summary is printed and written with report.json (every second's numbers) and
a self-contained report.html (charts of rate, latency and codes over time) into
--report, by default .pghac/TARGET/loadtest/NAME-<UTC time>/. Ctrl-C stops the
test and still writes the reports.

With --target yandex (and no --config) the test runs on the load generator VM,
and loadtest prints the command that runs it there.

Exits 0 when the test passed (no autostop criterion fired; limit is a scheduled
end, not a failure), 1 when a criterion failed it or the load.yaml or ammo is
invalid, 2 on a bad command line, 4 when the target is unreachable at the start,
on I/O errors, or when interrupted.`,
	setup: func(fs *pflag.FlagSet) func(*cli, []string) int {
		o := loadtestOptions{}
		fs.StringVar(&o.scenario, "scenario", "", "run scenario `NAME` (a folder of DIR/TARGET/loadtest)")
		target := addTargetFlag(fs, model.TargetSandbox, "the bundle's `TARGET`")
		fs.StringVar(&o.dir, "dir", "deploy", "the deploy tree `DIR` that build wrote")
		fs.StringVar(&o.config, "config", "", "run the Tank load.yaml at `FILE` instead of a bundle scenario")
		fs.StringVar(&o.address, "address", "", "send to `HOST:PORT` instead of phantom.address (and as the Host header)")
		fs.StringVar(&o.report, "report", "", "write the reports into `DIR` (default .pghac/TARGET/loadtest/NAME-<UTC time>)")
		fs.StringVar(&o.progress, "progress", "auto", "show progress `WHEN`: auto (on a terminal), always or never")
		fs.StringVar(&o.caCert, "ca-cert", "", "verify an https target against the authorities in `FILE` (default the cluster's, .pghac/TARGET/tls/ca.crt, when there is one; else any certificate is taken, as phantom does)")
		return func(c *cli, _ []string) int {
			var err error
			if o.target, err = target(); err != nil {
				return c.usageError(lookup("loadtest"), err.Error())
			}
			return c.loadtest(o)
		}
	},
}

type loadtestOptions struct {
	scenario, dir, config, address, report, progress, caCert string
	target                                                   model.Target
}

// yandexLoadtestCommand is the command that runs scenario on the cloud's load generator,
// where its cloud-init put the bundle (cloudinit.BundleDir). The address is the load
// generator's public one from the local Terraform state in stateDir when `pghac apply` has
// run, else a placeholder naming the output to take it from.
func yandexLoadtestCommand(scenario, stateDir string) string {
	addr := "<load_generator_public_address, printed by pghac apply>"
	state := site.New("", "", stateDir, model.TargetYandex).StateFile() // only the state folder matters
	if v, ok := infra.StateOutput(state, "load_generator_public_address"); ok {
		addr = v
	}
	// The images' default user is what the VMs' ssh_user variable defaults to.
	return fmt.Sprintf("ssh <ssh_user, debian by default>@%s sudo pghac loadtest --config %s",
		addr, path.Join(cloudinit.BundleDir, scenario, load.ConfigName))
}

// loadtestRoots are the authorities an https target is verified against, and their file:
// --ca-cert's, or the cluster's when it has one; nil and "" (any certificate) without either.
func loadtestRoots(o loadtestOptions) (*x509.CertPool, string, error) {
	file := o.caCert
	if file == "" {
		s := site.New("", "", ".pghac", o.target)
		if !s.HasCA() {
			return nil, "", nil
		}
		file = s.CACert()
	}
	pool, err := pki.ReadRoots(file)
	if err != nil {
		return nil, "", fmt.Errorf("--ca-cert: %w", err)
	}
	return pool, file, nil
}

func (c *cli) loadtest(o loadtestOptions) int {
	const cmd = "loadtest"
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(c.stderr, "pghac %s: %s\n", cmd, fmt.Sprintf(format, args...))
		return code
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return c.usageError(lookup("loadtest"), fmt.Sprintf("invalid --progress %q: want auto, always or never", o.progress))
	}

	file, scenario := o.config, o.scenario
	if file == "" {
		dir := filepath.Join(o.dir, string(o.target), "loadtest")
		if scenario == "" || o.target != model.TargetYandex {
			var err error
			scenario, err = load.Pick(dir, o.scenario)
			if ce, ok := errors.AsType[*load.ChoiceError](err); ok {
				return c.usageError(lookup("loadtest"), ce.Msg)
			}
			if err != nil {
				return fail(exitRuntime, "no load-test bundle: %v; run 'pghac build --target %s' first, or give --config", err, o.target)
			}
		}
		if o.target == model.TargetYandex {
			fmt.Fprintf(c.stdout, "The %s scenario runs on the load generator VM. Run there:\n\n  %s\n", scenario, yandexLoadtestCommand(scenario, ".pghac"))
			return exitOK
		}
		file = load.ScenarioConfig(dir, scenario)
	} else if scenario == "" {
		scenario = filepath.Base(filepath.Dir(file))
		if abs, err := filepath.Abs(file); err == nil {
			scenario = filepath.Base(filepath.Dir(abs))
		}
	}

	cfg, err := load.LoadConfig(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(exitRuntime, "%v", err)
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(c.stderr, line)
		}
		return fail(exitInvalid, "%s is not a load test pghac can run", file)
	}
	if o.address != "" {
		if err := cfg.SetAddress(o.address); err != nil {
			return c.usageError(lookup("loadtest"), fmt.Sprintf("invalid --address: %v", err))
		}
	}
	ammo, err := cfg.ReadAmmo()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(exitRuntime, "%v", err)
		}
		return fail(exitInvalid, "%v", err)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(c.stderr, "pghac %s: warning: %s\n", cmd, w)
	}

	reportDir := o.report
	if reportDir == "" {
		reportDir = filepath.Join(".pghac", string(o.target), "loadtest", scenario+"-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	opts := load.Options{}
	target := cfg.URL()
	if cfg.SSL {
		var ca string
		if opts.RootCAs, ca, err = loadtestRoots(o); err != nil {
			return fail(exitRuntime, "%v", err)
		}
		if ca == "" {
			target += " (its certificate not verified: no --ca-cert)"
		} else {
			target += " (its certificate verified against " + ca + ")"
		}
	}
	fmt.Fprintf(c.stdout, "Load test %s: %s against %s, %d requests of ammo (%s).\n",
		scenario, cfg.Schedule, target, len(ammo), file)
	switch {
	case o.progress == "always" || (o.progress == "auto" && c.tty):
		opts.Progress, opts.InPlace = c.stderr, c.tty
	}
	res, err := load.Run(c.ctx, cfg, ammo, opts)
	if err != nil {
		if errors.Is(err, load.ErrUnreachable) || c.ctx.Err() != nil {
			return fail(exitRuntime, "%v", err)
		}
		return fail(exitInvalid, "%v", err)
	}
	fmt.Fprintln(c.stdout)
	if err := res.WriteText(c.stdout); err != nil {
		return fail(exitRuntime, "%v", err)
	}
	paths, err := res.WriteReports(reportDir)
	if err != nil {
		return fail(exitRuntime, "writing the reports: %v", err)
	}
	fmt.Fprintf(c.stdout, "\nReports:\n")
	for _, p := range paths {
		fmt.Fprintf(c.stdout, "  %s\n", p)
	}
	switch {
	case res.Summary.Passed:
		return exitOK
	case res.Summary.Verdict == "INTERRUPTED":
		return exitRuntime
	}
	return exitInvalid
}
