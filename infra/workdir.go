package infra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Options configure a Workdir.
type Options struct {
	Binary Binary
	// Dir is the working directory Terraform runs in. It is created, mode 0700, when missing:
	// the state and saved plans it will hold contain secrets.
	Dir string
	// Env is the whole environment of Terraform as KEY=VALUE strings. nil inherits pghac's own,
	// TF_VAR_* included. terraform-exec manages some names itself (TF_LOG*, TF_INPUT,
	// TF_IN_AUTOMATION, TF_WORKSPACE, TF_CLI_ARGS*, TF_VAR_*, ...) and refuses them in an
	// explicit environment: Open leaves them out and IgnoredEnv names them.
	Env []string
	// Stdout receives Terraform's progress output during Apply. nil discards it.
	Stdout io.Writer
	// Secrets are values that must never appear in an error: they are replaced with
	// "(redacted)" in Terraform's output before it goes into one.
	Secrets []string
	// LocalState keeps state in the working directory whatever backend the configuration
	// names: Stage adds an override file (offline plans must never touch a real backend).
	LocalState bool
}

// localStateOverride is the override file LocalState writes; Terraform merges *_override.tf
// files over the configuration.
const localStateOverride = "pghac_local_state_override.tf"

// Workdir is one Terraform working directory and the terraform-exec handle that runs in it.
// Its methods are not safe for concurrent use.
type Workdir struct {
	dir     string
	src     string // what Stage copied, for diagnostics' file names
	tf      *tfexec.Terraform
	stdout  io.Writer
	stderr  bytes.Buffer
	redact  redactor
	ignored []string
	local   bool
}

// Open prepares a Workdir in opts.Dir.
func Open(opts Options) (*Workdir, error) {
	if opts.Binary.Path == "" {
		return nil, errors.New("infra: no Terraform binary given (use Find)")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tf, err := tfexec.NewTerraform(dir, opts.Binary.Path)
	if err != nil {
		return nil, err
	}
	w := &Workdir{dir: dir, tf: tf, stdout: opts.Stdout, redact: newRedactor(opts.Secrets), local: opts.LocalState}
	if opts.Env != nil {
		env := map[string]string{}
		for _, kv := range opts.Env {
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
				env[k] = v
			}
		}
		w.ignored = tfexec.ProhibitedEnv(env)
		sort.Strings(w.ignored)
		if err := tf.SetEnv(tfexec.CleanEnv(env)); err != nil {
			return nil, err
		}
	}
	// Ctrl-C cancels the caller's context; terraform-exec then sends Terraform an interrupt.
	// Terraform stops gracefully, finishing the cloud calls in flight so that state stays true,
	// which may take minutes: never kill it after a delay. A second Ctrl-C is the caller's to
	// handle.
	if err := tf.SetWaitDelay(0); err != nil {
		return nil, err
	}
	tf.SetStderr(&w.stderr)
	return w, nil
}

// Dir is the working directory's absolute path.
func (w *Workdir) Dir() string { return w.dir }

// IgnoredEnv names the variables of Options.Env that Terraform does not get, sorted.
func (w *Workdir) IgnoredEnv() []string { return w.ignored }

// Stage makes the working directory hold a copy of the configuration in src: files are
// copied with their permissions, files and directories src no longer has are removed, and
// Terraform's own files (.terraform/, the lock file, state) and the saved plan are kept.
func (w *Workdir) Stage(src string) error {
	if err := stage(src, w.dir); err != nil {
		return fmt.Errorf("stage %s into %s: %w", src, w.dir, err)
	}
	w.src = src
	if w.local {
		const override = "# Written by pghac: this working directory keeps its state locally.\nterraform {\n  backend \"local\" {}\n}\n"
		if err := os.WriteFile(filepath.Join(w.dir, localStateOverride), []byte(override), 0o600); err != nil {
			return fmt.Errorf("stage %s: %w", src, err)
		}
	}
	return nil
}

// run runs one Terraform command, turning its failure into a *TerraformError with redacted
// output.
func (w *Workdir) run(op string, f func() error) error {
	w.stderr.Reset()
	err := f()
	if err == nil {
		return nil
	}
	return &TerraformError{Op: op, Detail: strings.TrimSpace(w.redact.apply(w.stderr.String())), err: err}
}

// Init runs `terraform init`: backend, modules and providers.
func (w *Workdir) Init(ctx context.Context) error {
	return w.run("init", func() error { return w.tf.Init(ctx, tfexec.Upgrade(false)) })
}

