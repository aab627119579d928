package drill

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Outcome is what a writer learned about one write attempt. The zero value is not
// an outcome: a write recorded without one is a checker input error, so that a
// forgotten field is never read as "acknowledged".
type Outcome int

const (
	// Acked: the COMMIT returned success; the write must survive.
	Acked Outcome = iota + 1
	// Failed: the server answered with an error before committing (for example
	// "cannot execute INSERT in a read-only transaction", or the connection was
	// refused): the write did not happen.
	Failed
	// Unknown: no answer (timeout, connection reset while the COMMIT was in
	// flight): the write may or may not have happened, and either is correct.
	Unknown
)

var outcomeNames = [...]string{Acked: "acked", Failed: "failed", Unknown: "unknown"}

// String returns "acked", "failed", "unknown", or "outcome(N)" for an invalid value.
func (o Outcome) String() string {
	if o >= Acked && o <= Unknown {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText encodes a valid outcome as its name; an invalid one is an error.
func (o Outcome) MarshalText() ([]byte, error) {
	if o < Acked || o > Unknown {
		return nil, fmt.Errorf("drill: invalid write outcome %d", int(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText accepts "acked", "failed" and "unknown".
func (o *Outcome) UnmarshalText(b []byte) error {
	for v := Acked; v <= Unknown; v++ {
		if string(b) == outcomeNames[v] {
			*o = v
			return nil
		}
	}
	return fmt.Errorf("drill: unknown write outcome %q (want acked, failed or unknown)", b)
}

// Write is one insert attempt of a unique ID, as the writer recorded it.
//
// Server and Timeline identify the PostgreSQL server that acknowledged the write,
// asked in the same transaction (INSERT ... RETURNING). Server must be the member
// name the monitor uses (Patroni's name for the node), so it can be compared with
// the leader lock. Timeline must be computed the way Patroni reports a primary's
// timeline, from the current WAL file name
// (('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int),
// not from pg_control_checkpoint(), which keeps the old timeline after a promotion
// until the next checkpoint. Zero means not known and skips the timeline rule.
type Write struct {
	ID       int64     `json:"id"`
	Node     string    `json:"node"` // where the write was sent (the node's HAProxy)
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Outcome  Outcome   `json:"outcome"`
	Err      string    `json:"err,omitempty"`
	Server   string    `json:"server,omitempty"` // member that acknowledged (Acked only)
	Timeline int       `json:"timeline,omitempty"`
}

// Read is one read attempt.
type Read struct {
	Node  string    `json:"node"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	OK    bool      `json:"ok"`
	Err   string    `json:"err,omitempty"`
}

// LeaderSample is one look at the cluster by the monitor: who held the leader lock
// in the DCS and what each member reported.
//
// At should be when the answer arrived: the state it shows is then no later than
// At, which keeps the checker's bracketing of writes conservative. A sample that
// could not be taken (DCS unreachable from the monitor) has Err set; it says
// nothing about the lock and the checker skips it, rather than read it as "no
// leader".
type LeaderSample struct {
	At      time.Time      `json:"at"`
	Leader  string         `json:"leader"` // lock holder; "" when the key is absent
	Members []MemberSample `json:"members,omitempty"`
	Err     string         `json:"err,omitempty"`
}

// MemberSample is one member as Patroni reports it (patronictl list / GET /cluster).
type MemberSample struct {
	Name     string `json:"name"`
	Role     string `json:"role"`  // leader, replica, sync_standby, ...
	State    string `json:"state"` // running, streaming, stopped, ...
	Timeline int    `json:"timeline,omitempty"`
	Lag      *int64 `json:"lag,omitempty"` // a replica's lag in bytes; nil when not known
	// Alive: the member's own REST API answered just before the sample. /cluster is
	// read from the DCS, where a dead member's last report stays until its lease
	// expires.
	Alive bool `json:"alive,omitempty"`
	// Streaming: the leader's own PostgreSQL lists this replica as streaming
	// (pg_stat_replication, through the leader's GET /patroni).
	Streaming bool `json:"streaming,omitempty"`
}

// History is everything one drill recorded: the input of Check.
//
// FaultAt is when the fault was injected (zero for a run without a fault); HealAt
// when it was undone (zero when the scenario has no heal step, e.g. a switchover).
// FinalIDs are the ids present on the final primary once the cluster was healthy
// again; nil means they were never read (an input error), an empty non-nil slice
// means the table was empty. RecoveredAt is the first time after the fault at which
// all members were healthy with zero lag; zero if that never happened.
type History struct {
	Scenario    string         `json:"scenario"`
	FaultAt     time.Time      `json:"fault_at,omitzero"`
	HealAt      time.Time      `json:"heal_at,omitzero"`
	RecoveredAt time.Time      `json:"recovered_at,omitzero"`
	Writes      []Write        `json:"writes"`
	Reads       []Read         `json:"reads"`
	Samples     []LeaderSample `json:"samples"`
	FinalIDs    []int64        `json:"final_ids"`
	// Libpq are the libpq clients' sessions after the fault.
	Libpq []LibpqProbe `json:"libpq,omitempty"`
	// RestoreTarget is the point in time a restore drill brought the cluster back to (the
	// heal): the writes acknowledged after it, before the restore, are meant to be gone.
	RestoreTarget time.Time `json:"restore_target,omitzero"`
}

// LibpqProbe is a libpq client asking for a session after the fault, as HA guides tell
// applications to connect: a multi-host connection string over every node's HAProxy port
// with target_session_attrs. libpq takes the server's word for what it is, from the
// parameters it reports at login (in_hot_standby), so a pooler that reports stale ones keeps
// such clients out. The probe retried until it got a session of the kind it asked for.
type LibpqProbe struct {
	Attrs string `json:"target_session_attrs"` // read-write or read-only
	Port  int    `json:"port"`
	// From is when it started: when the new leader was first seen, else the recovery.
	From      time.Time `json:"from"`
	Connected time.Time `json:"connected,omitzero"` // the first session of the right kind; zero: none
	Server    string    `json:"server,omitempty"`   // the member that session reached
	Attempts  int       `json:"attempts"`
	LastErr   string    `json:"last_err,omitempty"` // of the last failed attempt
}

// WriteJSON writes the history as indented JSON.
func (h History) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("drill: encode history %q: %w", h.Scenario, err)
	}
	return nil
}

// ReadHistory decodes a history written by WriteJSON. Unknown fields are errors, so a
// misspelt field is not silently dropped.
func ReadHistory(r io.Reader) (History, error) {
	var h History
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return History{}, fmt.Errorf("drill: decode history: %w", err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return History{}, fmt.Errorf("drill: decode history: trailing data after the history object")
	}
	return h, nil
}

// Millis is a duration that JSON encodes as a number of milliseconds (with
// microsecond precision), so that reports read the same in any language.
type Millis time.Duration

// D returns m as a time.Duration.
func (m Millis) D() time.Duration { return time.Duration(m) }

// String formats m like time.Duration, rounded to the millisecond.
func (m Millis) String() string { return time.Duration(m).Round(time.Millisecond).String() }

// MarshalJSON encodes m as milliseconds.
func (m Millis) MarshalJSON() ([]byte, error) {
	us := time.Duration(m).Round(time.Microsecond) / time.Microsecond
	// Integer arithmetic avoids float noise like 12.300000000000001.
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	if frac := us % 1000; frac != 0 {
		s := fmt.Sprintf("%s%d.%03d", sign, us/1000, frac)
		return bytes.TrimRight([]byte(s), "0"), nil
	}
	return fmt.Appendf(nil, "%s%d", sign, us/1000), nil
}

// UnmarshalJSON decodes milliseconds.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("drill: duration in milliseconds: %w", err)
	}
	*m = Millis(time.Duration(f*1e3+copysignHalf(f)) * time.Microsecond)
	return nil
}

// copysignHalf rounds half away from zero when truncating f*1e3 to microseconds.
func copysignHalf(f float64) float64 {
	if f < 0 {
		return -0.5
	}
	return 0.5
}
