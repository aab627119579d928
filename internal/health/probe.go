package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/patroni"
)

// Report is the whole cluster as `pghac status` reports it.
type Report struct {
	Cluster string   `json:"cluster"`
	Target  string   `json:"target"`
	Network string   `json:"network,omitempty"`
	Members []Member `json:"members"`
	// Healthy: Judge finds nothing wrong, etcd is healthy and every HAProxy routes right and
	// every backend is ready. Problems says what is not so.
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems,omitempty"`
}

// Member is one node as status reports it.
type Member struct {
	Name    string `json:"member"`
	Address string `json:"address"`
	// Role and State are Patroni's ("leader", "sync_standby", "replica"; "running",
	// "streaming", ...); empty when Patroni does not list the member.
	Role     string `json:"role"`
	State    string `json:"state"`
	Timeline int    `json:"timeline,omitempty"`
	// LagBytes is a replica's replication lag; nil for the leader or when Patroni does not know.
	LagBytes *int64 `json:"lag_bytes,omitempty"`
	// Etcd is EtcdHealthy, EtcdNotMember, or what is wrong.
	Etcd string `json:"etcd"`
	// HAProxy is HAProxyOK when the node's HAProxy routes the primary port to the leader and
	// the replica port to the replicas, or what is wrong; empty when not checked.
	HAProxy string `json:"haproxy"`
	// Backend is BackendReady when the node's notes API answers /readyz with 200 (both its
	// database pools work), or what is wrong; empty without a backend block.
	Backend string `json:"backend,omitempty"`
	// TLS is what PostgreSQL's certificate is: "verified" against the cluster's authorities,
	// TLSOff, or what is wrong; empty when not checked. CertNotAfter is the certificate's end.
	TLS          string     `json:"tls,omitempty"`
	CertNotAfter *time.Time `json:"cert_not_after,omitempty"`
	// PgBouncerTLS and ServiceCertNotAfter are the same for the certificate PgBouncer serves
	// (the cluster's service certificate).
	PgBouncerTLS        string     `json:"pgbouncer_tls,omitempty"`
	ServiceCertNotAfter *time.Time `json:"service_cert_not_after,omitempty"`
}

// What Member's checks say when all is well.
const (
	EtcdHealthy   = "healthy"
	EtcdNotMember = "not a member"
	HAProxyOK     = "ok"
	BackendReady  = "ready"
)

// Prober asks a cluster's nodes over HTTP.
type Prober struct {
	cluster *model.Cluster
	patroni *patroni.Client
	http    *http.Client
	// statsPassword opens HAProxy's statistics page; "" skips the HAProxy check.
	// oldStatsPassword, when set, is tried on a node that refuses statsPassword.
	statsPassword, oldStatsPassword string
	rules                           Rules
	// roots are the authorities the nodes' certificates must verify against; nil skips the
	// TLS check, and the HTTPS endpoints are asked over plain HTTP.
	roots *x509.CertPool
	// https asks the HTTPS endpoints, verifying against roots.
	https *http.Client
	// acceptPlain lets an HTTPS endpoint that answers in plain HTTP be asked so.
	acceptPlain bool
}

// NewProber asks cl's nodes at their addresses. statsPassword is HAProxy's statistics
// password ("" skips the HAProxy check); maxLag is Rules.MaxLag.
func NewProber(cl *model.Cluster, statsPassword string, maxLag int64) *Prober {
	hc := &http.Client{Timeout: 2 * time.Second}
	return &Prober{
		cluster:       cl,
		patroni:       &patroni.Client{Endpoints: PatroniEndpoints(cl), HTTP: hc},
		http:          hc,
		statsPassword: statsPassword,
		rules:         ClusterRules(cl, maxLag),
	}
}

// UseHTTP has p ask the nodes with hc (say, through a jump host: remote.Tunnel's HTTPClient)
// instead of directly.
func (p *Prober) UseHTTP(hc *http.Client) *Prober {
	p.http, p.patroni.HTTP = hc, hc
	p.secure()
	return p
}

// secure makes p.https: p.http's way to the nodes, verifying against p.roots.
func (p *Prober) secure() {
	if p.roots == nil {
		p.https = nil
		return
	}
	base, ok := p.http.Transport.(*http.Transport)
	if !ok || base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	t := base.Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12}
	p.https = &http.Client{Timeout: p.http.Timeout, Transport: t}
}

// AcceptPlainHTTP lets the HAProxy and backend checks ask a node that answers its HTTPS
// request in plain HTTP again over HTTP: while the rollout that brings TLS to them runs, the
// nodes not changed yet serve plain HTTP. Without it such a node is a problem.
func (p *Prober) AcceptPlainHTTP() *Prober {
	p.acceptPlain = true
	return p
}

// ClusterRules are the rules for cl: all its nodes, synchronous as its Patroni block says.
func ClusterRules(cl *model.Cluster, maxLag int64) Rules {
	r := Rules{MaxLag: maxLag, Synchronous: cl.Patroni.SynchronousMode}
	for _, n := range cl.Nodes {
		r.Nodes = append(r.Nodes, n.Name)
	}
	return r
}