// Diagnostic is one message of `terraform validate`.
type Diagnostic struct {
	Severity string // "error" or "warning"
	Summary  string
	Detail   string
	// Range is "file:line:col", the file relative to the staged source directory (joined to
	// it when Stage was called), or "" when the message concerns no place.
	Range string
}

func (d Diagnostic) String() string {
	s := d.Severity + ": " + d.Summary
	if d.Range != "" {
		s = d.Range + ": " + s
	}
	if d.Detail != "" {
		s += "\n  " + strings.ReplaceAll(d.Detail, "\n", "\n  ")
	}
	return s
}

// Validate runs `terraform validate`. It returns every diagnostic, and a *ValidationError
// holding them when any is an error.
func (w *Workdir) Validate(ctx context.Context) ([]Diagnostic, error) {
	w.stderr.Reset()
	out, err := w.tf.Validate(ctx)
	if err != nil {
		return nil, &TerraformError{Op: "validate", Detail: strings.TrimSpace(w.redact.apply(w.stderr.String())), err: err}
	}
	var diags []Diagnostic
	for _, d := range out.Diagnostics {
		diag := Diagnostic{Severity: string(d.Severity), Summary: w.redact.apply(d.Summary), Detail: w.redact.apply(d.Detail)}
		if d.Range != nil {
			name := d.Range.Filename
			if w.src != "" {
				name = filepath.Join(w.src, name)
			}
			diag.Range = fmt.Sprintf("%s:%d:%d", name, d.Range.Start.Line, d.Range.Start.Column)
		}
		diags = append(diags, diag)
	}
	if !out.Valid || out.ErrorCount > 0 {
		return diags, &ValidationError{Diagnostics: diags}
	}
	return diags, nil
}

// PlanOptions say how to plan.
type PlanOptions struct {
	// VarFiles are passed with -var-file, in order (later ones win). Relative paths are taken
	// relative to the current directory, not the working directory.
	VarFiles []string
	// Destroy plans the destruction of everything in the state.
	Destroy bool
	// Fingerprint identifies the inputs the plan is made from; it is opaque to the Workdir,
	// which records it with the plan. Apply refuses the plan unless given the same one.
	Fingerprint string
	// Replace makes Terraform replace these resources even though nothing about them
	// changed (-replace), and limits the plan to them and what they depend on (-target): a
	// machine replaced on purpose, one at a time, and nothing else.
	Replace []string
	// Target limits the plan to these resources and what they depend on (-target): one
	// step of a reviewed plan applied a database VM at a time.
	Target []string
}

// PlanInfo is the record kept next to a saved plan.
type PlanInfo struct {
	Fingerprint string `json:"fingerprint"`
	Destroy     bool   `json:"destroy"`
	HasChanges  bool   `json:"has_changes"` // Terraform's -detailed-exitcode
	// Replace are the resources the plan replaces on purpose, and all it touches.
	Replace []string `json:"replace,omitempty"`
	// VarFiles are the var files the plan was made with (absolute paths, never their
	// values): what plans derived from it need again (one VM at a time).
	VarFiles []string `json:"var_files,omitempty"`
}

// Plan is a saved plan as `terraform show` gives it.
type Plan struct {
	Info    PlanInfo
	Summary Summary
	// Text is Terraform's human-readable rendering of the plan, sensitive values hidden.
	Text string
}

// Plan runs `terraform plan -out` to the working directory's saved plan file, records opts'
// fingerprint with it and shows it. Any plan saved before is discarded first, so that a failed
// plan never leaves an older one behind to be applied.
func (w *Workdir) Plan(ctx context.Context, opts PlanOptions) (*Plan, error) {
	if err := w.ClearPlan(); err != nil {
		return nil, err
	}
	args := []tfexec.PlanOption{tfexec.Out(planFile), tfexec.Destroy(opts.Destroy)}
	var varFiles []string
	for _, vf := range opts.VarFiles {
		// Terraform resolves relative paths against the working directory.
		abs, err := filepath.Abs(vf)
		if err != nil {
			return nil, err
		}
		args = append(args, tfexec.VarFile(abs))
		varFiles = append(varFiles, abs)
	}
	for _, addr := range opts.Replace {
		args = append(args, tfexec.Replace(addr), tfexec.Target(addr))
	}
	for _, addr := range opts.Target {
		args = append(args, tfexec.Target(addr))
	}
	var changes bool
	err := w.run("plan", func() error {
		var err error
		changes, err = w.tf.Plan(ctx, args...)
		return err
	})
	if err != nil {
		w.ClearPlan()
		return nil, err
	}
	// The plan holds the secrets in plain text.
	if err := os.Chmod(w.path(planFile), 0o600); err != nil {
		w.ClearPlan()
		return nil, err
	}
	info := PlanInfo{Fingerprint: opts.Fingerprint, Destroy: opts.Destroy, HasChanges: changes, Replace: opts.Replace, VarFiles: varFiles}
	if err := writeInfo(w.path(metaFile), info); err != nil {
		w.ClearPlan()
		return nil, err
	}
	p, err := w.Show(ctx)
	if err != nil {
		// Never keep a plan nobody was shown.
		w.ClearPlan()
		return nil, err
	}
	return p, nil
}

