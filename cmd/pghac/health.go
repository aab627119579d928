package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
)

// How pghac sees a running cluster from outside: Patroni's REST API (/cluster), etcd's /health
// and HAProxy's statistics page (CSV), all over the nodes' addresses. Used by `pghac status`
// and by `pghac up` while it waits for the cluster.

// memberStatus is one node as status reports it.
type memberStatus struct {
	Name    string `json:"member"`
	Address string `json:"address"`
	// Role and State are Patroni's ("leader", "sync_standby", "replica"; "running",
	// "streaming", ...); empty when Patroni does not list the member.
	Role     string `json:"role"`
	State    string `json:"state"`
	Timeline int    `json:"timeline,omitempty"`
	// LagBytes is a replica's replication lag; nil for the leader or when Patroni does not know.
	LagBytes *int64 `json:"lag_bytes,omitempty"`
	// Etcd is "healthy", "not a member", or what is wrong.
	Etcd string `json:"etcd"`
	// HAProxy is "ok" when the node's HAProxy routes the primary port to the leader and the
	// replica port to the replicas, or what is wrong.
	HAProxy string `json:"haproxy"`
	// Backend is "ready" when the node's notes API answers /readyz with 200 (both its database
	// pools work), or what is wrong; empty without a backend block.
	Backend string `json:"backend,omitempty"`
}

// clusterStatus is the whole cluster as status reports it.
type clusterStatus struct {
	Cluster string         `json:"cluster"`
	Target  string         `json:"target"`
	Network string         `json:"network,omitempty"`
	Members []memberStatus `json:"members"`
	// Healthy: every member runs, one leader, every replica streams with lag 0, etcd is healthy
	// and every HAProxy routes right. Problems says what is not so.
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems,omitempty"`
}

// Patroni's roles as /cluster names them.
const (
	roleLeader = "leader"
)

// patroniCluster is the part of Patroni's GET /cluster pghac reads.
type patroniCluster struct {
	Members []patroniMember `json:"members"`
}

type patroniMember struct {
	Name     string          `json:"name"`
	Role     string          `json:"role"`
	State    string          `json:"state"`
	Host     string          `json:"host"`
	Timeline int             `json:"timeline"`
	Lag      json.RawMessage `json:"lag"` // bytes, or "unknown"
}

// lagBytes is the member's lag, nil when absent or "unknown".
func (m patroniMember) lagBytes() *int64 {
	var n int64
	if len(m.Lag) == 0 || json.Unmarshal(m.Lag, &n) != nil {
		return nil
	}
	return &n
}

// prober asks the nodes over HTTP.
type prober struct {
	client        *http.Client
	statsPassword string // HAProxy's statistics page; "" skips the HAProxy check
	// maxLag is the replica lag, in bytes, still judged healthy. `up` waits for 0; `status`
	// accepts what HAProxy's replica check accepts, since Patroni's lag figure trails every
	// write by up to loop_wait.
	maxLag int64
}

func newProber(statsPassword string) *prober {
	return &prober{client: &http.Client{Timeout: 2 * time.Second}, statsPassword: statsPassword}
}

func (p *prober) get(ctx context.Context, url string, auth bool) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	if auth {
		req.SetBasicAuth(model.StatsUser, p.statsPassword)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b, resp.StatusCode, err
}

// patroni returns Patroni's view of the cluster from the first node that answers.
func (p *prober) patroni(ctx context.Context, cl *model.Cluster) (patroniCluster, error) {
	var errs []error
	for _, n := range cl.Nodes {
		b, code, err := p.get(ctx, "http://"+hostPort(n.Address, cl.Patroni.RestAPIPort)+"/cluster", false)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("HTTP %d", code)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.Name, err))
			continue
		}
		var pc patroniCluster
		if err := json.Unmarshal(b, &pc); err != nil {
			errs = append(errs, fmt.Errorf("%s: /cluster: %w", n.Name, err))
			continue
		}
		return pc, nil
	}
	return patroniCluster{}, fmt.Errorf("no Patroni answers: %w", errors.Join(errs...))
}

