package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
	"github.com/pghac/pghac/internal/remote"
	"github.com/pghac/pghac/internal/rollout"
	"github.com/pghac/pghac/internal/site"
)

// Fleet is a running cluster as pghac reaches it on any target: its nodes over SSH (Nodes)
// and their HTTP endpoints (HTTPClient), through the cluster's jump host when it has one,
// with the site's secrets. The sandbox is one (Sandbox); a cloud's is its nodes at their
// addresses in the cluster file.
type Fleet struct {
	Site    site.Site
	Cluster *model.Cluster
	// SyncSecrets writes the site's secrets where the target's nodes read them at first boot
	// (its Lockbox secret); a rotation calls it with the new value, before the rollout, so
	// that a node made meanwhile gets it. nil for none.
	SyncSecrets func(ctx context.Context) error
}

// PatroniOf is SandboxPatroni for the sandbox, and for another target a client of its
// nodes' Patroni REST APIs reached as pghac reaches them (HTTPClient).
func PatroniOf(s site.Site, cl *model.Cluster) (*patroni.Client, map[string]string, error) {
	if s.Target == model.TargetSandbox {
		return SandboxPatroni(s, cl)
	}
	if err := CanReach(s); err != nil {
		return nil, nil, err
	}
	return patroniClient(s, cl)
}

// CanReach fails when pghac lacks what it reaches s's nodes with: the secrets (the nodes'
// passwords) and, on a cloud, the operator key.
func CanReach(s site.Site) error {
	vars, err := s.ReadSecrets()
	if err == nil && vars[string(model.SecretRestAPIPassword)] == "" {
		err = fmt.Errorf("%s holds no %s", s.Secrets(), model.SecretRestAPIPassword)
	}
	if err != nil {
		if s.Target == model.TargetSandbox {
			return fmt.Errorf("the sandbox's secrets: %w; is the sandbox up (pghac up)?", err)
		}
		return fmt.Errorf("the cluster's secrets: %w (`pghac secrets init --target %s` made them for the cluster's creation; copy them here from where you keep them)", err, s.Target)
	}
	if s.Target != model.TargetSandbox && !s.HasOperatorKey() {
		return fmt.Errorf("no operator key in %s: pghac logs in to the nodes with the key `pghac secrets init --target %s` made for the cluster's creation", s.Dir, s.Target)
	}
	return nil
}

func patroniClient(s site.Site, cl *model.Cluster) (*patroni.Client, map[string]string, error) {
	vars, err := s.ReadSecrets()
	if err != nil {
		return nil, nil, err
	}
	hc, err := HTTPClient(s, cl, 2*time.Second)
	if err != nil {
		return nil, nil, err
	}
	return &patroni.Client{Endpoints: health.PatroniEndpoints(cl), Username: model.RestAPIUser, Password: vars[string(model.SecretRestAPIPassword)], HTTP: hc}, vars, nil
}

// Prober asks cl's nodes the way pghac reaches them (HTTPClient), with the statistics
// password from s's secrets.
func Prober(s site.Site, cl *model.Cluster, maxLag int64) (*health.Prober, error) {
	p := health.NewProber(cl, StatsPassword(s), maxLag)
	// The nodes' certificates are checked against the authority pghac made, once it has.
	if ca, err := os.ReadFile(s.CACert()); err == nil {
		if err := p.UseRoots(ca); err != nil {
			return nil, fmt.Errorf("%s: %w", s.CACert(), err)
		}
	}
	hc, err := HTTPClient(s, cl, 2*time.Second)
	if err != nil || hc == nil {
		return p, err
	}
	return p.UseHTTP(hc), nil
}

// StatsPassword is HAProxy's statistics password from s's secrets, "" when there are none
// (health then skips the HAProxy check).
func StatsPassword(s site.Site) string {
	vars, err := s.ReadSecrets()
	if err != nil {
		return ""
	}
	return vars[string(model.SecretStatsPassword)]
}

// WaitHealthy waits until the cluster is healthy by health's one definition, returning the
// last problems when ctx ends first.
func (f Fleet) WaitHealthy(ctx context.Context) error { return f.waitHealthy(ctx, true, nil) }

// WaitHealthyExcept is WaitHealthy overlooking the problems of the nodes in except (a
// rollout.Healthy).
func (f Fleet) WaitHealthyExcept(ctx context.Context, except []string) error {
	return f.waitHealthy(ctx, true, except)
}