// PatroniEndpoints are the REST APIs of cl's nodes, in node order.
func PatroniEndpoints(cl *model.Cluster) []patroni.Endpoint {
	eps := make([]patroni.Endpoint, len(cl.Nodes))
	for i, n := range cl.Nodes {
		eps[i] = patroni.Endpoint{Name: n.Name, URL: "http://" + n.AddrPort(cl.Patroni.RestAPIPort).String()}
	}
	return eps
}

// Observe asks every node and judges the cluster.
func (p *Prober) Observe(ctx context.Context) Report {
	cl := p.cluster
	rep := Report{Cluster: cl.Name, Target: string(cl.Target)}
	if cl.Sandbox != nil {
		rep.Network = cl.Sandbox.CIDR.String()
	}
	// Every node's own endpoints are asked at once, beside Patroni: through a jump host each
	// request is an SSH channel, and one after the other they add up.
	nodes := make([]nodeAnswers, len(cl.Nodes))
	var wg sync.WaitGroup
	for i, n := range cl.Nodes {
		wg.Go(func() { nodes[i] = p.askNode(ctx, n) })
	}
	pc, perr := p.patroni.Cluster(ctx)
	var streams patroni.Status
	if l, ok := pc.Leader(); ok {
		streams, _ = p.patroni.Status(ctx, l.Name) // none streams when the leader does not say
	}
	wg.Wait()
	for i, n := range cl.Nodes {
		ms := Member{Name: n.Name, Address: n.Address.String()}
		if m, ok := pc.Member(n.Name); ok {
			ms.Role, ms.State, ms.Timeline = m.Role, memberState(m, streams), m.Timeline
			if !m.IsLeader() {
				ms.LagBytes = m.Lag
			}
		}
		ms.Etcd = nodes[i].etcd
		rep.Members = append(rep.Members, ms)
	}
	if perr != nil {
		rep.Problems = append(rep.Problems, "no Patroni answers: "+strings.TrimPrefix(perr.Error(), "no Patroni member answered GET /cluster: "))
	}
	rep.Problems = append(rep.Problems, Judge(FromPatroni(pc, streams), p.rules)...)
	for _, m := range rep.Members {
		if m.Etcd != EtcdHealthy && m.Etcd != EtcdNotMember {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: etcd %s", m.Name, m.Etcd))
		}
	}
	if p.statsPassword != "" {
		// HAProxy rightly routes to a member that is leaving (taken out of the cluster file,
		// not yet out of the cluster): it is judged with the others.
		routed := slices.Clone(rep.Members)
		for _, m := range pc.Members {
			if !slices.ContainsFunc(cl.Nodes, func(n model.Node) bool { return n.Name == m.Name }) {
				routed = append(routed, Member{Name: m.Name, Role: m.Role, State: memberState(m, streams)})
			}
		}
		for i := range cl.Nodes {
			rep.Members[i].HAProxy = haproxyVerdict(nodes[i].routing, nodes[i].routingErr, routed)
		}
	}
	if cl.Backend != nil {
		for i := range cl.Nodes {
			rep.Members[i].Backend = nodes[i].backend
		}
	}
	if p.roots != nil {
		for i := range cl.Nodes {
			a, m := nodes[i], &rep.Members[i]
			var bad bool
			m.TLS, bad = a.postgresCert.verdict()
			m.CertNotAfter = a.postgresCert.notAfter()
			if bad {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: PostgreSQL's TLS %s", cl.Nodes[i].Name, m.TLS))
			}
			m.PgBouncerTLS, bad = a.pgbouncerCert.verdict()
			m.ServiceCertNotAfter = a.pgbouncerCert.notAfter()
			if bad {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: PgBouncer's TLS %s", cl.Nodes[i].Name, m.PgBouncerTLS))
			}
		}
	}
	for _, m := range rep.Members {
		if m.HAProxy != "" && m.HAProxy != HAProxyOK {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: HAProxy %s", m.Name, m.HAProxy))
		}
		if m.Backend != "" && m.Backend != BackendReady {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: backend %s", m.Name, m.Backend))
		}
	}
	rep.Healthy = len(rep.Problems) == 0
	return rep
}

// AcceptOldStatsPassword makes the HAProxy check try old on a node that refuses the current
// password: while a rotation of it rolls out, the nodes not changed yet still have the old one.
func (p *Prober) AcceptOldStatsPassword(old string) *Prober {
	p.oldStatsPassword = old
	return p
}

// memberState is m's state, "streaming" for a replica the leader (streams) streams to:
// Patroni before 3.0.4 says "running" for a replica whatever its WAL source.
func memberState(m patroni.Member, streams patroni.Status) string {
	if m.State == "running" && !m.IsLeader() && streams.Streams(m.Name) {
		return "streaming"
	}
	return m.State
}

