package view

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pghac/pghac/internal/health"
	"github.com/pghac/pghac/internal/patroni"
)

// Status writes st as a table like patronictl list's, then the verdict.
func Status(w io.Writer, st health.Report) {
	title := fmt.Sprintf("Cluster %s (%s", st.Cluster, st.Target)
	if st.Network != "" {
		title += ", " + st.Network
	}
	fmt.Fprintln(w, title+")")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "MEMBER\tADDRESS\tROLE\tSTATE\tTL\tLAG\tETCD\tHAPROXY"
	withBackend := len(st.Members) > 0 && st.Members[0].Backend != ""
	if withBackend {
		head += "\tBACKEND"
	}
	withTLS := len(st.Members) > 0 && st.Members[0].TLS != ""
	if withTLS {
		head += "\tCERT UNTIL\tPGBOUNCER CERT"
	}
	fmt.Fprintln(tw, head)
	for _, m := range st.Members {
		role := health.RoleText(m.Role)
		state, tl, lag := m.State, "", ""
		if state == "" {
			state = "-"
		}
		if m.Timeline > 0 {
			tl = strconv.Itoa(m.Timeline)
		}
		if m.State != "" && m.Role != patroni.RoleLeader {
			lag = "unknown"
			if m.LagBytes != nil {
				lag = strconv.FormatInt(*m.LagBytes, 10)
			}
		}
		haproxy := m.HAProxy
		if haproxy == "" {
			haproxy = "not checked"
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", m.Name, m.Address, dash(role), state, dash(tl), dash(lag), m.Etcd, haproxy)
		if withBackend {
			row += "\t" + m.Backend
		}
		if withTLS {
			row += "\t" + certCell(m.TLS, m.CertNotAfter) + "\t" + certCell(m.PgBouncerTLS, m.ServiceCertNotAfter)
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
	if st.Healthy {
		if withBackend {
			fmt.Fprintln(w, "Healthy: one leader, every replica streaming, etcd healthy, HAProxy routing and the backend ready on every node.")
		} else {
			fmt.Fprintln(w, "Healthy: one leader, every replica streaming, etcd healthy, HAProxy routing on every node.")
		}
		return
	}
	fmt.Fprintln(w, "Not healthy:")
	for _, p := range st.Problems {
		fmt.Fprintln(w, "  - "+strings.ReplaceAll(p, "\n", "\n    "))
	}
}

// certCell is the end of a certificate a member's server serves (verdict is Member.TLS or
// PgBouncerTLS), marked when it does not verify (Problems says why), or what stopped the check.
func certCell(verdict string, notAfter *time.Time) string {
	switch {
	case verdict == health.TLSOff:
		return "TLS off"
	case notAfter == nil:
		return "unknown"
	case verdict != health.TLSVerified:
		return notAfter.UTC().Format(time.DateOnly) + " (invalid)"
	}
	return notAfter.UTC().Format(time.DateOnly)
}
