package infra_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/infra/infratest"
)

// secret is the sensitive variable's value: no output or error may contain it.
const secret = "TopSecretValue0123456789abcdefXYZ"

// setup returns a Workdir over a fresh directory running the real terraform against the offline
// Yandex provider, and a var file with the secret.
func setup(t *testing.T, stdout *bytes.Buffer, secrets ...string) (*infra.Workdir, string) {
	t.Helper()
	env := infratest.Provider(t)
	bin, err := infra.Find(context.Background(), env.Terraform, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	varFile := filepath.Join(dir, "secret.tfvars")
	if err := os.WriteFile(varFile, []byte(`secret = "`+secret+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := infra.Open(infra.Options{
		Binary:  bin,
		Dir:     filepath.Join(dir, "work"),
		Env:     env.Environ(),
		Stdout:  stdout,
		Secrets: append([]string{secret}, secrets...),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, varFile
}

// noSecret fails the test when s contains the secret.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, secret) {
		t.Errorf("%s contains the secret:\n%s", what, s)
	}
}

func addresses(s infra.Summary) map[string]infra.Action {
	out := map[string]infra.Action{}
	for _, c := range s.Changes {
		out[c.Address] = c.Action
	}
	return out
}

// TestLifecycle runs init, validate, plan, apply, an empty replan, a replacing plan and
// destroy with the real terraform.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	var applyOut bytes.Buffer
	w, varFile := setup(t, &applyOut)
	if err := w.Stage("testdata/small"); err != nil {
		t.Fatal(err)
	}
	if err := w.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.Dir(), ".terraform.lock.hcl")); err != nil {
		t.Errorf("init wrote no lock file: %v", err)
	}
	diags, err := w.Validate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diags {
		t.Logf("validate: %s", d)
	}

	if err := w.Apply(ctx, "one"); !errors.Is(err, infra.ErrNoPlan) {
		t.Fatalf("Apply without a plan: %v, want ErrNoPlan", err)
	}

	p, err := w.Plan(ctx, infra.PlanOptions{VarFiles: []string{varFile}, Fingerprint: "one"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]infra.Action{
		"yandex_vpc_network.net":       infra.ActionCreate,
		"yandex_vpc_subnet.a":          infra.ActionCreate,
		"yandex_vpc_security_group.sg": infra.ActionCreate,
		"yandex_compute_instance.vm":   infra.ActionCreate,
	}
	if diff := cmp.Diff(want, addresses(p.Summary)); diff != "" {
		t.Errorf("first plan (-want +got):\n%s", diff)
	}
	if p.Summary.Add != 4 || !p.Info.HasChanges || p.Info.Fingerprint != "one" || p.Info.Destroy {
		t.Errorf("first plan: %+v %s", p.Info, p.Summary.Counts())
	}
	if !strings.Contains(p.Text, "# yandex_compute_instance.vm will be created") || !strings.Contains(p.Text, "(sensitive value)") {
		t.Errorf("plan text lacks the instance or the hidden user-data:\n%s", p.Text)
	}
	noSecret(t, "plan text", p.Text)
	if st, err := os.Stat(filepath.Join(w.Dir(), "pghac.tfplan")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("saved plan: %v, mode %v; want mode 0600", err, st.Mode())
	}
	if info, err := w.SavedPlan(); err != nil || !cmp.Equal(info, p.Info) {
		t.Errorf("SavedPlan() = %+v, %v; want %+v", info, err, p.Info)
	}
	if abs, _ := filepath.Abs(varFile); !cmp.Equal(p.Info.VarFiles, []string{abs}) {
		t.Errorf("the plan's var files = %v, want %s (plans derived from it need them)", p.Info.VarFiles, abs)
	}

	// A plan is applied only with the fingerprint it was made with.
	var fperr *infra.FingerprintError
	if err := w.Apply(ctx, "two"); !errors.As(err, &fperr) || fperr.Planned != "one" || fperr.Current != "two" {
		t.Fatalf("Apply with another fingerprint: %v, want a FingerprintError", err)
	}
	if _, err := w.SavedPlan(); err != nil {
		t.Fatalf("a refused apply discarded the plan: %v", err)
	}
	if err := w.Apply(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(applyOut.String(), "Apply complete! Resources: 4 added, 0 changed, 0 destroyed.") {
		t.Errorf("apply output:\n%s", applyOut.String())
	}
	noSecret(t, "apply output", applyOut.String())
	if _, err := w.SavedPlan(); !errors.Is(err, infra.ErrNoPlan) {
		t.Errorf("the applied plan is still saved: %v", err)
	}
	if err := w.Apply(ctx, "one"); !errors.Is(err, infra.ErrNoPlan) {
		t.Errorf("second Apply of one plan: %v, want ErrNoPlan", err)
	}
	if _, err := os.Stat(filepath.Join(w.Dir(), "terraform.tfstate")); err != nil {
		t.Errorf("no local state after apply: %v", err)
	}

	// Nothing changed: the replan is empty.
	p, err = w.Plan(ctx, infra.PlanOptions{VarFiles: []string{varFile}, Fingerprint: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Info.HasChanges || !p.Summary.Empty() {
		t.Errorf("replan after apply: %+v %s %v", p.Info, p.Summary.Counts(), p.Summary.Changes)
	}

	// A new image family replaces the VM; Staging keeps the state.
	changed := t.TempDir()
	copyTree(t, "testdata/small", changed)
	replaceIn(t, filepath.Join(changed, "variables.tf"), `default = "debian-12"`, `default = "ubuntu-2204-lts"`)
	replaceIn(t, filepath.Join(changed, "variables.tf"), `default = 2`, `default = 4`)
	if err := w.Stage(changed); err != nil {
		t.Fatal(err)
	}

	// A replacement asked for touches that resource only: the security group is replaced
	// though nothing about it changed, and the VM's pending change is left out.
	p, err = w.Plan(ctx, infra.PlanOptions{VarFiles: []string{varFile}, Fingerprint: "three", Replace: []string{"yandex_vpc_security_group.sg"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]infra.Action{"yandex_vpc_security_group.sg": infra.ActionReplace}, addresses(p.Summary)); diff != "" {
		t.Errorf("plan replacing the security group (-want +got):\n%s", diff)
	}
	if info, err := w.SavedPlan(); err != nil || !cmp.Equal(info.Replace, []string{"yandex_vpc_security_group.sg"}) {
		t.Errorf("SavedPlan() = %+v, %v; want the replacement recorded", info, err)
	}

	p, err = w.Plan(ctx, infra.PlanOptions{VarFiles: []string{varFile}, Fingerprint: "three"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary.Replace != 1 || len(p.Summary.Changes) != 1 {
		t.Fatalf("plan after changing the image: %s %+v", p.Summary.Counts(), p.Summary.Changes)
	}
	c := p.Summary.Changes[0]
	if c.Address != "yandex_compute_instance.vm" || !c.Destructive() ||
		!cmp.Equal(c.ReplacePaths, []string{"boot_disk[0].initialize_params[0].image_id"}) {
		t.Errorf("replacement: %+v", c)
	}
	if err := w.ClearPlan(); err != nil {
		t.Fatal(err)
	}

	// Destroy removes all four.
	applyOut.Reset()
	p, err = w.Destroy(ctx, []string{varFile})
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary.Destroy != 4 || !p.Info.Destroy {
		t.Errorf("destroy plan: %+v %s", p.Info, p.Summary.Counts())
	}
	if !strings.Contains(applyOut.String(), "Resources: 0 added, 0 changed, 4 destroyed.") {
		t.Errorf("destroy output:\n%s", applyOut.String())
	}
	p, err = w.Plan(ctx, infra.PlanOptions{VarFiles: []string{varFile}, Destroy: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Summary.Empty() {
		t.Errorf("destroy plan after destroy: %s", p.Summary.Counts())
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	const label = "LabelSecretTooLong987"
	w, varFile := setup(t, nil, label)
	if err := w.Stage("testdata/small"); err != nil {
		t.Fatal(err)
	}
	if err := w.Init(ctx); err != nil {
		t.Fatal(err)
	}

	// Terraform quotes the failing value; the Workdir must not pass it on.
	labelFile := filepath.Join(t.TempDir(), "label.tfvars")
	if err := os.WriteFile(labelFile, []byte(`label = "`+label+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := w.Plan(ctx, infra.PlanOptions{VarFiles: []string{varFile, labelFile}, Fingerprint: "x"})
	var tferr *infra.TerraformError
	if !errors.As(err, &tferr) || tferr.Op != "plan" {
		t.Fatalf("plan with an invalid variable: %v, want a TerraformError", err)
	}
	if !strings.Contains(err.Error(), "The label is too long.") || !strings.Contains(err.Error(), "(redacted)") || strings.Contains(err.Error(), label) {
		t.Errorf("error text is not Terraform's, redacted:\n%v", err)
	}
	if _, err := w.SavedPlan(); !errors.Is(err, infra.ErrNoPlan) {
		t.Errorf("a failed plan left a saved plan: %v", err)
	}

	// A cancelled context stops Terraform and says so.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = w.Plan(cancelled, infra.PlanOptions{VarFiles: []string{varFile}})
	if !errors.As(err, &tferr) || !tferr.Interrupted() || !errors.Is(err, context.Canceled) {
		t.Errorf("plan with a cancelled context: %v", err)
	}

	// A broken configuration: every error, with its place in the source tree.
	broken := t.TempDir()
	copyTree(t, "testdata/small", broken)
	replaceIn(t, filepath.Join(broken, "main.tf"), "platform_id", "platfrom_id")
	replaceIn(t, filepath.Join(broken, "main.tf"), `resource "yandex_vpc_network" "net" {
  name = "infra-test"
}`, `resource "yandex_vpc_network" "net" {
  name = "infra-test"
  colour = "red"
}`)
	if err := w.Stage(broken); err != nil {
		t.Fatal(err)
	}
	_, err = w.Validate(ctx)
	var verr *infra.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate of a broken configuration: %v, want a ValidationError", err)
	}
	var got []string
	for _, d := range verr.Diagnostics {
		if d.Severity == "error" {
			got = append(got, d.Range+" "+d.Summary)
		}
	}
	main := filepath.Join(broken, "main.tf")
	want := []string{main + ":5:3 Unsupported argument"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validation errors (-want +got):\n%s", diff)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
		t.Fatal(err)
	}
}