// waitHealthy is WaitHealthyExcept; with acceptOld, HAProxy's old statistics password of a
// rotation not ended yet counts (the nodes not changed yet have it), and so do plain HTTP
// answers of what serves HTTPS once changed.
func (f Fleet) waitHealthy(ctx context.Context, acceptOld bool, except []string) error {
	p, err := Prober(f.Site, f.Cluster, f.Cluster.HAProxy.ReplicaMaxLagBytes)
	if err != nil {
		return err
	}
	out, err := f.Site.RotatedOut()
	if err != nil {
		return err
	}
	if acceptOld {
		if old := out[string(model.SecretStatsPassword)]; old != "" {
			p.AcceptOldStatsPassword(old)
		}
		// The rollout that brings HTTPS to a node's HAProxy statistics and backend: the nodes
		// not changed yet serve plain HTTP.
		p.AcceptPlainHTTP()
	}
	for {
		problems := p.Observe(ctx).Without(except)
		if len(problems) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ctx.Err(), strings.Join(problems, "; "))
		case <-time.After(time.Second):
		}
	}
}

// Live is the change the generated tree makes to the running cluster, with what carries it
// out: rollout.Survey over SSH, the wanted files being each node's user-data rendered with
// the site's secrets, as its machine would get it now.
func (f Fleet) Live(ctx context.Context) (rollout.Live, rollout.Dialer, *patroni.Client, error) {
	return f.live(ctx, nil)
}

// live is Live; with only not nil, of those nodes only.
func (f Fleet) live(ctx context.Context, only []string) (rollout.Live, rollout.Dialer, *patroni.Client, error) {
	pc, secrets, err := PatroniOf(f.Site, f.Cluster)
	if err != nil {
		return rollout.Live{}, nil, nil, err
	}
	// The secrets stay placeholders in the template and are filled into the parsed files, as
	// the node does: a certificate's lines would break the YAML they were rendered into.
	vars := map[string]string{}
	for name := range secrets {
		vars[name] = model.Secret(name).Placeholder()
	}
	// The local builds, where the nodes download them and their checksums: in the sandbox
	// where up serves the backend (ServeBackend); in the cloud the bucket's URLs recorded after
	// apply, and the checksums of the builds this plan uploads (WriteBuildVars). What the
	// site does not know stays a placeholder, and its files are not compared.
	for _, v := range model.BuildVars {
		vars[v] = "${" + v + "}"
	}
	for _, file := range []string{f.Site.BackendVars(), f.Site.BuildVars()} {
		if known, err := infra.StringVars(file); err == nil {
			maps.Copy(vars, known)
		}
	}
	maps.Copy(vars, recorded(f.Site).BuildURLs)
	want, err := WantedFiles(f.Site, f.Cluster, vars)
	if err != nil {
		return rollout.Live{}, nil, nil, err
	}
	for _, files := range want {
		rollout.FillSecrets(files, secrets)
	}
	for n, files := range want {
		want[n] = slices.DeleteFunc(files, func(file rollout.File) bool {
			return slices.ContainsFunc(model.BuildVars, func(v string) bool { return bytes.Contains(file.Content, []byte("${"+v+"}")) })
		})
	}
	if only != nil {
		maps.DeleteFunc(want, func(n string, _ []rollout.File) bool { return !slices.Contains(only, n) })
	}
	dial, err := Dialer(f.Site, f.Cluster)
	if err != nil {
		return rollout.Live{}, nil, nil, err
	}
	// The nodes not changed yet by a rotation have the old value: it is kept out of the diffs too.
	redact := maps.Clone(secrets)
	out, err := f.Site.RotatedOut()
	if err != nil {
		return rollout.Live{}, nil, nil, err
	}
	for name, v := range out {
		redact[name+"_rotated_out"] = v
	}
	l, err := rollout.Survey(ctx, want, dial, pc, redact)
	return l, dial, pc, err
}

