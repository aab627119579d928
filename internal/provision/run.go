package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/site"
)

// EmitBuild is emit.Build; the CLI's tests replace it to see how an emitter bug is reported.
var EmitBuild = emit.Build

// Emit runs EmitBuild, turning a panic into an error: either is a pghac bug, and the user
// gets the stack to report it.
func Emit(cl *model.Cluster) (set *artifact.Set, err error) {
	defer func() {
		if r := recover(); r != nil {
			set, err = nil, fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	set, err = EmitBuild(cl)
	if err == nil && set == nil {
		err = errors.New("emit returned no files and no error")
	}
	return set, err
}

// Run is one Terraform run on a target's working directory: the var files it passes and the
// fingerprint of the cluster file and generated tree that a plan records and apply checks.
type Run struct {
	*infra.Workdir
	Site        site.Site
	VarFiles    []string
	Fingerprint string
	// Offline runs against the stand-in provider (OpenOffline): Plan validates first and
	// returns the diagnostics, since plan checks the configuration too but reports its errors
	// as text.
	Offline bool
}

// Open opens s's Terraform working directory for a run with varFiles, making the state
// folder, and keeps the var files' secret values out of every message. Terraform's apply
// progress goes to stdout.
func Open(s site.Site, bin infra.Binary, varFiles []string, stdout io.Writer) (*Run, error) {
	secrets, err := site.SecretValues(varFiles)
	if err != nil {
		return nil, err
	}
	if err := s.MakeStateDir(); err != nil {
		return nil, err
	}
	fp, err := s.Fingerprint()
	if err != nil {
		return nil, err
	}
	w, err := infra.Open(infra.Options{Binary: bin, Dir: s.Work(), Stdout: stdout, Secrets: secrets})
	if err != nil {
		return nil, err
	}
	return &Run{Workdir: w, Site: s, VarFiles: varFiles, Fingerprint: fp}, nil
}

// OpenOffline opens a fresh working directory for an offline plan (PrepareOffline), Terraform
// running with environ plus what finds the stand-in provider, exe run with args.
func OpenOffline(s site.Site, bin infra.Binary, environ []string, exe string, args ...string) (*Run, error) {
	o, err := PrepareOffline(s, exe, args...)
	if err != nil {
		return nil, err
	}
	env := append([]string(nil), environ...)
	for k, v := range o.Env {
		env = append(env, k+"="+v) // later entries win
	}
	w, err := infra.Open(infra.Options{Binary: bin, Dir: o.Work, Env: env, LocalState: true})
	if err != nil {
		return nil, err
	}
	return &Run{Workdir: w, Site: s, VarFiles: []string{o.VarFile}, Fingerprint: "offline", Offline: true}, nil
}

// Plan stages the generated tree, initializes and plans (the destruction of everything, with
// destroy), returning validate's diagnostics when r.Offline.
func (r *Run) Plan(ctx context.Context, destroy bool) (*infra.Plan, []infra.Diagnostic, error) {
	return r.plan(ctx, infra.PlanOptions{Destroy: destroy})
}

// PlanReplace plans the replacement of node's machine and nothing else (infra.PlanOptions'
// Replace): a node rebuilt on purpose, or one that died.
func (r *Run) PlanReplace(ctx context.Context, t model.Target, node string) (*infra.Plan, []infra.Diagnostic, error) {
	return r.plan(ctx, infra.PlanOptions{Replace: []string{MachineAddress(t, node)}})
}

// MachineAddress is the Terraform address of node's machine on target t.
func MachineAddress(t model.Target, node string) string {
	if t == model.TargetSandbox {
		return "terraform_data." + node
	}
	return "yandex_compute_instance." + node
}

func (r *Run) plan(ctx context.Context, opts infra.PlanOptions) (*infra.Plan, []infra.Diagnostic, error) {
	// The live part of an older plan goes with it (Terraform's own goes in Workdir.Plan).
	if err := r.ClearLive(); err != nil {
		return nil, nil, err
	}
	if err := r.Stage(r.Site.Deploy); err != nil {
		return nil, nil, err
	}
	if err := r.Init(ctx); err != nil {
		return nil, nil, err
	}
	var diags []infra.Diagnostic
	if r.Offline {
		var err error
		if diags, err = r.Validate(ctx); err != nil {
			return nil, diags, err
		}
	}
	opts.VarFiles, opts.Fingerprint = r.VarFiles, r.Fingerprint
	p, err := r.Workdir.Plan(ctx, opts)
	return p, diags, err
}

// Apply applies the saved plan, refusing with a *infra.FingerprintError when the cluster
// file or the generated tree changed since it was made.
func (r *Run) Apply(ctx context.Context) error { return r.Workdir.Apply(ctx, r.Fingerprint) }

// ErrChanged is a saved plan made from another cluster file or generated tree than today's.
var ErrChanged = errors.New("changed since the plan was made")

// OpenSaved opens s's working directory to apply the plan saved there. It fails with an
// error wrapping infra.ErrNoPlan when there is none, and with ErrChanged when the cluster
// file or generated tree changed since.
func OpenSaved(s site.Site, bin infra.Binary, stdout io.Writer) (*Run, infra.PlanInfo, error) {
	if _, err := os.Stat(s.Work()); err != nil {
		return nil, infra.PlanInfo{}, fmt.Errorf("%w in %s", infra.ErrNoPlan, s.Work())
	}
	w, err := infra.Open(infra.Options{Binary: bin, Dir: s.Work(), Stdout: stdout})
	if err != nil {
		return nil, infra.PlanInfo{}, err
	}
	info, err := w.SavedPlan()
	if err != nil {
		return nil, info, err
	}
	fp, err := s.Fingerprint()
	if err != nil {
		return nil, info, err
	}
	if info.Fingerprint != fp {
		return nil, info, ErrChanged
	}
	// Plans derived from the saved one (ApplySteps) take its var files again, and keep their
	// secrets out of every message as Open does. One gone since matters to those plans only,
	// and Terraform will say so there.
	secrets, _ := site.SecretValues(info.VarFiles)
	if w, err = infra.Open(infra.Options{Binary: bin, Dir: s.Work(), Stdout: stdout, Secrets: secrets}); err != nil {
		return nil, info, err
	}
	return &Run{Workdir: w, Site: s, VarFiles: info.VarFiles, Fingerprint: fp}, info, nil
}

// Sync makes dir hold exactly set, writing it only when it differs, and returns how it
// differed.
func Sync(dir string, set *artifact.Set) (artifact.Drift, error) {
	drift, err := artifact.Compare(dir, set)
	if err != nil || drift.Clean() {
		return drift, err
	}
	if err := artifact.WriteDir(dir, set); err != nil {
		return drift, fmt.Errorf("write %s: %w", dir, err)
	}
	return drift, nil
}
