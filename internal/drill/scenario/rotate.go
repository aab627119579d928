package scenario

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
)

// rotated are the secrets the rotate-secret drill rotates: the ones the cluster uses inside
// itself (replication, PgBouncer's lookup, HAProxy's statistics page). The drill's own load
// logs in as the superuser, whose new password its clients would have to be given.
var rotated = []model.Secret{model.SecretReplicationPassword, model.SecretPgBouncerAuthPassword, model.SecretStatsPassword}

// rotateSecrets rotates each of rotated as `pghac secrets rotate` does (a role's password
// through the leader first, then every node's files and reloads, one node at a time), then
// has every asynchronous replica log in again: its WAL sender ended on the leader, it must
// stream again, over a connection made with the new replication password. (The synchronous
// standby is left alone: every commit would wait while it reconnects.)
func rotateSecrets(ctx context.Context, r *run) error {
	if r.env.RotateSecret == nil {
		return errors.New("the drill has no way to rotate a secret (Env.RotateSecret)")
	}
	names := make([]string, len(rotated))
	for i, s := range rotated {
		names[i] = string(s)
	}
	err := r.fault("rotate "+strings.Join(names, ", ")+", one after another", func() error {
		for _, s := range rotated {
			start := time.Now()
			if err := r.env.RotateSecret(ctx, s); err != nil {
				return fmt.Errorf("rotating %s: %w", s, err)
			}
			r.logf("rotated %s in %s", s, time.Since(start).Round(100*time.Millisecond))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.heal("end the asynchronous replicas' WAL senders: they must log in again with the new password", func() error {
		return r.reconnectReplicas(ctx)
	})
}

// reconnectReplicas ends the leader's WAL sender to every asynchronous replica and waits
// until each streams again over a new connection.
func (r *run) reconnectReplicas(ctx context.Context) error {
	s, ok := r.mon.Latest()
	if !ok || s.Leader == "" {
		return errors.New("no leader to reconnect the replicas to")
	}
	var async []string
	for _, m := range s.Members {
		if m.Name != s.Leader && m.Role != "sync_standby" {
			async = append(async, m.Name)
		}
	}
	if len(async) == 0 {
		return errors.New("no asynchronous replica to reconnect")
	}
	ctx, cancel := context.WithTimeout(ctx, r.env.FaultTimeout)
	defer cancel()
	for _, n := range async {
		ended := time.Now()
		if _, err := r.psql(ctx, s.Leader, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = $$"+n+"$$"); err != nil {
			return fmt.Errorf("ending %s's WAL sender: %w", n, err)
		}
		for {
			since, err := r.streamingSince(ctx, s.Leader, n)
			if err == nil && since.After(ended) {
				r.logf("%s streams again, logged in %.1fs after its WAL sender ended", n, since.Sub(ended).Seconds())
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s did not stream again within %v: did it log in with the new replication password? (%v)", n, r.env.FaultTimeout, err)
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return nil
}

// streamingSince is when replica's streaming connection to leader began.
func (r *run) streamingSince(ctx context.Context, leader, replica string) (time.Time, error) {
	out, err := r.psql(ctx, leader, "SELECT extract(epoch FROM backend_start) FROM pg_stat_replication WHERE state = $$streaming$$ AND application_name = $$"+replica+"$$")
	if err != nil {
		return time.Time{}, err
	}
	var sec float64
	if _, err := fmt.Sscan(out, &sec); err != nil {
		return time.Time{}, fmt.Errorf("%s does not stream from %s", replica, leader)
	}
	return time.Unix(0, int64(sec*1e9)), nil
}

// rotateTLS issues every certificate again, as `pghac secrets rotate tls` does, under the
// drill's load: one node at a time, PostgreSQL and PgBouncer reload, the sessions open go on
// and new ones meet the new certificates, from the same authority. The rotation itself waits
// until every node's PostgreSQL serves its new certificate.
func rotateTLS(ctx context.Context, r *run) error {
	if r.env.RotateTLS == nil {
		return errors.New("the drill has no way to rotate the certificates (Env.RotateTLS)")
	}
	return r.fault("rotate the certificates, every node's and the service's", func() error {
		start := time.Now()
		if err := r.env.RotateTLS(ctx); err != nil {
			return fmt.Errorf("rotating the certificates: %w", err)
		}
		// Nothing heals a rotation: the cluster is whole again once it has rolled out.
		r.settled = time.Now()
		r.logf("rotated the certificates in %s", r.settled.Sub(start).Round(100*time.Millisecond))
		return nil
	})
}

// rotateCA rotates the certificates' authority, as `pghac secrets rotate ca` run three times
// does, under the drill's load: the new authority trusted on every node (and in the file the
// drill's clients read at each new connection), every certificate issued again by it, the
// old one trusted nowhere; each step rolled out node by node with reloads only.
func rotateCA(ctx context.Context, r *run) error {
	if r.env.RotateCA == nil {
		return errors.New("the drill has no way to rotate the authority (Env.RotateCA)")
	}
	return r.fault("rotate the certificates' authority, its three steps", func() error {
		start := time.Now()
		for range 3 {
			step, err := r.env.RotateCA(ctx)
			if err != nil {
				return fmt.Errorf("rotating the authority, %s: %w", step, err)
			}
			r.logf("took %s", step)
		}
		r.settled = time.Now()
		r.logf("rotated the authority in %s", r.settled.Sub(start).Round(100*time.Millisecond))
		return nil
	})
}
