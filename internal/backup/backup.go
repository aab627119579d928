// Package backup reads what pgBackRest and PostgreSQL say about a cluster's backups: the
// repository's backups (pgbackrest info's JSON), the WAL archiver's progress
// (pg_stat_archiver and the segments waiting in pg_wal), and what follows from them: the last
// good backup, the window a point-in-time restore can reach, and the problems to report. It
// parses; internal/provision runs the commands on the nodes.
package backup

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Backup is one backup in the repository.
type Backup struct {
	Label string
	// Type is "full", "diff" or "incr".
	Type        string
	Start, Stop time.Time
	// Size is the database's size; RepoSize the backup's in the repository, compressed,
	// with what it shares with its prior backups.
	Size, RepoSize int64
	// Delta is what this backup copied (its prior backups hold the rest).
	Delta, RepoDelta int64
	// WALStart and WALStop are the segments the backup needs to be consistent.
	WALStart, WALStop string
	Prior             string
	// Error: pgBackRest found page checksum errors while copying.
	Error bool
}

// Info is a stanza as pgbackrest info shows it.
type Info struct {
	Stanza string
	// Code and Message are the stanza's status: 0 "ok", 1 "missing stanza path", 2 "no
	// valid backups", 99 "other" (then RepoMessage says what, e.g. the bucket's error).
	Code        int
	Message     string
	RepoMessage string
	// BackupRunning: a backup holds the stanza's lock now.
	BackupRunning bool
	Backups       []Backup // oldest first
	// ArchiveMin and ArchiveMax are the oldest and newest WAL segments in the repository.
	ArchiveMin, ArchiveMax string
}

// pgBackRest's info JSON, the parts pghac reads.
type infoJSON struct {
	Name    string `json:"name"`
	Archive []struct {
		Min string `json:"min"`
		Max string `json:"max"`
	} `json:"archive"`
	Backup []struct {
		Label   string `json:"label"`
		Type    string `json:"type"`
		Error   bool   `json:"error"`
		Prior   string `json:"prior"`
		Archive struct {
			Start string `json:"start"`
			Stop  string `json:"stop"`
		} `json:"archive"`
		Info struct {
			Size       int64 `json:"size"`
			Delta      int64 `json:"delta"`
			Repository struct {
				Size  int64 `json:"size"`
				Delta int64 `json:"delta"`
			} `json:"repository"`
		} `json:"info"`
		Timestamp struct {
			Start int64 `json:"start"`
			Stop  int64 `json:"stop"`
		} `json:"timestamp"`
	} `json:"backup"`
	Repo []struct {
		Status statusJSON `json:"status"`
	} `json:"repo"`
	Status struct {
		statusJSON
		Lock struct {
			Backup struct {
				Held bool `json:"held"`
			} `json:"backup"`
		} `json:"lock"`
	} `json:"status"`
}

type statusJSON struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ParseInfo reads `pgbackrest --stanza=STANZA --output=json info`.
func ParseInfo(b []byte, stanza string) (Info, error) {
	var all []infoJSON
	if err := json.Unmarshal(b, &all); err != nil {
		return Info{}, fmt.Errorf("pgbackrest info: %w", err)
	}
	for _, s := range all {
		if s.Name != stanza {
			continue
		}
		in := Info{Stanza: s.Name, Code: s.Status.Code, Message: s.Status.Message, BackupRunning: s.Status.Lock.Backup.Held}
		for _, r := range s.Repo {
			if r.Status.Code != 0 {
				in.RepoMessage = r.Status.Message
			}
		}
		if n := len(s.Archive); n > 0 {
			in.ArchiveMin, in.ArchiveMax = s.Archive[0].Min, s.Archive[n-1].Max
		}
		for _, bj := range s.Backup {
			in.Backups = append(in.Backups, Backup{
				Label: bj.Label, Type: bj.Type, Error: bj.Error, Prior: bj.Prior,
				Start: time.Unix(bj.Timestamp.Start, 0).UTC(), Stop: time.Unix(bj.Timestamp.Stop, 0).UTC(),
				Size: bj.Info.Size, Delta: bj.Info.Delta, RepoSize: bj.Info.Repository.Size, RepoDelta: bj.Info.Repository.Delta,
				WALStart: bj.Archive.Start, WALStop: bj.Archive.Stop,
			})
		}
		return in, nil
	}
	return Info{}, fmt.Errorf("pgbackrest info: no stanza %q in its output", stanza)
}

