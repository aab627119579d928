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

// haproxyUp returns, for node n's HAProxy, the servers it has UP in the primary and replica
// proxies, read from its statistics page as CSV.
func (p *Prober) haproxyUp(ctx context.Context, n model.Node) (primary, replicas []string, err error) {
	b, code, err := p.get(ctx, "http://"+n.AddrPort(p.cluster.HAProxy.StatsPort).String()+"/;csv", true)
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

// haproxyVerdict judges one HAProxy's UP servers against the members: the primary port must
// reach the leader only, the replica port every replica and not the leader.
func haproxyVerdict(primary, replicas []string, err error, members []Member) string {
	if err != nil {
		return "unreachable: " + err.Error()
	}
	var leader, wantReplicas []string
	for _, m := range members {
		switch {
		case m.Role == patroni.RoleLeader:
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
	return HAProxyOK
}
