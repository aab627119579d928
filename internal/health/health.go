package health

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/pghac/pghac/internal/patroni"
)

// Rules are what healthy asks of the members beyond one running leader.
type Rules struct {
	// Nodes must all be Patroni members.
	Nodes []string
	// MaxLag is the most a replica may lag, in bytes. `up` waits for 0; `status` and the
	// drills accept what HAProxy's replica check accepts, since Patroni's lag figure trails
	// every write by up to loop_wait.
	MaxLag int64
	// Synchronous: some member must be the synchronous standby. Without one a switchover is
	// refused (Patroni: "can not find sync_standby") and a leader crash may lose writes.
	Synchronous bool
}

// PatroniMember is one member as Judge sees it: Patroni's view of it, and what pghac found
// out itself.
type PatroniMember struct {
	Name string
	// Role and State are Patroni's; State is "" when Patroni does not list the member.
	Role, State string
	Timeline    int
	Lag         *int64 // nil for the leader, or when unknown
	// Streaming: the leader's pg_stat_replication shows a WAL sender to this member streaming.
	Streaming bool
	// Silent: the member does not answer its own REST API although /cluster lists it (its
	// key has not expired yet). Observers that do not ask each member leave it false.
	Silent bool
}

// Judge lists what keeps members from being healthy under r, in member order, each problem
// naming its member first; none when the cluster is healthy: one running leader, every other
// member a replica streaming from it on its timeline within r.MaxLag, and with r.Synchronous a
// synchronous standby.
func Judge(members []PatroniMember, r Rules) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var leaders []PatroniMember
	listed := false
	for _, m := range members {
		listed = listed || m.State != ""
		if m.Role == patroni.RoleLeader {
			leaders = append(leaders, m)
		}
	}
	for _, n := range r.Nodes {
		if !slices.ContainsFunc(members, func(m PatroniMember) bool { return m.Name == n }) {
			add("%s: not a Patroni member yet", n)
		}
	}
	for _, m := range members {
		switch {
		case m.State == "":
			add("%s: not a Patroni member yet", m.Name)
		case m.Role == patroni.RoleLeader:
			if m.State != "running" {
				add("%s: leader is %s", m.Name, m.State)
			} else if m.Silent {
				add("%s: leader does not answer", m.Name)
			}
		default:
			if why := follows(members, leaders, m); why != "" {
				add("%s: %s", m.Name, why)
			} else if m.Lag == nil || *m.Lag > r.MaxLag {
				add("%s: replica lags %s", m.Name, LagText(m.Lag))
			}
		}
	}
	switch {
	case !listed:
		// Nobody answered, or nobody is a member yet: said above.
	case len(leaders) != 1:
		add("%d leaders, want 1", len(leaders))
	case r.Synchronous && !slices.ContainsFunc(members, func(m PatroniMember) bool { return m.Role == patroni.RoleSyncStandby }):
		add("no synchronous standby yet")
	}
	return problems
}

// Follows says why member name is not a replica following the leader of members: running,
// answering, in the leader's list of streaming replicas, on its timeline; "" when it is.
// Its lag is not judged.
func Follows(members []PatroniMember, name string) string {
	var leaders []PatroniMember
	for _, m := range members {
		if m.Role == patroni.RoleLeader {
			leaders = append(leaders, m)
		}
	}
	i := slices.IndexFunc(members, func(m PatroniMember) bool { return m.Name == name })
	switch {
	case i < 0 || members[i].State == "":
		return "not a Patroni member yet"
	case members[i].Role == patroni.RoleLeader:
		return "is the leader"
	}
	return follows(members, leaders, members[i])
}

func follows(members, leaders []PatroniMember, m PatroniMember) string {
	switch {
	case m.State != "running" && m.State != "streaming", m.State == "running" && !m.Streaming:
		return fmt.Sprintf("replica is %s, not streaming", m.State)
	case !m.Streaming:
		return "replica is not in the leader's list of streaming replicas"
	case m.Silent:
		return "replica does not answer"
	case len(leaders) == 1 && m.Timeline != leaders[0].Timeline:
		return fmt.Sprintf("replica is on timeline %d, the leader on %d", m.Timeline, leaders[0].Timeline)
	}
	return ""
}

// FromPatroni is what Judge takes, from Patroni's /cluster and its leader's own /patroni
// (zero when the leader does not answer: then no replica streams).
func FromPatroni(cl patroni.Cluster, leader patroni.Status) []PatroniMember {
	out := make([]PatroniMember, len(cl.Members))
	for i, m := range cl.Members {
		out[i] = PatroniMember{Name: m.Name, Role: m.Role, State: m.State, Timeline: m.Timeline, Lag: m.Lag,
			Streaming: !m.IsLeader() && leader.Streams(m.Name)}
	}
	return out
}

// LagText is a lag for people: "N bytes", or "unknown".
func LagText(lag *int64) string {
	if lag == nil {
		return "unknown"
	}
	return strconv.FormatInt(*lag, 10) + " bytes"
}
