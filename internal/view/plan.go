package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/provision"
)

var actionLabels = map[infra.Action]struct{ sym, word, color string }{
	infra.ActionCreate:  {"+", "create", "32"},
	infra.ActionUpdate:  {"~", "update", "33"},
	infra.ActionReplace: {"-/+", "REPLACE", "1;31"},
	infra.ActionDelete:  {"-", "DESTROY", "1;31"},
	infra.ActionRead:    {"<=", "read", "36"},
	infra.ActionForget:  {".", "forget", "33"},
}

// Plan writes Terraform's rendering of p, when it changes anything, and PlanSummary's.
func Plan(w io.Writer, title string, p *infra.Plan, nodes []string, color bool) {
	if p.Info.HasChanges {
		fmt.Fprint(w, strings.Trim(p.Text, "\n")+"\n\n")
	}
	if p.Summary.Empty() {
		fmt.Fprintf(w, "%s: no changes; the infrastructure matches the configuration.\n", Ansi(color, "1", title))
		return
	}
	PlanSummary(w, title, p, nodes, color)
}

// PlanSummary writes what a plan does: the tally, one line per resource, the outputs that
// change, and, loudly, the database VMs (named by nodes) it replaces or destroys. It returns
// how many of those there are.
func PlanSummary(w io.Writer, title string, p *infra.Plan, nodes []string, color bool) int {
	s := p.Summary
	fmt.Fprintf(w, "%s: %s\n", Ansi(color, "1", title), s.Counts())
	for _, ch := range s.Changes {
		l := actionLabels[ch.Action]
		line := fmt.Sprintf("  %-3s %-7s %s", l.sym, l.word, ch.Address)
		if ch.Deposed {
			line += " (deposed object)"
		}
		if len(ch.ReplacePaths) > 0 {
			line += "  (forced by " + strings.Join(ch.ReplacePaths, ", ") + ")"
		}
		fmt.Fprintln(w, Ansi(color, l.color, line))
	}
	if len(s.Outputs) > 0 {
		fmt.Fprint(w, wrapList("  outputs that change: ", s.Outputs, 100))
	}
	loud := func(format string, args ...any) {
		fmt.Fprintln(w, Ansi(color, "1;31", "!!! "+fmt.Sprintf(format, args...)))
	}
	if sec := provision.SecretsLosses(p); len(sec) > 0 {
		fmt.Fprintln(w)
		for _, ch := range sec {
			loud("WARNING: this plan %s %s, which holds (or encrypts) the cluster's secrets: a node made afterwards cannot boot.", verb(ch), ch.Address)
		}
		loud("The cloud refuses while its deletion protection is on (deletion_protection in cluster.hcl).")
	}
	if repo := provision.RepositoryLosses(p); len(repo) > 0 {
		fmt.Fprintln(w)
		for _, ch := range repo {
			if ch.Type == "yandex_kms_symmetric_key" {
				loud("WARNING: this plan %s the KMS key %s that encrypts the backups: without it none can be read again.", verb(ch), ch.Address)
				loud("The cloud refuses while the key's deletion protection is on.")
			} else {
				loud("WARNING: this plan %s the backup bucket %s, and every backup in it.", verb(ch), ch.Address)
				loud("Terraform refuses while the bucket holds any (force_destroy is off): it goes only once emptied by hand.")
			}
		}
	}
	losses := provision.DataLosses(p, nodes)
	if len(losses) == 0 {
		return 0
	}
	fmt.Fprintln(w)
	if p.Info.Destroy {
		lost := make([]string, len(losses))
		for i, l := range losses {
			lost[i] = l.Node
		}
		loud("WARNING: this plan DESTROYS the database VMs %s, and the data on them.", strings.Join(lost, ", "))
		return len(losses)
	}
	for _, l := range losses {
		if ch := l.Change; ch.Action == infra.ActionReplace {
			loud("WARNING: this plan REPLACES database VM %s (%s).", l.Node, ch.Address)
			loud("Its disk and the PostgreSQL data on it are lost; the new, empty VM rejoins the cluster")
			loud("and copies the data from the primary, and until then the cluster runs one node short.")
			if len(ch.ReplacePaths) > 0 {
				loud("The replacement is forced by a change to: %s", strings.Join(ch.ReplacePaths, ", "))
			}
		} else {
			loud("WARNING: this plan DESTROYS database VM %s (%s) and the PostgreSQL data on it.", l.Node, ch.Address)
		}
	}
	return len(losses)
}

// verb is what a destructive change does, in the warnings' capitals.
func verb(ch infra.Change) string {
	if ch.Action == infra.ActionReplace {
		return "REPLACES"
	}
	return "DELETES"
}
