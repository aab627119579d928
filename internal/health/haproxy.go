package health

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/patroni"
)

// routing is what one HAProxy does: the servers UP in its primary and replica proxies, and
// every server its replica proxy has, up or not.
type routing struct {
	primary, replicas []string
	replicaServers    []string
}

// haproxyRouting reads node n's HAProxy's routing from its statistics page as CSV.
func (p *Prober) haproxyRouting(ctx context.Context, n model.Node) (routing, error) {
	b, code, err := p.getTLS(ctx, n, p.cluster.HAProxy.StatsPort, "/;csv", p.statsPassword)
	if err == nil && code == http.StatusUnauthorized && p.oldStatsPassword != "" {
		b, code, err = p.getTLS(ctx, n, p.cluster.HAProxy.StatsPort, "/;csv", p.oldStatsPassword)
	}
	if err != nil {
		return routing{}, err
	}
	if code != http.StatusOK {
		return routing{}, fmt.Errorf("statistics page: HTTP %d", code)
	}
	return parseHAProxyCSV(b)
}

// parseHAProxyCSV returns the routing of the "primary" and "replicas" proxies.
func parseHAProxyCSV(b []byte) (routing, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return routing{}, fmt.Errorf("statistics page: not HAProxy's CSV")
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	px, sv, st := col("pxname"), col("svname"), col("status")
	if px < 0 || sv < 0 || st < 0 {
		return routing{}, fmt.Errorf("statistics page: CSV without pxname, svname, status")
	}
	var rt routing
	for _, row := range rows[1:] {
		if len(row) <= max(px, sv, st) || row[sv] == "FRONTEND" || row[sv] == "BACKEND" {
			continue
		}
		if row[px] == "replicas" {
			rt.replicaServers = append(rt.replicaServers, row[sv])
		}
		if !strings.HasPrefix(row[st], "UP") {
			continue
		}
		switch row[px] {
		case "primary":
			rt.primary = append(rt.primary, row[sv])
		case "replicas":
			rt.replicas = append(rt.replicas, row[sv])
		}
	}
	slices.Sort(rt.primary)
	slices.Sort(rt.replicas)
	return rt, nil
}

// haproxyVerdict judges one HAProxy's routing against the members: the primary port must
// reach the leader only, the replica port every replica it has a server for and not the
// leader. A replica it has no server for (a node added since its configuration was written)
// is the rollout's to add: its configuration differs from the generated one.
func haproxyVerdict(rt routing, err error, members []Member) string {
	if err != nil {
		return "unreachable: " + err.Error()
	}
	var leader, wantReplicas []string
	for _, m := range members {
		switch {
		case m.Role == patroni.RoleLeader:
			leader = append(leader, m.Name)
		case (m.State == "streaming" || m.State == "running") && slices.Contains(rt.replicaServers, m.Name):
			wantReplicas = append(wantReplicas, m.Name)
		}
	}
	switch {
	case !slices.Equal(rt.primary, leader):
		return fmt.Sprintf("routes the primary port to [%s], want [%s]", strings.Join(rt.primary, " "), strings.Join(leader, " "))
	case !slices.Equal(rt.replicas, wantReplicas):
		return fmt.Sprintf("routes the replica port to [%s], want [%s]", strings.Join(rt.replicas, " "), strings.Join(wantReplicas, " "))
	}
	return HAProxyOK
}
