package compiler

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// compileEtcd resolves the etcd block; the members are c's etcd nodes, so c.Nodes must be
// compiled.
func compileEtcd(d *diags, sc *schema.Cluster, c *model.Cluster) model.Etcd {
	e := model.Etcd{ClientPort: defaultEtcdClientPort, PeerPort: defaultEtcdPeerPort, Token: "pghac-" + sc.Name,
		HeartbeatInterval: defaultEtcdHeartbeat, ElectionTimeout: defaultEtcdElection}
	for _, n := range c.EtcdNodes() {
		e.Members = append(e.Members, n.Name)
	}
	se := sc.Etcd
	if se == nil {
		return e
	}
	e.ClientPort = deref(se.ClientPort, e.ClientPort)
	e.PeerPort = deref(se.PeerPort, e.PeerPort)
	hbOK := raftTiming(d, se.HeartbeatInterval, &e.HeartbeatInterval, "heartbeat_interval", se.HeartbeatIntervalRange)
	elOK := raftTiming(d, se.ElectionTimeout, &e.ElectionTimeout, "election_timeout", se.ElectionTimeoutRange)
	hb, el := e.HeartbeatInterval, e.ElectionTimeout
	if elOK && el > maxEtcdElection {
		d.etcdElectionTooLong(se.ElectionTimeoutRange, el)
		return e
	}
	if !elOK || !hbOK {
		return e
	}
	// A rule between the two belongs to the one the user wrote; election_timeout when both.
	ruleRange := orRange(se.ElectionTimeoutRange, se.ElectionTimeout != nil, se.HeartbeatIntervalRange)
	defaulted := se.ElectionTimeout == nil
	if el < minEtcdElectionHeartbeats*hb {
		d.etcdElectionTooShort(ruleRange, el, hb, defaulted)
	} else if el%hb != 0 {
		// etcd counts the timeout in whole heartbeats, rounding down.
		d.etcdElectionNotMultiple(ruleRange, el, hb, defaulted)
	}
	return e
}

// raftTiming sets *dst from an etcd timing attribute, when it is set and valid: a positive
// whole number of milliseconds, which is all etcd's flags take. It reports whether the value
// (or the default) can be used.
func raftTiming(d *diags, v *string, dst *time.Duration, name string, rng hcl.Range) bool {
	if v == nil {
		return true
	}
	if strings.HasPrefix(strings.TrimSpace(*v), "-") {
		d.raftTimingNegative(rng, name, *v)
		return false
	}
	n := len(d.Diagnostics)
	dur := duration(d, v, 0, name, rng, time.Millisecond)
	switch {
	case len(d.Diagnostics) > n:
		return false
	case dur == 0:
		d.raftTimingZero(rng, name, *v)
		return false
	}
	*dst = dur
	return true
}
