package compiler

import (
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

func compileHAProxy(d *diags, sh *schema.HAProxy) model.HAProxy {
	h := model.HAProxy{PrimaryPort: defaultPrimaryPort, ReplicaPort: defaultReplicaPort, StatsPort: defaultStatsPort,
		MaxConn: defaultHAProxyMaxCon, Check: model.HealthCheck{Inter: defaultCheckInter, Fall: defaultCheckFall, Rise: defaultCheckRise}}
	h.ReplicaMaxLagBytes, _ = parseSize(defaultReplicaMaxLag)
	if sh == nil {
		return h
	}
	h.PrimaryPort = deref(sh.PrimaryPort, h.PrimaryPort)
	h.ReplicaPort = deref(sh.ReplicaPort, h.ReplicaPort)
	h.StatsPort = deref(sh.StatsPort, h.StatsPort)
	h.MaxConn = positive(d, sh.MaxConn, h.MaxConn, "maxconn", sh.MaxConnRange)
	if sh.ReplicaMaxLag != nil {
		if n, err := parseSize(*sh.ReplicaMaxLag); err != nil {
			d.invalidSize(sh.ReplicaMaxLagRange, "replica_max_lag", err)
		} else {
			h.ReplicaMaxLagBytes = n
		}
	}
	if ck := sh.Check; ck != nil {
		h.Check.Inter = duration(d, ck.Inter, h.Check.Inter, "inter", ck.InterRange, time.Millisecond)
		h.Check.Fall = positive(d, ck.Fall, h.Check.Fall, "fall", ck.FallRange)
		h.Check.Rise = positive(d, ck.Rise, h.Check.Rise, "rise", ck.RiseRange)
		switch {
		case h.Check.Inter <= 0:
			// "0s" parses; HAProxy would refuse it, after the build.
			d.checkIntervalNotPositive(ck.InterRange, h.Check.Inter)
		case h.Check.Inter < 100*time.Millisecond:
			d.checkTooFrequent(ck.InterRange, h.Check.Inter)
		}
		if slow := h.Check.Inter * time.Duration(h.Check.Fall); slow > 5*time.Second {
			d.slowHealthChecks(ck.InterRange, slow)
		}
	}
	return h
}