// get asks url, with HAProxy's statistics user and password when password is not "".
func (p *Prober) get(ctx context.Context, url string, password string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	if password != "" {
		req.SetBasicAuth(model.StatsUser, password)
	}
	hc := p.http
	if req.URL.Scheme == "https" {
		hc = p.https
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b, resp.StatusCode, err
}

// errPlainHTTP is a node's answer in plain HTTP to an HTTPS request.
var errPlainHTTP = errors.New("serves plain HTTP, not HTTPS")

// getTLS gets path from n's port over HTTPS, the certificate verified against p.roots for n's
// address (over HTTP when p has no roots). A node that answers in plain HTTP is an error
// saying so, or with AcceptPlainHTTP is asked again over HTTP.
func (p *Prober) getTLS(ctx context.Context, n model.Node, port int, path, password string) ([]byte, int, error) {
	host := n.AddrPort(port).String()
	if p.https == nil {
		return p.get(ctx, "http://"+host+path, password)
	}
	b, code, err := p.get(ctx, "https://"+host+path, password)
	if errors.Is(err, http.ErrSchemeMismatch) {
		if p.acceptPlain {
			return p.get(ctx, "http://"+host+path, password)
		}
		return nil, 0, errPlainHTTP
	}
	return b, code, err
}

// etcd returns EtcdHealthy, EtcdNotMember or what is wrong with node n's etcd member.
// nodeAnswers is what one node's own endpoints say.
type nodeAnswers struct {
	etcd       string
	routing    routing // HAProxy's, when there is a statistics password
	routingErr error
	backend    string // when the cluster has one
	// PostgreSQL's and PgBouncer's certificates, when the prober has roots.
	postgresCert, pgbouncerCert certAnswer
}

// askNode asks n's etcd, HAProxy statistics and backend, one after the other.
func (p *Prober) askNode(ctx context.Context, n model.Node) nodeAnswers {
	a := nodeAnswers{etcd: p.etcd(ctx, n)}
	if p.statsPassword != "" {
		a.routing, a.routingErr = p.haproxyRouting(ctx, n)
	}
	if p.cluster.Backend != nil {
		a.backend = p.backend(ctx, n)
	}
	if p.roots != nil {
		a.postgresCert = p.serverCert(ctx, n, p.cluster.Postgres.Port)
		a.pgbouncerCert = p.serverCert(ctx, n, p.cluster.PgBouncer.Port)
	}
	return a
}

func (p *Prober) etcd(ctx context.Context, n model.Node) string {
	if !n.EtcdMember {
		return EtcdNotMember
	}
	b, code, err := p.get(ctx, "http://"+n.AddrPort(p.cluster.Etcd.ClientPort).String()+"/health", "")
	if err != nil {
		return "unreachable"
	}
	var h struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	if json.Unmarshal(b, &h) != nil || code != http.StatusOK || h.Health != "true" {
		if h.Reason != "" {
			return "unhealthy: " + h.Reason
		}
		return "unhealthy"
	}
	return EtcdHealthy
}

// backend asks node n's notes API whether both its database pools work.
func (p *Prober) backend(ctx context.Context, n model.Node) string {
	body, code, err := p.getTLS(ctx, n, p.cluster.Backend.Port, "/readyz", "")
	switch {
	case errors.Is(err, errPlainHTTP):
		return err.Error()
	case err != nil:
		return "unreachable"
	case code == http.StatusOK:
		return BackendReady
	}
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil && e.Detail != "" {
		return "not ready: " + e.Detail
	}
	return fmt.Sprintf("not ready (HTTP %d)", code)
}

// nodeOf is the member a problem of r names first, "" when it names none (the cluster's own:
// no leader, no Patroni answering).
func (r Report) nodeOf(problem string) string {
	for _, m := range r.Members {
		if strings.HasPrefix(problem, m.Name+": ") {
			return m.Name
		}
	}
	return ""
}

// ProblemNodes are the members r's problems name, in member order; all is false when a
// problem names none.
func (r Report) ProblemNodes() (nodes []string, all bool) {
	for _, m := range r.Members {
		if slices.ContainsFunc(r.Problems, func(p string) bool { return r.nodeOf(p) == m.Name }) {
			nodes = append(nodes, m.Name)
		}
	}
	return nodes, !slices.ContainsFunc(r.Problems, func(p string) bool { return r.nodeOf(p) == "" })
}

// Without is r's problems but those that name one of nodes, as theirs or anywhere in them:
// another node's HAProxy that does not route to one of nodes yet (a node joining, a broken
// one being mended) is waiting for that node, not a problem of its own.
func (r Report) Without(nodes []string) []string {
	var out []string
	for _, p := range r.Problems {
		if !slices.ContainsFunc(nodes, func(n string) bool { return mentions(p, n) }) {
			out = append(out, p)
		}
	}
	return out
}

// mentions reports whether problem names node as a whole word: node1 is not in node10.
func mentions(problem, node string) bool {
	return regexp.MustCompile(`(?:^|[^\w-])` + regexp.QuoteMeta(node) + `(?:$|[^\w-])`).MatchString(problem)
}