// streaming returns the members the leader streams WAL to, from its GET /patroni
// (pg_stat_replication); none when there is no leader or it does not answer.
func (p *prober) streaming(ctx context.Context, cl *model.Cluster, pc patroniCluster) map[string]bool {
	out := map[string]bool{}
	for _, m := range pc.Members {
		if m.Role != roleLeader {
			continue
		}
		for _, n := range cl.Nodes {
			if n.Name != m.Name {
				continue
			}
			b, code, err := p.get(ctx, "http://"+hostPort(n.Address, cl.Patroni.RestAPIPort)+"/patroni", false)
			if err != nil || code != http.StatusOK {
				return out
			}
			var st struct {
				Replication []struct {
					ApplicationName string `json:"application_name"`
					State           string `json:"state"`
				} `json:"replication"`
			}
			if json.Unmarshal(b, &st) != nil {
				return out
			}
			for _, r := range st.Replication {
				out[r.ApplicationName] = r.State == "streaming"
			}
		}
	}
	return out
}

// etcd returns "healthy" or what is wrong with node n's etcd member.
func (p *prober) etcd(ctx context.Context, cl *model.Cluster, n model.Node) string {
	if !n.EtcdMember {
		return "not a member"
	}
	b, code, err := p.get(ctx, "http://"+hostPort(n.Address, cl.Etcd.ClientPort)+"/health", false)
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
	return "healthy"
}

// haproxyUp returns, for node n's HAProxy, the servers it has UP in the primary and replica
// proxies, read from its statistics page as CSV.
func (p *prober) haproxyUp(ctx context.Context, cl *model.Cluster, n model.Node) (primary, replicas []string, err error) {
	b, code, err := p.get(ctx, "http://"+hostPort(n.Address, cl.HAProxy.StatsPort)+"/;csv", true)
	if err != nil {
		return nil, nil, err
	}
	if code != http.StatusOK {
		return nil, nil, fmt.Errorf("statistics page: HTTP %d", code)
	}
	return parseHAProxyCSV(b)
}

// parseHAProxyCSV returns the UP servers of the "primary" and "replicas" proxies.
func parseHAProxyCSV(b []byte) (primary, replicas []string, err error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, nil, fmt.Errorf("statistics page: not HAProxy's CSV")
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	px, sv, st := col("pxname"), col("svname"), col("status")
	if px < 0 || sv < 0 || st < 0 {
		return nil, nil, fmt.Errorf("statistics page: CSV without pxname, svname, status")
	}
	for _, row := range rows[1:] {
		if len(row) <= max(px, sv, st) || row[sv] == "FRONTEND" || row[sv] == "BACKEND" || !strings.HasPrefix(row[st], "UP") {
			continue
		}
		switch row[px] {
		case "primary":
			primary = append(primary, row[sv])
		case "replicas":
			replicas = append(replicas, row[sv])
		}
	}
	slices.Sort(primary)
	slices.Sort(replicas)
	return primary, replicas, nil
}

// observe asks every node and judges the cluster.
func (p *prober) observe(ctx context.Context, cl *model.Cluster) clusterStatus {
	st := clusterStatus{Cluster: cl.Name, Target: string(cl.Target)}
	if cl.Sandbox != nil {
		st.Network = cl.Sandbox.CIDR.String()
	}
	pc, perr := p.patroni(ctx, cl)
	byName := map[string]patroniMember{}
	for _, m := range pc.Members {
		byName[m.Name] = m
	}
	streaming := p.streaming(ctx, cl, pc)
	for _, n := range cl.Nodes {
		ms := memberStatus{Name: n.Name, Address: n.Address.String()}
		if m, ok := byName[n.Name]; ok {
			ms.Role, ms.State, ms.Timeline = m.Role, m.State, m.Timeline
			if m.Role != roleLeader {
				ms.LagBytes = m.lagBytes()
				// Patroni before 3.0.4 says "running" for a replica whatever its WAL source.
				if ms.State == "running" && streaming[n.Name] {
					ms.State = "streaming"
				}
			}
		}
		ms.Etcd = p.etcd(ctx, cl, n)
		st.Members = append(st.Members, ms)
	}
	judgeMembers(&st, perr, p.maxLag)
	if p.statsPassword != "" {
		for i, n := range cl.Nodes {
			st.Members[i].HAProxy = haproxyVerdict(p.haproxyUp(ctx, cl, n))(st.Members)
		}
	}
	if cl.Backend != nil {
		for i, n := range cl.Nodes {
			st.Members[i].Backend = p.backend(ctx, cl, n)
		}
	}
	for _, m := range st.Members {
		if m.HAProxy != "" && m.HAProxy != "ok" {
			st.Problems = append(st.Problems, fmt.Sprintf("%s: HAProxy %s", m.Name, m.HAProxy))
		}
		if m.Backend != "" && m.Backend != backendReady {
			st.Problems = append(st.Problems, fmt.Sprintf("%s: backend %s", m.Name, m.Backend))
		}
	}
	st.Healthy = len(st.Problems) == 0
	return st
}