// Problem says plainly what is wrong with the repository, "" when nothing is: it cannot be
// reached or refuses pghac (the bucket's own error), or lacks the stanza. A repository with
// no backup yet is not a problem (a new cluster's first one is minutes away): Last says so.
func (i Info) Problem() string {
	switch i.Code {
	case 0, 2: // 2: no valid backup yet
		return ""
	case 1:
		return fmt.Sprintf("the repository has no stanza %q: WAL is not archived and no backup can be taken (pghac backup now creates it)", i.Stanza)
	}
	why := i.RepoMessage
	if why == "" {
		why = i.Message
	}
	return "the backup repository cannot be used: " + why
}

// Last is the newest backup, if there is one.
func (i Info) Last() (Backup, bool) {
	if len(i.Backups) == 0 {
		return Backup{}, false
	}
	return i.Backups[len(i.Backups)-1], true
}

// Earliest is the earliest time a point-in-time restore can reach: the end of the oldest
// backup, the first moment it is consistent.
func (i Info) Earliest() (time.Time, bool) {
	if len(i.Backups) == 0 {
		return time.Time{}, false
	}
	return i.Backups[0].Stop, true
}

// Archiver is the WAL archiver of the primary: pg_stat_archiver and the segments waiting in
// pg_wal.
type Archiver struct {
	LastArchived    time.Time // zero when nothing was archived since the statistics began
	LastArchivedWAL string
	LastFailed      time.Time
	LastFailedWAL   string
	Failed          int64
	// Now is the server's clock when it answered, against which ages are measured.
	Now time.Time
	// Waiting is how many WAL segments wait to be archived.
	Waiting int
}

// ArchiverCommand prints, as postgres on the primary, pg_stat_archiver's row and the number
// of segments waiting in dataDir's pg_wal, for ParseArchiver.
func ArchiverCommand(dataDir string) string {
	q := `SELECT coalesce(extract(epoch FROM last_archived_time)::bigint, 0), coalesce(last_archived_wal, ''), ` +
		`coalesce(extract(epoch FROM last_failed_time)::bigint, 0), coalesce(last_failed_wal, ''), failed_count, ` +
		`extract(epoch FROM now())::bigint FROM pg_stat_archiver`
	return "runuser -u postgres -- psql -XAt -F '|' -c \"" + q + "\" && " +
		"ls " + dataDir + "/pg_wal/archive_status | grep -c '[.]ready$' || true"
}

// ParseArchiver reads ArchiverCommand's output.
func ParseArchiver(out []byte) (Archiver, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return Archiver{}, fmt.Errorf("archiver status: want two lines, got %q", out)
	}
	f := strings.Split(lines[0], "|")
	if len(f) != 6 {
		return Archiver{}, fmt.Errorf("archiver status: want 6 fields, got %q", lines[0])
	}
	var nums [4]int64
	for i, idx := range []int{0, 2, 4, 5} {
		n, err := strconv.ParseInt(f[idx], 10, 64)
		if err != nil {
			return Archiver{}, fmt.Errorf("archiver status: %q: %w", lines[0], err)
		}
		nums[i] = n
	}
	waiting, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil {
		return Archiver{}, fmt.Errorf("archiver status: waiting segments %q: %w", lines[1], err)
	}
	a := Archiver{LastArchivedWAL: f[1], LastFailedWAL: f[3], Failed: nums[2], Now: time.Unix(nums[3], 0).UTC(), Waiting: waiting}
	if nums[0] > 0 {
		a.LastArchived = time.Unix(nums[0], 0).UTC()
	}
	if nums[1] > 0 {
		a.LastFailed = time.Unix(nums[1], 0).UTC()
	}
	return a, nil
}

