package compiler

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// compilePatroni resolves the patroni block; c.Nodes and c.OS must be compiled.
func compilePatroni(d *diags, sc *schema.Cluster, c *model.Cluster) model.Patroni {
	p := model.Patroni{
		Scope: sc.Name, Namespace: "/service/",
		TTL: defaultTTL, LoopWait: defaultLoopWait, RetryTimeout: defaultRetryTimeout,
		SynchronousMode: defaultSynchronousMode, SynchronousModeStrict: defaultSynchronousStrict,
		FailsafeMode: c.OS.SupportsFailsafe, UsePgRewind: defaultUsePgRewind,
		RestAPIPort: defaultRestAPIPort, Watchdog: defaultWatchdog,
	}
	lag, _ := parseSize(defaultMaximumLagOnFailover)
	p.MaximumLagOnFailover = lag
	sp := sc.Patroni
	if sp == nil {
		sp = &schema.Patroni{DefRange: sc.DefRange}
	}
	p.TTL = deref(sp.TTL, p.TTL)
	p.LoopWait = deref(sp.LoopWait, p.LoopWait)
	p.RetryTimeout = deref(sp.RetryTimeout, p.RetryTimeout)
	p.SynchronousMode = deref(sp.SynchronousMode, p.SynchronousMode)
	p.SynchronousModeStrict = deref(sp.SynchronousModeStrict, p.SynchronousModeStrict)
	p.FailsafeMode = deref(sp.FailsafeMode, p.FailsafeMode)
	p.UsePgRewind = deref(sp.UsePgRewind, p.UsePgRewind)
	p.RestAPIPort = deref(sp.RestAPIPort, p.RestAPIPort)
	p.Watchdog = deref(sp.Watchdog, p.Watchdog)

	ttlRange := orRange(sp.TTLRange, sp.TTL != nil, sp.DefRange)
	minimum := func(v, lo int, name string, rng hcl.Range, set bool) bool {
		if v < lo {
			d.patroniTooLow(orRange(rng, set, sp.DefRange), name, v, lo)
			return false
		}
		return true
	}
	ok := minimum(p.TTL, minTTL, "ttl", sp.TTLRange, sp.TTL != nil)
	ok = minimum(p.LoopWait, minLoopWait, "loop_wait", sp.LoopWaitRange, sp.LoopWait != nil) && ok
	ok = minimum(p.RetryTimeout, minRetryTimeout, "retry_timeout", sp.RetryTimeoutRange, sp.RetryTimeout != nil) && ok
	if ok && p.LoopWait+2*p.RetryTimeout > p.TTL {
		d.patroniLeaderLease(ttlRange, p)
	}
	if sp.MaximumLagOnFailover != nil {
		if n, err := parseSize(*sp.MaximumLagOnFailover); err != nil {
			d.invalidSize(sp.MaximumLagOnFailoverRange, "maximum_lag_on_failover", err)
		} else {
			p.MaximumLagOnFailover = n
		}
	}
	if p.FailsafeMode && !c.OS.SupportsFailsafe && c.OS.ImageFamily != "" {
		d.failsafeNotSupported(sp.FailsafeModeRange, c.OS)
	}
	if !contains([]string{"off", "automatic", "required"}, p.Watchdog) {
		d.invalidWatchdog(sp.WatchdogRange, p.Watchdog)
	}
	replicas := len(c.Nodes) - 1
	syncRange := orRange(sp.SynchronousModeRange, sp.SynchronousMode != nil, sc.NameRange)
	switch {
	case c.DevSingleNode:
		// No replica to wait for: the default turns off, and asking for it is a mistake.
		if sp.SynchronousMode == nil {
			p.SynchronousMode = false
		} else if p.SynchronousMode && p.SynchronousModeStrict {
			d.strictSyncWithoutReplicas(sp.SynchronousModeStrictRange)
		} else if p.SynchronousMode {
			d.syncWithoutReplicas(syncRange)
		}
	case p.SynchronousMode && replicas == 1 && p.SynchronousModeStrict:
		d.strictSyncOneReplica(syncRange)
	case p.SynchronousMode && replicas == 1:
		d.syncOneReplica(syncRange)
	}
	return p
}
