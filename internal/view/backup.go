package view

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pghac/pghac/internal/backup"
)

// stamp is how times of backups show: UTC, to the second.
const stamp = "2006-01-02 15:04:05"

// Backups writes the repository's backups, oldest first, the window a point-in-time restore
// reaches, the WAL archiver's state and the problems.
func Backups(w io.Writer, where string, r backup.Report) {
	fmt.Fprintf(w, "Backups of %s, asked on %s (the leader)\n", where, r.Leader)
	if r.InfoErr == nil && len(r.Info.Backups) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "LABEL\tTYPE\tSTARTED (UTC)\tTOOK\tDATABASE\tIN REPOSITORY\tCOPIED")
		for _, b := range r.Info.Backups {
			typ := b.Type
			if b.Error {
				typ += " (page checksum errors)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Label, typ, b.Start.Format(stamp), b.Stop.Sub(b.Start),
				backup.Bytes(b.Size), backup.Bytes(b.RepoSize), backup.Bytes(b.RepoDelta))
		}
		tw.Flush()
	} else if r.InfoErr == nil && r.Info.Problem() == "" {
		fmt.Fprintln(w, "No backup yet.")
	}
	if r.InfoErr == nil && r.ArchiverErr == nil {
		if earliest, ok := r.Info.Earliest(); ok {
			latest := r.Archiver.Latest()
			to := latest.Format(stamp)
			if latest.Equal(r.Archiver.Now) {
				to += " (now)"
			}
			fmt.Fprintf(w, "Point-in-time recovery reaches from %s to %s UTC.\n", earliest.Format(stamp), to)
		}
	}
	if r.ArchiverErr == nil {
		fmt.Fprintf(w, "WAL archive: %s; %s waiting.\n", archived(r.Archiver), Plural(r.Archiver.Waiting, "segment"))
	}
	problems(w, r.Problems())
}

// BackupSummary is the backups' part of pghac status: the last backup and its age, the WAL
// archive's lag, and the problems.
func BackupSummary(w io.Writer, r backup.Report, now time.Time) {
	var parts []string
	switch last, ok := r.Info.Last(); {
	case r.InfoErr != nil || r.Info.Problem() != "": // the problems below say why
	case ok:
		parts = append(parts, fmt.Sprintf("last backup %s (%s) ended %s ago", last.Label, last.Type, now.Sub(last.Stop).Round(time.Second)))
	default:
		parts = append(parts, "no backup yet")
	}
	if r.ArchiverErr == nil {
		parts = append(parts, "WAL archive: "+archived(r.Archiver)+", "+Plural(r.Archiver.Waiting, "segment")+" waiting")
	}
	fmt.Fprintf(w, "Backups: %s.\n", strings.Join(parts, "; "))
	problems(w, r.Problems())
}

func archived(a backup.Archiver) string {
	if a.LastArchived.IsZero() {
		return "nothing archived yet"
	}
	return fmt.Sprintf("last segment archived %s ago", a.Lag().Round(time.Second))
}

func problems(w io.Writer, ps []string) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintln(w, "Backup problems:")
	for _, p := range ps {
		fmt.Fprintln(w, "  - "+strings.ReplaceAll(p, "\n", "\n    "))
	}
}

// BackupStatus is the backups' part of pghac status --json.
type BackupStatus struct {
	Leader string `json:"leader"`
	// LastBackup is the newest backup's label, type and end; absent when there is none.
	LastBackup *LastBackup `json:"last_backup,omitempty"`
	// ArchiveLagSeconds is how long ago the last WAL segment was archived; WALWaiting how
	// many segments wait.
	ArchiveLagSeconds *float64 `json:"archive_lag_seconds,omitempty"`
	WALWaiting        *int     `json:"wal_waiting,omitempty"`
	Problems          []string `json:"problems"`
}

// LastBackup is the newest backup in the repository.
type LastBackup struct {
	Label      string    `json:"label"`
	Type       string    `json:"type"`
	Stop       time.Time `json:"stop"`
	AgeSeconds float64   `json:"age_seconds"`
}

// BackupJSON is r as BackupStatus, nil for nil.
func BackupJSON(r *backup.Report, now time.Time) *BackupStatus {
	if r == nil {
		return nil
	}
	out := &BackupStatus{Leader: r.Leader, Problems: r.Problems()}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	if last, ok := r.Info.Last(); ok && r.InfoErr == nil {
		out.LastBackup = &LastBackup{Label: last.Label, Type: last.Type, Stop: last.Stop, AgeSeconds: now.Sub(last.Stop).Seconds()}
	}
	if r.ArchiverErr == nil {
		lag, waiting := r.Archiver.Lag().Seconds(), r.Archiver.Waiting
		out.ArchiveLagSeconds, out.WALWaiting = &lag, &waiting
	}
	return out
}
