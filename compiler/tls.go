package compiler

import (
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// The bounds of a certificate's lifetime: a day (the nodes' clocks may differ by minutes,
// and a rollout takes some) and the authority's own ten years.
const (
	minCertLifetime = 24 * time.Hour
	maxCertLifetime = 3650 * 24 * time.Hour
)

// dnsNameRE is a DNS name a certificate may hold: dot-separated labels of letters, digits and
// inner hyphens, optionally under one leading wildcard label.
var dnsNameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func compileTLS(d *diags, sc *schema.Cluster) model.TLS {
	t := model.TLS{Lifetime: time.Duration(defaultCertLifetimeDays) * 24 * time.Hour, RenewBefore: time.Duration(defaultRenewBeforeDays) * 24 * time.Hour}
	st := sc.TLS
	if st == nil {
		return t
	}
	seen := map[string]bool{}
	for _, n := range st.ExtraNames {
		name := strings.ToLower(n.Value)
		switch {
		case seen[name]:
			d.duplicateExtraName(n.Range, n.Value)
			continue
		case len(name) > 253:
			d.invalidExtraName(n.Range, n.Value)
			continue
		}
		seen[name] = true
		if a, err := netip.ParseAddr(name); err == nil {
			t.ExtraIPs = append(t.ExtraIPs, a.Unmap())
		} else if dnsNameRE.MatchString(name) {
			t.ExtraDNSNames = append(t.ExtraDNSNames, name)
		} else {
			d.invalidExtraName(n.Range, n.Value)
		}
	}
	if st.Lifetime != nil {
		days, err := parseDays(*st.Lifetime)
		life := time.Duration(days) * 24 * time.Hour
		switch {
		case err != nil:
			d.invalidCertLifetime(st.LifetimeRange, err.Error())
		case life < minCertLifetime || life > maxCertLifetime:
			d.invalidCertLifetime(st.LifetimeRange, *st.Lifetime+" is not between 1d and 3650d (the authority's own lifetime)")
		default:
			t.Lifetime = life
		}
	}
	if st.RenewBefore != nil {
		days, err := parseDays(*st.RenewBefore)
		if err != nil {
			d.invalidRenewBefore(st.RenewBeforeRange, err.Error())
		} else {
			t.RenewBefore = time.Duration(days) * 24 * time.Hour
		}
	}
	if t.Lifetime <= t.RenewBefore {
		rng := st.LifetimeRange
		if st.Lifetime == nil {
			rng = st.RenewBeforeRange
		}
		d.lifetimeWithinRenewal(rng, t.Lifetime, t.RenewBefore)
	}
	return t
}