// WantedFiles are the managed files of every node of cl, by node name, from the generated
// tree's user-data rendered with vars.
func WantedFiles(s site.Site, cl *model.Cluster, vars map[string]string) (map[string][]rollout.File, error) {
	want := map[string][]rollout.File{}
	for _, n := range cl.Nodes {
		path := filepath.Join(s.Deploy, "nodes", n.Name, "user-data.yaml")
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ud, err := rollout.RenderTemplate(src, path, vars)
		if err != nil {
			return nil, err
		}
		if want[n.Name], err = rollout.ManagedFiles(ud); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return want, nil
}

// Observe is the cluster's health now (health.Prober.Observe).
func (f Fleet) Observe(ctx context.Context) health.Report {
	p, err := Prober(f.Site, f.Cluster, f.Cluster.HAProxy.ReplicaMaxLagBytes)
	if err != nil {
		return health.Report{Cluster: f.Cluster.Name, Target: string(f.Cluster.Target), Problems: []string{"cannot reach the nodes: " + err.Error()}}
	}
	return p.Observe(ctx)
}

// ForgetHostKey unpins node's host key, for a machine about to be replaced on purpose: the
// new one makes its own.
func (f Fleet) ForgetHostKey(node string) error {
	for _, n := range f.Cluster.Nodes {
		if n.Name == node {
			return f.forgetHostKey(n.Address)
		}
	}
	return nil
}

func (f Fleet) forgetHostKey(addr netip.Addr) error {
	return remote.NewHostKeys(f.Site.KnownHosts()).Forget(net.JoinHostPort(addr.String(), strconv.Itoa(sshPort)))
}

// ErrNotCurrent is a rotation refused because the running cluster differs from the
// generated tree already: its rollout would carry more than the new value.
var ErrNotCurrent = errors.New("the running cluster differs from the generated tree already; bring it up to date first (pghac up on the sandbox, pghac plan and apply in the cloud), then rotate")

// RotateSecret gives the secret name a new value on the running cluster and rolls it out
// as up and apply roll out any change (rollout.Apply): the secrets file first, the old value recorded
// until every node has the new one (site.RotateSecret); a role's password set through the
// leader (post-bootstrap.sh) before any node's files; the nodes one at a time, each healthy
// before the next, HAProxy's old statistics password accepted from nodes not changed yet.
// show, when not nil, gets the change before it is applied, log a line per step. Then
// `pghac env`'s password file, when there is one, gets the new value. A rollout that stops
// midway is finished by the next up (plan and apply in the cloud), which end it (EndRotation).
func (f Fleet) RotateSecret(ctx context.Context, name model.Secret, timeout time.Duration, show func(rollout.Live), log func(string)) (rollout.Applied, error) {
	if !f.Cluster.IsSecret(string(name)) {
		return rollout.Applied{}, fmt.Errorf("%s is not a secret of this cluster", name)
	}
	done, err := f.rotate(ctx, func() error {
		_, err := f.Site.RotateSecret(name)
		return err
	}, timeout, show, log)
	if err != nil {
		return done, err
	}
	return done, f.EndRotation(ctx, timeout)
}

// RotateTLS issues every node's certificate and the service certificate again, with new
// keys, from the same authority (site.RotateTLS), and rolls them out as RotateSecret rolls
// out a password: the nodes one at a time, each reloading what reads them (PostgreSQL,
// PgBouncer: sessions open stay, new ones get the new certificate), each healthy before the
// next. Every node keeps trusting the one authority, so nothing that verifies fails midway;
// nothing of the old certificates is kept. A rollout that stops midway is finished by the
// next up (plan and apply in the cloud). issued, when not nil, gets what was issued.
func (f Fleet) RotateTLS(ctx context.Context, timeout time.Duration, issued func(site.TLSChange), show func(rollout.Live), log func(string)) (rollout.Applied, error) {
	done, err := f.rotate(ctx, func() error {
		ch, err := f.Site.RotateTLS(f.Cluster, time.Now())
		if err == nil && issued != nil {
			issued(ch)
		}
		return err
	}, timeout, show, log)
	if err != nil {
		return done, err
	}
	if err := f.servesIssued(ctx, timeout); err != nil {
		return done, &StoppedError{err}
	}
	return done, nil
}

// RotateCA takes the next step of the rotation of the cluster's certificate authority
// (site.NextCAStep) and rolls it out as RotateTLS does: the nodes one at a time, each reloading
// what reads the changed files, each healthy before the next. The steps are apart so that
// what clients trust (ca.crt, which they must be given between step 1 and step 2) follows
// the nodes: began, when not nil, is told the step before it is taken, issued what step 2
// issued. The step is returned even with an error.
func (f Fleet) RotateCA(ctx context.Context, timeout time.Duration, began func(site.CAStep), issued func(site.TLSChange), show func(rollout.Live), log func(string)) (site.CAStep, rollout.Applied, error) {
	step, err := f.Site.NextCAStep(f.Cluster, time.Now())
	if err != nil {
		return 0, rollout.Applied{}, err
	}
	done, err := f.rotate(ctx, func() error {
		if began != nil {
			began(step)
		}
		switch step {
		case site.CATrust:
			return f.Site.TrustNewCA(f.Cluster, time.Now())
		case site.CASign:
			ch, err := f.Site.SignWithNewCA(f.Cluster, time.Now())
			if err == nil && issued != nil {
				issued(ch)
			}
			return err
		}
		return f.Site.RetireOldCA(f.Cluster, time.Now())
	}, timeout, show, log)
	if err == nil && step == site.CASign {
		if err := f.servesIssued(ctx, timeout); err != nil {
			return step, done, &StoppedError{err}
		}
	}
	return step, done, err
}

// servesIssued waits until every node's PostgreSQL serves the certificate this machine
// issued it last (a reload is asynchronous: Patroni passes it on, PostgreSQL then reads
// the files).
func (f Fleet) servesIssued(ctx context.Context, timeout time.Duration) error {
	p, err := Prober(f.Site, f.Cluster, f.Cluster.HAProxy.ReplicaMaxLagBytes)
	if err != nil {
		return err
	}
	want := map[string]time.Time{}
	for _, n := range f.Cluster.Nodes {
		cert, err := f.Site.NodeCert(n.Name)
		if err != nil {
			return err
		}
		want[n.Name] = cert.NotAfter
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		served := map[string]time.Time{}
		for _, m := range p.Observe(ctx).Members {
			if m.CertNotAfter != nil {
				served[m.Name] = *m.CertNotAfter
			}
		}
		var stale []string
		for _, n := range f.Cluster.Nodes {
			if !served[n.Name].Equal(want[n.Name]) {
				stale = append(stale, n.Name)
			}
		}
		if len(stale) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after the rollout, %s still serve(s) another certificate than the one issued", strings.Join(stale, ", "))
		case <-time.After(time.Second):
		}
	}
}

