package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/infra/infratest"
	"github.com/pghac/pghac/internal/cloudapi"
	"github.com/pghac/pghac/internal/lockbox"
	"github.com/pghac/pghac/internal/provision"
	"github.com/pghac/pghac/internal/site"
)

// TestMain lets this test binary serve the offline provider: `plan --offline` installs a
// wrapper that runs os.Executable() (here, the test binary) with the provider command. It
// also runs the sandbox's provisioners, which `pghac up` points at os.Executable().
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == providerCommand.name || os.Args[1] == sandboxCommand.name) {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	// The yandex module uploads pghac's own builds: this test binary stands for pghac, and a
	// pghac-backend on PATH for the backend's build.
	dir, err := os.MkdirTemp("", "pghac-builds-")
	if err == nil {
		backendBuild = filepath.Join(dir, "pghac-backend")
		err = os.WriteFile(backendBuild, []byte("#!/bin/sh\n# a build of pghac-backend\n"), 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// backendBuild is the pghac-backend on PATH that the tests' plans upload.
var backendBuild string

// session is one temporary project: the repository's cluster.hcl in a directory of its own,
// with every output of pghac collected to check for leaked secrets at the end.
type session struct {
	t      *testing.T
	dir    string
	file   string
	cloud  string // var file with cloud_id and folder_id
	output strings.Builder
}

func newSession(t *testing.T) *session {
	t.Helper()
	dir := t.TempDir()
	s := &session{t: t, dir: dir}
	s.file = writeFile(t, dir, "cluster.hcl", rootCluster(t))
	s.cloud = writeFile(t, dir, "cloud.tfvars", []byte("cloud_id  = \"b1gcloudoffline\"\nfolder_id = \"b1gfolderoffline\"\n"))
	return s
}

// run runs pghac with the session's cluster file and deploy directory.
func (s *session) run(stdin string, args ...string) (int, string, string) {
	s.t.Helper()
	args = append(args, "-f", s.file, "--color=never")
	if args[0] != "secrets" {
		args = append(args, "-o", filepath.Join(s.dir, "deploy"))
	}
	code, stdout, stderr := pghac(s.t, stdin, args...)
	s.output.WriteString(stdout + stderr)
	return code, stdout, stderr
}

// must runs pghac and fails the test unless it exits with code and prints every want
// substring on stdout or stderr.
func (s *session) must(code int, stdin string, args []string, want ...string) string {
	s.t.Helper()
	got, stdout, stderr := s.run(stdin, args...)
	if got != code {
		s.t.Fatalf("pghac %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, stdout, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stdout+stderr, w) {
			s.t.Errorf("pghac %s: output lacks %q\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), w, stdout, stderr)
		}
	}
	return stdout + stderr
}

func (s *session) edit(old, new string) {
	s.t.Helper()
	b, err := os.ReadFile(s.file)
	if err != nil {
		s.t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		s.t.Fatalf("cluster.hcl lacks %q", old)
	}
	if err := os.WriteFile(s.file, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// secrets returns the values in the session's secrets file.
func (s *session) secrets() []string {
	s.t.Helper()
	vars, err := infra.StringVars(filepath.Join(s.dir, ".pghac", "yandex", "secrets.tfvars"))
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, name := range s.secretNames() {
		v := vars[name]
		if len(v) < 32 {
			s.t.Fatalf("secret %s is %q", name, v)
		}
		out = append(out, v)
	}
	return out
}

// offlineProvider makes Terraform run by the CLI use the offline provider.
func offlineProvider(t *testing.T) {
	env := infratest.Provider(t)
	for k, v := range env.Vars {
		t.Setenv(k, v)
	}
	t.Setenv(infra.EnvTerraform, env.Terraform)
}

// lockboxStandIn serves Lockbox's API on loopback (internal/cloudapi, the sandbox's stand-in)
// and points pghac at it as the operator, as YC_TOKEN points it at the cloud's. It returns a
// client that reads what pghac wrote.
func lockboxStandIn(t *testing.T) *lockbox.Client {
	t.Helper()
	dir := t.TempDir()
	srv, err := cloudapi.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Lockbox())
	t.Cleanup(hs.Close)
	token, err := cloudapi.OperatorToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("YC_TOKEN", token)
	t.Setenv("PGHAC_LOCKBOX_ENDPOINT", hs.URL)
	return &lockbox.Client{APIEndpoint: hs.URL, Token: lockbox.StaticToken(token)}
}

// onTerminal makes the CLI believe stdin is a terminal.
func onTerminal(t *testing.T) {
	old := stdinIsTerminal
	stdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { stdinIsTerminal = old })
}

// TestPlanApplyDestroy goes through a cluster's life with the real terraform and the offline
// provider: secrets, plan, the refusals of apply, apply, an empty replan, a change with its file
// diff that replaces the database VMs, destroy.
func TestPlanApplyDestroy(t *testing.T) {
	offlineProvider(t)
	s := newSession(t)
	cloud := []string{"--var-file", s.cloud}
	plan := append([]string{"plan"}, cloud...)
	work := filepath.Join(s.dir, ".pghac", "yandex", "terraform")
	// Once applied, the VMs "run" and plan surveys them: through a jump host on loopback
	// that does not answer, never at their cloud addresses.
	jump := closedPort(t)
	s.edit("  network {", "  network {\n    jump_host = \"root@"+jump+"\"")

	s.must(exitInvalid, "", []string{"plan"}, "no secrets", "pghac secrets init")
	s.must(exitOK, "", []string{"secrets", "init"}, s.generated())
	secrets := s.secrets()
	s.must(exitInvalid, "", []string{"apply", "--auto-approve"}, "no saved plan", "run `pghac plan` first")

	out := s.must(exitOK, "", plan,
		"Generated files ("+filepath.Join(s.dir, "deploy", "yandex")+"): new, ",
		"# yandex_compute_instance.node0 will be created",
		"Terraform plan (yandex, terraform): ",
		"  +   create  yandex_compute_instance.node0\n",
		"  +   create  yandex_vpc_network.cluster\n",
		"Saved the plan in "+work)
	if strings.Contains(out, "WARNING") {
		t.Errorf("a first plan warns:\n%s", out)
	}
	// The saved plan holds every VM's user-data and metadata: placeholders, no value.
	show := exec.Command(os.Getenv(infra.EnvTerraform), "show", "-json", "pghac.tfplan")
	show.Dir = work
	planJSON, err := show.Output()
	if err != nil || !strings.Contains(string(planJSON), "${postgres_superuser_password}") {
		t.Fatalf("terraform show -json: %v; want the user-data with its placeholders", err)
	}
	for i, v := range secrets {
		if strings.Contains(string(planJSON), v) {
			t.Errorf("the saved plan holds the value of secret #%d", i)
		}
	}

	// Refusals: no terminal and no --auto-approve; a cluster file edited since the plan.
	s.must(exitUsage, "yes\n", []string{"apply"}, "standard input is not a terminal", "--auto-approve")
	s.edit("ttl              = 20", "ttl              = 25")
	s.must(exitInvalid, "", []string{"apply", "--auto-approve"}, "changed since the plan was made", "Run `pghac plan` again.")
	s.edit("ttl              = 25", "ttl              = 20")
	// A build rebuilt since the plan: the VMs would refuse what Terraform uploads.
	build, err := os.ReadFile(backendBuild)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backendBuild, append(slices.Clone(build), "# rebuilt\n"...), 0o755); err != nil {
		t.Fatal(err)
	}
	s.must(exitInvalid, "", []string{"apply", "--auto-approve"}, backendBuild+" changed since pghac plan hashed it", "run pghac plan again")
	if err := os.WriteFile(backendBuild, build, 0o755); err != nil {
		t.Fatal(err)
	}

	// On a terminal, only "yes" applies; the plan survives a "no", and an apply without the
	// credentials that write the secrets to Lockbox.
	onTerminal(t)
	s.must(exitInvalid, "no\n", []string{"apply"}, "Apply this plan?", "not confirmed; nothing was changed")
	t.Setenv("YC_TOKEN", "")
	s.must(exitInvalid, "yes\n", []string{"apply"}, "no YC_TOKEN: pghac writes the cluster's secrets to Lockbox", "Nothing was changed.")
	lb := lockboxStandIn(t)
	out = s.must(exitOK, "yes\n", []string{"apply"}, "Saved plan (yandex, terraform): ", "Apply complete! Resources: ", "node_addresses = {",
		"Secrets: wrote version ")
	s.must(exitInvalid, "", []string{"apply", "--auto-approve"}, "no saved plan")
	// The nodes' secret holds the secrets file's values, under their names; the state holds
	// none of them (nor do the plan or the VMs' metadata, both in it).
	id, ok := infra.StateOutput(filepath.Join(work, "terraform.tfstate"), provision.OutputSecretID)
	if !ok {
		t.Fatalf("no output %s in the state", provision.OutputSecretID)
	}
	payload, _, err := lb.Payload(context.Background(), id)
	if err != nil {
		t.Fatalf("Lockbox secret %s: %v", id, err)
	}
	// The secrets file's passwords, and the TLS material: the nodes' keys never in the state.
	want, err := site.New(s.file, "", "", model.TargetYandex).ReadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := want[string(model.NodeTLSSecret("node0"))]; !ok {
		t.Errorf("the site's secrets lack node0's certificate and key")
	}
	if diff := cmp.Diff(want, payload); diff != "" {
		t.Errorf("Lockbox payload (-site's secrets +payload):\n%s", diff)
	}
	state, err := os.ReadFile(filepath.Join(work, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range want {
		if strings.Contains(string(state), v) {
			t.Errorf("Terraform's state holds the value of %s", name)
		}
	}
	s.must(exitOK, "", []string{"secrets", "push", "--target", "yandex"}, "Lockbox secret "+id+" holds these secrets already")

	// Nothing changed for Terraform; the nodes it keeps are surveyed for the live part, and
	// cannot be reached: apply does not start.
	out = s.must(exitOK, "", plan, "Generated files", "unchanged", "no changes; the infrastructure matches the configuration",
		"Live changes (yandex): 0 nodes, 0 settings",
		"  node0: cannot be reached: jump host root@"+jump+": ",
		"Cannot reach node0, node1, node2: `pghac apply` will not start")
	s.must(exitRuntime, "", []string{"apply", "--auto-approve"}, "node0 cannot be reached (jump host root@"+jump, "nothing was changed")
	if _, err := os.Stat(filepath.Join(work, "pghac-live-plan.json")); err != nil {
		t.Errorf("a refused apply dropped the plan's live part: %v", err)
	}

	// A dead node is replaced alone (plan --replace), one at a time like any other, which
	// needs the rest of the cluster to answer.
	s.must(exitUsage, "", append(plan, "--replace", "node7"), `--replace node7: `, `has no node "node7"`)
	out = s.must(exitOK, "", append(plan, "--replace", "node1"), "  -/+ REPLACE yandex_compute_instance.node1",
		"!!! WARNING: this plan REPLACES database VM node1", "node1 (replaced: replace_by_request)")
	if strings.Contains(out, "node0") || strings.Contains(out, "Live changes") {
		t.Errorf("plan --replace node1 touches or surveys other nodes:\n%s", out)
	}
	s.must(exitRuntime, "", []string{"apply", "--auto-approve"}, "the plan takes node1 down, which pghac does one at a time with the cluster serving, and the cluster does not answer",
		"jump host root@"+jump, "Nothing was changed.")

	// Fewer cores stop every database VM to update it in place: one at a time, which needs
	// the nodes to answer.
	s.edit("cores         = 4", "cores         = 2")
	s.must(exitOK, "", plan, "  ~   update  yandex_compute_instance.node0",
		"node0 (stopped to update: resources[0].cores); node1 (stopped to update: resources[0].cores); node2 (stopped to update: resources[0].cores).",
		"Cannot reach node0, node1, node2")
	s.must(exitRuntime, "", []string{"apply", "--auto-approve"}, "node0 cannot be reached", "nothing was changed")
	s.edit("cores         = 2", "cores         = 4")

	// A Patroni setting changes two files per node (the VMs' user-data is updated in place),
	// and a bigger disk replaces every database VM: loudly, and confirmed with that in mind.
	s.edit("ttl              = 20", "ttl              = 30")
	s.edit("size_gb = 10", "size_gb = 20")
	out = s.must(exitOK, "", plan,
		" changed, 0 added, 0 removed, ",
		"  changed  nodes/node0/user-data.yaml ",
		"  changed  nodes.tf ",
		"--- a"+filepath.Join(s.dir, "deploy", "yandex", "nodes", "node0", "files", "etc", "patroni", "config.yml"),
		"-    ttl: 20\n+    ttl: 30\n",
		"  -/+ REPLACE yandex_compute_instance.node0  (forced by boot_disk[0].initialize_params[0].size)",
		"!!! WARNING: this plan REPLACES database VM node0 (yandex_compute_instance.node0).",
		"!!! WARNING: this plan REPLACES database VM node2 (yandex_compute_instance.node2).",
		"`pghac apply` takes these database VMs down one at a time",
		"node0 (replaced: boot_disk[0].initialize_params[0].size); node1 (replaced: ")
	if strings.Contains(out, "database VM loadgen") {
		t.Errorf("the load generator is called a database VM:\n%s", out)
	}
	if strings.Contains(out, "Live changes") {
		t.Errorf("a plan that replaces every node surveys some:\n%s", out)
	}
	// The cloud wrote the backup account's key pair to its Lockbox secret (the fake provider
	// does not): apply copies it into the secrets file and the nodes' secret.
	backupID, ok := infra.StateOutput(filepath.Join(work, "terraform.tfstate"), provision.OutputBackupSecretID)
	if !ok {
		t.Fatalf("no output %s in the state", provision.OutputBackupSecretID)
	}
	pair := map[string]string{"access_key": "YCAJEfakeaccesskey0123", "secret_key": "YCfakesecretkey0123456789abcdefghij"}
	if _, err := lb.AddVersion(context.Background(), backupID, pair, "the cloud's static key"); err != nil {
		t.Fatal(err)
	}
	// No node answers: the cluster is gone, and rebuilt whole as the plan warned.
	out = s.must(exitOK, "yes\n", []string{"apply"}, "Apply this plan, losing 3 database VMs as warned above?", "Apply complete!",
		"now holds the backup service account's S3 key pair", "Secrets: wrote version ")
	got, err := infra.StringVars(filepath.Join(s.dir, ".pghac", "yandex", "secrets.tfvars"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _, err = lb.Payload(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for entry, sec := range map[string]string{"access_key": "backup_s3_access_key", "secret_key": "backup_s3_secret_key"} {
		if got[sec] != pair[entry] || payload[sec] != pair[entry] {
			t.Errorf("%s: secrets file %q, nodes' secret %q; want the cloud's %s", sec, got[sec], payload[sec], entry)
		}
	}
	if strings.Contains(out, "one database VM at a time") {
		t.Errorf("apply went step by step through a cluster that does not answer:\n%s", out)
	}

	// Backups turned off: the plan deletes the bucket and its key, and says so loudly.
	s.edit(`bucket = "pghac-main-backups-example"`, `bucket = "pghac-main-backups-example"`+"\n    enabled = false")
	s.must(exitOK, "", plan, "  -   DESTROY yandex_storage_bucket.backup",
		"!!! WARNING: this plan DELETES the backup bucket yandex_storage_bucket.backup, and every backup in it.",
		"!!! WARNING: this plan DELETES the KMS key yandex_kms_symmetric_key.backup that encrypts the backups")
	s.edit("\n    enabled = false", "")

	// Destroy: declined, then done; the destroy plan is never left behind.
	destroy := append([]string{"destroy"}, cloud...)
	s.must(exitInvalid, "no\n", destroy, "DESTROY plan (yandex, terraform): 0 to add, 0 to change, 0 to replace, ",
		"!!! WARNING: this plan DESTROYS the database VMs node0, node1, node2, and the data on them.",
		"!!! WARNING: this plan DELETES the backup bucket yandex_storage_bucket.backup",
		"!!! WARNING: this plan DELETES yandex_lockbox_secret.secrets, which holds (or encrypts) the cluster's secrets",
		"!!! WARNING: this plan DELETES yandex_kms_symmetric_key.secrets, which holds",
		"not confirmed")
	if strings.Contains(s.output.String(), "backup bucket yandex_storage_bucket.artifacts") {
		t.Errorf("the artifacts bucket is warned about as the backups'")
	}
	s.must(exitInvalid, "", []string{"apply", "--auto-approve"}, "no saved plan")
	s.must(exitOK, "", append(destroy, "--auto-approve"), "Apply complete! Resources: 0 added, 0 changed, ")
	s.must(exitOK, "", destroy, "Nothing to destroy")

	for _, v := range secrets {
		if strings.Contains(s.output.String(), v) {
			t.Errorf("a secret value appears in pghac's output")
		}
	}
}

// TestPlanOffline plans against the provider pghac serves itself, as a PR check would: no
// secrets, no credentials, no saved plan.
func TestPlanOffline(t *testing.T) {
	env := infratest.Provider(t) // builds nothing pghac uses; it only finds terraform
	t.Setenv(infra.EnvTerraform, env.Terraform)
	t.Setenv("TF_CLI_CONFIG_FILE", "/nonexistent") // the offline mode brings its own
	s := newSession(t)
	out := s.must(exitOK, "", []string{"plan", "--offline"},
		"*** OFFLINE PLAN: made against the Yandex provider's schema",
		"# yandex_compute_instance.node0 will be created",
		"OFFLINE plan (yandex, terraform, fake provider): ",
		"  +   create  yandex_compute_instance.node1\n")
	if strings.Count(out, "*** OFFLINE PLAN") != 2 || strings.Contains(out, "Saved the plan") {
		t.Errorf("the offline plan is not labelled above and below, or claims to be saved:\n%s", out)
	}
	s.must(exitInvalid, "", []string{"apply", "--auto-approve"}, "no saved plan", "`pghac plan --offline` plans are never saved")
	if _, err := os.Stat(filepath.Join(s.dir, ".pghac", "yandex", "terraform")); err == nil {
		t.Error("the offline plan touched the real working directory")
	}
}

// TestPlanOfflineRemoteState: a cluster whose state lives in Object Storage still plans
// offline, with local state, never touching the bucket.
func TestPlanOfflineRemoteState(t *testing.T) {
	env := infratest.Provider(t)
	t.Setenv(infra.EnvTerraform, env.Terraform)
	t.Setenv("TF_CLI_CONFIG_FILE", "/nonexistent")
	s := newSession(t)
	src := strings.Replace(string(rootCluster(t)), "  load_generator {", "  state {\n    bucket = \"pghac-tfstate\"\n  }\n\n  load_generator {", 1)
	s.file = writeFile(t, s.dir, "cluster.hcl", []byte(src))
	s.must(exitOK, "", []string{"plan", "--offline"}, "OFFLINE plan (yandex, terraform, fake provider): 33 to add",
		"Warning: Terraform state not locked")
	versions, err := os.ReadFile(filepath.Join(s.dir, "deploy", "yandex", "versions.tf"))
	if err != nil || !strings.Contains(string(versions), `backend "s3" {`) || !strings.Contains(string(versions), `required_version = ">= 1.6"`) {
		t.Fatalf("versions.tf has no s3 backend, or accepts a Terraform without its arguments (%v):\n%s", err, versions)
	}

	// A Terraform older than the backend's arguments is refused at the state block, before it runs.
	line := strings.Count(src[:strings.Index(src, "  state {")], "\n") + 1
	old := filepath.Join(t.TempDir(), "terraform")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho '{\"terraform_version\":\"1.5.7\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.must(exitInvalid, "", []string{"plan", "--offline", "--terraform", old},
		fmt.Sprintf("cluster.hcl:%d", line), "Terraform too old for the state block", "needs Terraform 1.6.0 or later;", "is 1.5.7.")
}

func TestSecretsInit(t *testing.T) {
	s := newSession(t)
	path := filepath.Join(s.dir, ".pghac", "yandex", "secrets.tfvars")
	s.must(exitUsage, "", []string{"secrets"}, "want a subcommand: init")
	s.must(exitUsage, "", []string{"secrets", "show"}, "want a subcommand: init")

	tlsDir := filepath.Join(s.dir, ".pghac", "yandex", "tls")
	s.must(exitOK, "", []string{"secrets", "init"}, path+": "+s.generated()+" (mode 0600; values not shown)",
		filepath.Join(tlsDir, "ca.crt")+": the cluster's certificate authority made",
		tlsDir+": certificate issued for node0 (none yet), node1 (none yet), node2 (none yet)")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^([a-z0-9_]+) = "([A-Za-z0-9]{40})"$`)
	var names []string
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("secrets file line %q", l)
		}
		names = append(names, m[1])
		if seen[m[2]] {
			t.Errorf("a value repeats")
		}
		seen[m[2]] = true
	}
	if want := strings.Join(s.secretNames(), " "); strings.Join(names, " ") != want {
		t.Errorf("secrets file has %v, want %s", names, want)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %v (%v), want 0600", st.Mode(), err)
	}
	if ig, err := os.ReadFile(filepath.Join(s.dir, ".pghac", ".gitignore")); err != nil || !strings.Contains(string(ig), "\n*\n") {
		t.Errorf(".pghac/.gitignore: %q, %v", ig, err)
	}

	// Kept without --force, replaced with it.
	s.must(exitInvalid, "", []string{"secrets", "init"}, "exists; keeping it (pass --force")
	if again, _ := os.ReadFile(path); !bytes.Equal(again, b) {
		t.Error("secrets init without --force changed the file")
	}
	// A file from an older pghac lacks a newer secret: init adds it and keeps the rest.
	var older []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, string(model.SecretBackendPassword)+" ") {
			older = append(older, l)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(older, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.must(exitOK, "", []string{"secrets", "init"}, "kept its values and added 1 secret: "+string(model.SecretBackendPassword))
	upgraded, _ := os.ReadFile(path)
	if !bytes.HasPrefix(upgraded, []byte(strings.Join(older, "\n"))) || !regexp.MustCompile(`\n`+string(model.SecretBackendPassword)+` = "[A-Za-z0-9]{40}"\n$`).Match(upgraded) {
		t.Errorf("upgraded secrets file:\n%s", upgraded)
	}
	s.must(exitOK, "", []string{"secrets", "init", "--force"}, s.generated())
	if again, _ := os.ReadFile(path); bytes.Equal(again, b) {
		t.Error("secrets init --force kept the values")
	}
	for v := range seen {
		if strings.Contains(s.output.String(), v) {
			t.Error("a secret value was printed")
		}
	}
}

// secretNames are the passwords of the session's cluster (what its secrets file holds), sorted.
func (s *session) secretNames() []string {
	s.t.Helper()
	src, err := os.ReadFile(s.file)
	if err != nil {
		s.t.Fatal(err)
	}
	_, cl, diags := compiler.CompileSource(src, s.file, model.TargetYandex)
	if diags.HasErrors() {
		s.t.Fatal(diags)
	}
	var out []string
	for _, sec := range cl.Passwords() {
		out = append(out, string(sec))
	}
	return out
}

// generated is what secrets init prints for a new file of the session's cluster.
func (s *session) generated() string {
	return fmt.Sprintf("%d secrets generated", len(s.secretNames()))
}

func TestTerraformUsage(t *testing.T) {
	s := newSession(t)
	if code, _, stderr := pghac(t, "", "plan", "-f", "-"); code != exitUsage || !strings.Contains(stderr, "-f - is not possible here") {
		t.Errorf("plan -f -: exit %d\n%s", code, stderr)
	}
	s.must(exitUsage, "", []string{"apply", "--target", "aws"}, `unknown --target "aws"`)
	s.must(exitUsage, "", []string{"destroy"}, "standard input is not a terminal", "Usage: pghac destroy")
	s.must(exitUsage, "", []string{"plan", "--offline", "--var-file", s.cloud}, "--var-file has no use with --offline")
	s.must(exitRuntime, "", []string{"plan", "--terraform", filepath.Join(s.dir, "nope")},
		"no usable Terraform or OpenTofu found: --terraform", "Install Terraform 1.5.0 or later (or OpenTofu)")
	if _, err := os.Stat(filepath.Join(s.dir, "deploy")); err == nil {
		t.Error("plan built before finding Terraform")
	}
}

func TestInterrupted(t *testing.T) {
	env := infratest.Provider(t)
	s := newSession(t)
	s.must(exitOK, "", []string{"secrets", "init"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before anything ran
	var stdout, stderr bytes.Buffer
	code := runContext(ctx, []string{"plan", "-f", s.file, "-o", filepath.Join(s.dir, "deploy"), "--terraform", env.Terraform},
		strings.NewReader(""), &stdout, &stderr)
	if code != exitRuntime || !strings.Contains(stderr.String(), "pghac plan: interrupted") {
		t.Errorf("plan with a cancelled context: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

// TestTerraformCommandsRefuseSandbox: the sandbox is applied by up and destroyed by down
// (plan --target sandbox shows what up would do: TestPlanSandboxUsage).
func TestTerraformCommandsRefuseSandbox(t *testing.T) {
	code, _, stderr := pghac(t, "", "destroy", "--target", "sandbox", "-f", filepath.Join(t.TempDir(), "cluster.hcl"))
	if code != exitUsage || !strings.Contains(stderr, "the sandbox is brought up with `pghac up` and removed with `pghac down`") {
		t.Errorf("pghac destroy --target sandbox: exit %d\n%s", code, stderr)
	}
	// apply applies what plan --target sandbox saved; there is none here.
	code, _, stderr = pghac(t, "", "apply", "--target", "sandbox", "--auto-approve", "-f", filepath.Join(t.TempDir(), "cluster.hcl"))
	if code != exitInvalid || !strings.Contains(stderr, "no saved plan") || !strings.Contains(stderr, "run `pghac plan --target sandbox` first") {
		t.Errorf("pghac apply --target sandbox without a plan: exit %d\n%s", code, stderr)
	}
}

// TestCloudScaleIn: taking node blocks out of a running cloud cluster is announced as the
// removal pghac does one node at a time (etcd member first), and apply does not start while
// the nodes that stay cannot be reached.
func TestCloudScaleIn(t *testing.T) {
	offlineProvider(t)
	lockboxStandIn(t)
	s := newSession(t)
	plan := []string{"plan", "--var-file", s.cloud}
	jump := closedPort(t)
	s.edit("  network {", "  network {\n    jump_host = \"root@"+jump+"\"")
	const extra = `  node "node3" {
    zone    = "ru-central1-a"
    address = "10.128.0.17"
  }
  node "node4" {
    zone    = "ru-central1-b"
    address = "10.129.0.15"
  }
`
	s.edit("  patroni {", extra+"\n  patroni {")
	s.must(exitOK, "", []string{"secrets", "init"})
	s.must(exitOK, "", plan, "  +   create  yandex_compute_instance.node4")
	s.must(exitOK, "", []string{"apply", "--auto-approve"}, "Apply complete!")

	s.edit(extra, "")
	out := s.must(exitOK, "", plan,
		"!!! WARNING: this plan DESTROYS database VM node3 (yandex_compute_instance.node3) and the PostgreSQL data on it.",
		"!!! WARNING: this plan DESTROYS database VM node4 ",
		"`pghac apply` takes node3, node4 out of the cluster first, one at a time while the others serve",
		"Cannot reach node0, node1, node2")
	if strings.Contains(out, "loadgen out") {
		t.Errorf("the load generator is taken for a node:\n%s", out)
	}
	s.must(exitRuntime, "", []string{"apply", "--auto-approve"}, "node0 cannot be reached", "nothing was changed")

	// A running node cannot move: a diagnostic at its block, and no plan is left to apply.
	s.edit(`address = "10.128.0.16"`, `address = "10.128.0.18"`)
	s.must(exitInvalid, "", plan, "Cannot be rolled out to the running cluster", "cluster.hcl:", `node0 would move (network_interface`,
		"Add a node where node0 should be,", "Nothing was changed.")
	s.must(exitInvalid, "", []string{"apply", "--auto-approve"}, "no saved plan")
}