// Failing reports whether the last attempt to archive failed (no success since).
func (a Archiver) Failing() bool { return !a.LastFailed.IsZero() && a.LastFailed.After(a.LastArchived) }

// walSegment is PostgreSQL's WAL segment size.
const walSegment = 16 << 20

// WaitingBytes is the WAL waiting to be archived.
func (a Archiver) WaitingBytes() int64 { return int64(a.Waiting) * walSegment }

// Lag is how long ago a segment was last archived.
func (a Archiver) Lag() time.Duration {
	if a.LastArchived.IsZero() {
		return 0
	}
	return a.Now.Sub(a.LastArchived)
}

// Problem says what is wrong with archiving, "" when nothing is: it fails, or the WAL
// waiting nears queueMax, past which pgBackRest drops WAL (a gap in point-in-time recovery)
// rather than fill the disk.
func (a Archiver) Problem(queueMax int64) string {
	var parts []string
	if a.Failing() {
		parts = append(parts, fmt.Sprintf("WAL archiving fails (last failure %s ago, on %s; last success %s)",
			round(a.Now.Sub(a.LastFailed)), a.LastFailedWAL, ago(a.LastArchived, a.Now)))
	}
	if queueMax > 0 && a.WaitingBytes() >= queueMax/2 {
		parts = append(parts, fmt.Sprintf("%s of WAL waits to be archived, of %s a node keeps: past that pgBackRest drops WAL and point-in-time recovery gets a gap",
			Bytes(a.WaitingBytes()), Bytes(queueMax)))
	}
	return strings.Join(parts, "; ")
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return round(now.Sub(t)) + " ago"
}

func round(d time.Duration) string { return d.Round(time.Second).String() }

// Bytes formats n in binary units, as pgBackRest and PostgreSQL do.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}

// Latest is the latest time a point-in-time restore can reach: now when every segment is
// archived, else when the last one was.
func (a Archiver) Latest() time.Time {
	if a.Waiting == 0 && !a.Failing() {
		return a.Now
	}
	return a.LastArchived
}

// CheckTarget refuses a restore target outside what the repository can reach: before the end
// of its oldest backup, or after the archive.
func (i Info) CheckTarget(t time.Time, a Archiver) error {
	earliest, ok := i.Earliest()
	if !ok {
		return fmt.Errorf("the repository holds no backup: there is nothing to restore")
	}
	if t.Before(earliest) {
		return fmt.Errorf("%s is earlier than the oldest backup can reach: backup %s ended at %s, the earliest point it restores to",
			t.UTC().Format(time.RFC3339), i.Backups[0].Label, earliest.Format(time.RFC3339))
	}
	if latest := a.Latest(); t.After(latest) {
		return fmt.Errorf("%s is later than the WAL archive reaches (%s): the archive holds nothing after it",
			t.UTC().Format(time.RFC3339), latest.Format(time.RFC3339))
	}
	return nil
}

// Report is the state of a cluster's backups: the repository as pgBackRest describes it, and
// the leader's WAL archiver. Either may be missing, with its error.
type Report struct {
	Leader      string
	Info        Info
	InfoErr     error
	Archiver    Archiver
	ArchiverErr error
	// QueueMax is the WAL a node keeps for the archive, past which pgBackRest drops it.
	QueueMax int64
}

// Problems are what is wrong with the backups, plainly; none when nothing is.
func (r Report) Problems() []string {
	var out []string
	if r.InfoErr != nil {
		out = append(out, "the repository: "+r.InfoErr.Error())
	} else if p := r.Info.Problem(); p != "" {
		out = append(out, p)
	}
	if r.ArchiverErr != nil {
		out = append(out, "the WAL archiver: "+r.ArchiverErr.Error())
	} else if p := r.Archiver.Problem(r.QueueMax); p != "" {
		out = append(out, p)
	}
	return out
}