// StoppedError is a rotation whose new values are on this machine (and in Lockbox, when
// it could write them) but did not reach every node: the next rollout finishes it.
type StoppedError struct{ Err error }

func (e *StoppedError) Error() string { return e.Err.Error() }
func (e *StoppedError) Unwrap() error { return e.Err }

// rotate changes the site's secrets with change, once the running cluster is reachable and
// runs the generated tree (else a rollout would carry more than the rotation), writes them
// where the nodes read them, and rolls the change out.
func (f Fleet) rotate(ctx context.Context, change func() error, timeout time.Duration, show func(rollout.Live), log func(string)) (rollout.Applied, error) {
	if l, _, _, err := f.Live(ctx); err != nil {
		return rollout.Applied{}, fmt.Errorf("surveying the running nodes: %w", err)
	} else if bad := l.Unreachable(); len(bad) > 0 {
		return rollout.Applied{}, fmt.Errorf("%s cannot be reached (%w): nothing was rotated", bad[0].Node, bad[0].Err)
	} else if !l.Empty() {
		return rollout.Applied{}, ErrNotCurrent
	}
	if err := change(); err != nil {
		return rollout.Applied{}, err
	}
	if f.SyncSecrets != nil {
		if err := f.SyncSecrets(ctx); err != nil {
			return rollout.Applied{}, &StoppedError{fmt.Errorf("the new values are in %s but not in Lockbox: %w", f.Site.Dir, err)}
		}
	}
	l, dial, pc, err := f.Live(ctx)
	if err != nil {
		return rollout.Applied{}, &StoppedError{fmt.Errorf("surveying the running nodes: %w", err)}
	}
	if show != nil {
		show(l)
	}
	done, err := rollout.Apply(ctx, l, dial, pc, f.WaitHealthyExcept, timeout, log)
	if err != nil {
		return done, &StoppedError{err}
	}
	return done, nil
}

// EndRotation ends a rotation whose new value every node runs (after a rollout): once the
// cluster is healthy with the new value alone (the last node's HAProxy may answer with its
// old worker for a moment after its reload), the old value is forgotten and `pghac env`'s
// password file, when there is one, gets the new one. Without a rotation it does nothing.
func (f Fleet) EndRotation(ctx context.Context, timeout time.Duration) error {
	out, err := f.Site.RotatedOut()
	if err != nil || len(out) == 0 {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	err = f.waitHealthy(wctx, false, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("after the rollout, with the new value only: %w", err)
	}
	if err := f.Site.EndRotation(); err != nil {
		return err
	}
	if _, err := os.Stat(f.Site.Pgpass()); err != nil {
		return nil // no password file to mend
	}
	vars, err := f.Site.ReadSecrets()
	if err != nil {
		return err
	}
	return f.Site.WritePgpass(f.Cluster, vars)
}