// judgeMembers lists what keeps the members from being healthy.
func judgeMembers(st *clusterStatus, perr error, maxLag int64) {
	if perr != nil {
		st.Problems = append(st.Problems, perr.Error())
	}
	leaders := 0
	for _, m := range st.Members {
		switch {
		case m.State == "":
			st.Problems = append(st.Problems, m.Name+": not a Patroni member yet")
		case m.Role == roleLeader:
			leaders++
			if m.State != "running" {
				st.Problems = append(st.Problems, fmt.Sprintf("%s: leader is %s", m.Name, m.State))
			}
		case m.State != "streaming":
			st.Problems = append(st.Problems, fmt.Sprintf("%s: replica is %s, not streaming", m.Name, m.State))
		case m.LagBytes == nil || *m.LagBytes > maxLag:
			st.Problems = append(st.Problems, fmt.Sprintf("%s: replica lags %s", m.Name, lagText(m.LagBytes)))
		}
		if m.Etcd != "healthy" && m.Etcd != "not a member" {
			st.Problems = append(st.Problems, fmt.Sprintf("%s: etcd %s", m.Name, m.Etcd))
		}
	}
	if leaders != 1 && perr == nil {
		st.Problems = append(st.Problems, fmt.Sprintf("%d leaders, want 1", leaders))
	}
}

// haproxyVerdict judges one HAProxy's UP servers against the members: the primary port must
// reach the leader only, the replica port every replica and not the leader.
func haproxyVerdict(primary, replicas []string, err error) func([]memberStatus) string {
	return func(members []memberStatus) string {
		if err != nil {
			return "unreachable: " + err.Error()
		}
		var leader, wantReplicas []string
		for _, m := range members {
			switch {
			case m.Role == roleLeader:
				leader = append(leader, m.Name)
			case m.State == "streaming" || m.State == "running":
				wantReplicas = append(wantReplicas, m.Name)
			}
		}
		switch {
		case !slices.Equal(primary, leader):
			return fmt.Sprintf("routes the primary port to [%s], want [%s]", strings.Join(primary, " "), strings.Join(leader, " "))
		case !slices.Equal(replicas, wantReplicas):
			return fmt.Sprintf("routes the replica port to [%s], want [%s]", strings.Join(replicas, " "), strings.Join(wantReplicas, " "))
		}
		return "ok"
	}
}

func lagText(lag *int64) string {
	if lag == nil {
		return "unknown"
	}
	return strconv.FormatInt(*lag, 10) + " bytes"
}

func hostPort(addr netip.Addr, port int) string {
	return netip.AddrPortFrom(addr, uint16(port)).String()
}

const backendReady = "ready"

// backend asks node n's notes API whether both its database pools work.
func (p *prober) backend(ctx context.Context, cl *model.Cluster, n model.Node) string {
	body, code, err := p.get(ctx, "http://"+hostPort(n.Address, cl.Backend.Port)+"/readyz", false)
	switch {
	case err != nil:
		return "unreachable"
	case code == http.StatusOK:
		return backendReady
	}
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil && e.Detail != "" {
		return "not ready: " + e.Detail
	}
	return fmt.Sprintf("not ready (HTTP %d)", code)
}