// SavedPlan returns the record of the saved plan, or ErrNoPlan.
func (w *Workdir) SavedPlan() (PlanInfo, error) {
	var info PlanInfo
	b, err := os.ReadFile(w.path(metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return info, ErrNoPlan
	}
	if err != nil {
		return info, err
	}
	if _, err := os.Stat(w.path(planFile)); errors.Is(err, fs.ErrNotExist) {
		return info, ErrNoPlan
	} else if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", w.path(metaFile), err)
	}
	return info, nil
}

// Show renders the saved plan: the summary from `terraform show -json`, the text from
// `terraform show`. It returns ErrNoPlan when there is none.
func (w *Workdir) Show(ctx context.Context) (*Plan, error) {
	info, err := w.SavedPlan()
	if err != nil {
		return nil, err
	}
	p := &Plan{Info: info}
	err = w.run("show", func() error {
		// The JSON holds every variable's value: only the summary leaves this function.
		j, err := w.tf.ShowPlanFile(ctx, planFile)
		if err != nil {
			return err
		}
		p.Summary = Summarize(j)
		p.Text, err = w.tf.ShowPlanFileRaw(ctx, planFile)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.Text = w.redact.apply(p.Text)
	return p, nil
}

// Apply applies exactly the saved plan, never a fresh one, streaming Terraform's progress to
// Options.Stdout. It refuses with ErrNoPlan when there is none and with a *FingerprintError
// when fingerprint differs from the plan's. The plan is discarded once applied, or once
// applying it failed: either way Terraform would refuse it as stale.
func (w *Workdir) Apply(ctx context.Context, fingerprint string) error {
	info, err := w.SavedPlan()
	if err != nil {
		return err
	}
	if info.Fingerprint != fingerprint {
		return &FingerprintError{Planned: info.Fingerprint, Current: fingerprint}
	}
	out := w.stdout
	if out == nil {
		out = io.Discard
	}
	w.tf.SetStdout(out)
	defer w.tf.SetStdout(io.Discard)
	err = w.run("apply", func() error { return w.tf.Apply(ctx, tfexec.DirOrPlan(planFile)) })
	if cerr := w.ClearPlan(); err == nil {
		err = cerr
	}
	return err
}

// Destroy plans the destruction of everything in the state and applies that plan at once,
// without showing it to anyone: for tests and scripts. The CLI plans (PlanOptions.Destroy),
// shows, asks, and then Applies.
func (w *Workdir) Destroy(ctx context.Context, varFiles []string) (*Plan, error) {
	const fp = "destroy"
	p, err := w.Plan(ctx, PlanOptions{VarFiles: varFiles, Destroy: true, Fingerprint: fp})
	if err != nil {
		return nil, err
	}
	return p, w.Apply(ctx, fp)
}

// ClearPlan removes the saved plan and its record, if any.
func (w *Workdir) ClearPlan() error {
	// The record goes first: without it the plan counts as absent.
	for _, name := range []string{metaFile, planFile} {
		if err := os.Remove(w.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (w *Workdir) path(name string) string { return filepath.Join(w.dir, name) }

// writeInfo writes the plan record atomically, mode 0600.
func writeInfo(path string, info PlanInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pghac-plan-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Output is the string value of root output name in the working directory's state, wherever
// the backend keeps it (`terraform output`). ok is false when the state has no such output,
// or it is not a non-empty string.
func (w *Workdir) Output(ctx context.Context, name string) (value string, ok bool, err error) {
	var outs map[string]tfexec.OutputMeta
	if err := w.run("output", func() (err error) { outs, err = w.tf.Output(ctx); return err }); err != nil {
		return "", false, err
	}
	o, found := outs[name]
	if !found {
		return "", false, nil
	}
	if json.Unmarshal(o.Value, &value) != nil || value == "" {
		return "", false, nil
	}
	return value, true, nil
}
