package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/internal/sandbox"
)

// waitHealthy polls the sandbox until the cluster is healthy, printing each node's phase when
// it changes: booting, cloud-init, etcd, Patroni, replication, HAProxy, ready. It fails at once
// on a node whose cloud-init failed (a *sandbox.MachineError with its logs), and when ctx ends,
// returning the last status it saw.
func (c *cli) waitHealthy(ctx context.Context, cl *model.Cluster, cfg sandbox.Config, p *prober, start time.Time) (clusterStatus, error) {
	cloudInitDone := map[string]bool{}
	shown := map[string]string{}
	var st clusterStatus
	for {
		phases := map[string]string{}
		allDone := true
		for _, n := range cl.Nodes {
			if cloudInitDone[n.Name] {
				continue
			}
			phase, done, err := cloudInitPhase(ctx, cfg, n.Name)
			if err != nil {
				return st, err
			}
			cloudInitDone[n.Name] = done
			if !done {
				phases[n.Name] = phase
				allDone = false
			}
		}
		// The services start at the end of cloud-init: nothing to ask before.
		if allDone {
			st = p.observe(ctx, cl)
			if st.Healthy {
				for _, m := range st.Members {
					phases[m.Name] = readyPhase(m)
				}
			}
			for i, m := range st.Members {
				if _, ok := phases[m.Name]; !ok {
					phases[m.Name] = servicePhase(m, st.Members[i].HAProxy)
				}
			}
		} else {
			for _, n := range cl.Nodes {
				if cloudInitDone[n.Name] {
					phases[n.Name] = "cloud-init done, waiting for the other nodes"
				}
			}
		}
		for _, n := range cl.Nodes {
			if ph := phases[n.Name]; ph != shown[n.Name] {
				fmt.Fprintf(c.stdout, "  [%4ds] %-12s %s\n", int(time.Since(start).Seconds()), n.Name, ph)
				shown[n.Name] = ph
			}
		}
		if allDone && st.Healthy {
			return st, nil
		}
		select {
		case <-ctx.Done():
			var waiting []string
			for _, n := range cl.Nodes {
				if !strings.HasPrefix(shown[n.Name], "ready") {
					waiting = append(waiting, n.Name+" ("+shown[n.Name]+")")
				}
			}
			return st, fmt.Errorf("the cluster did not become healthy: %s: %w", strings.Join(waiting, ", "), ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// cloudInitPhase asks machine name's cloud-init how far it is. A machine that does not answer
// yet is booting. A failed cloud-init is a *sandbox.MachineError.
func cloudInitPhase(ctx context.Context, cfg sandbox.Config, name string) (phase string, done bool, err error) {
	out, _, xerr := sandbox.Exec(ctx, cfg, name, "cloud-init", "status", "--format", "json")
	var st sandbox.CloudInitStatus
	// cloud-init status exits non-zero on error, and still prints its JSON.
	if jerr := json.Unmarshal(out, &st); jerr != nil || st.Status == "" {
		if xerr != nil {
			return "booting", false, nil
		}
		return "cloud-init starting", false, nil
	}
	switch st.Status {
	case "done":
		if len(st.Errors) == 0 {
			return "cloud-init done", true, nil
		}
	case "error", "disabled":
	default:
		return "cloud-init " + st.Status, false, nil
	}
	problem := "cloud-init ended with status " + st.Status
	if len(st.Errors) > 0 {
		problem += ": " + strings.Join(st.Errors, "; ")
	}
	logCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return "", false, &sandbox.MachineError{Machine: name, Problem: problem, Logs: sandbox.Logs(logCtx, cfg, name)}
}

// servicePhase says what a node whose cloud-init is done waits for.
func servicePhase(m memberStatus, haproxy string) string {
	switch {
	case m.Etcd != "healthy" && m.Etcd != "not a member":
		return "etcd " + m.Etcd
	case m.State == "":
		return "Patroni starting"
	case m.Role == roleLeader && m.State != "running":
		return "Patroni leader, " + m.State
	case m.Role != roleLeader && m.State != "streaming":
		return "Patroni " + roleText(m.Role) + ", " + m.State
	case m.Role != roleLeader && (m.LagBytes == nil || *m.LagBytes != 0):
		return "replication: streaming, lag " + lagText(m.LagBytes)
	case haproxy != "ok" && haproxy != "":
		return "HAProxy " + haproxy
	}
	return "waiting for the other nodes"
}

func readyPhase(m memberStatus) string {
	if m.Role == roleLeader {
		return "ready: Leader"
	}
	return "ready: " + roleText(m.Role) + ", streaming, lag 0"
}

func roleText(role string) string {
	if r, ok := roleNames[role]; ok {
		return r
	}
	return role
}

// prefixWriter writes every line with a prefix (Terraform's and the image build's progress,
// indented under pghac's own lines).
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return len(b), nil
	}
	_, err := io.WriteString(p.w, p.prefix+strings.ReplaceAll(s, "\n", "\n"+p.prefix)+"\n")
	return len(b), err
}
