package rollout

import (
	"context"
	"strings"
	"testing"

	"github.com/pghac/pghac/internal/remote"
)

// TestWithPassword: the replication user's lines get the new password, escapes kept; other
// users' lines and comments stay as they are.
func TestWithPassword(t *testing.T) {
	in := "10.213.0.12:5432:*:replicator:OldPassword1\n10.213.0.13:5432:*:replicator:OldPassword1\n" +
		`10.213.0.14:5432:*:other:Old\:Pass` + "\n# a comment\n"
	got, changed := withPassword(in, "replicator", `New:Pass\1`)
	want := `10.213.0.12:5432:*:replicator:New\:Pass\\1` + "\n" + `10.213.0.13:5432:*:replicator:New\:Pass\\1` + "\n" +
		`10.213.0.14:5432:*:other:Old\:Pass` + "\n# a comment\n"
	if !changed || got != want {
		t.Errorf("withPassword:\n%s\nwant\n%s", got, want)
	}
	if again, changed := withPassword(got, "replicator", `New:Pass\1`); changed || again != got {
		t.Errorf("withPassword with the password it has: changed %v", changed)
	}
}

type filesReader map[string]remote.RemoteFile

func (f filesReader) ReadFiles(_ context.Context, paths []string) (map[string]remote.RemoteFile, error) {
	out := map[string]remote.RemoteFile{}
	for _, p := range paths {
		out[p] = f[p]
	}
	return out, nil
}

// TestSurveyPassfile: a passfile holding another replication password than Patroni's
// configuration is a change, never shown; one holding it, or none at all, is not.
func TestSurveyPassfile(t *testing.T) {
	cfg := []byte("postgresql:\n  pgpass: /var/lib/postgresql/patroni-node0.pgpass\n  authentication:\n" +
		"    replication:\n      username: replicator\n      password: NewPassword\n")
	const path = "/var/lib/postgresql/patroni-node0.pgpass"
	stale := filesReader{path: {Exists: true, Mode: 0o600, Owner: "postgres:postgres", Content: []byte("10.213.0.12:5432:*:replicator:OldPassword")}}
	fc, ok, err := surveyPassfile(context.Background(), stale, cfg)
	if err != nil || !ok || string(fc.Content) != "10.213.0.12:5432:*:replicator:NewPassword" || fc.Mode != 0o600 || fc.Owner != "postgres:postgres" {
		t.Errorf("a stale passfile: %+v, %v, %v", fc, ok, err)
	}
	if strings.Contains(fc.Diff, "Password") {
		t.Errorf("the change's diff shows a password: %q", fc.Diff)
	}
	current := filesReader{path: {Exists: true, Content: fc.Content}}
	if _, ok, err := surveyPassfile(context.Background(), current, cfg); ok || err != nil {
		t.Errorf("a passfile with the password: a change (%v, %v)", ok, err)
	}
	if _, ok, err := surveyPassfile(context.Background(), filesReader{}, cfg); ok || err != nil {
		t.Errorf("no passfile yet: a change (%v, %v)", ok, err)
	}
}
