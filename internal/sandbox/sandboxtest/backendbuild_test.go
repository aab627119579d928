package sandboxtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/backend"
)

// checkBackendBuild: a new build of the backend reaches the running nodes through pghac up, one
// node at a time (the install script names the build's checksum, so the rollout sees it
// change), while notes are written through every node's backend: every node runs the new
// binary afterwards and every note a backend acknowledged is in the database. up with the
// build before rolls it back the same way.
func checkBackendBuild(ctx context.Context, t *testing.T, c *Cluster) {
	orig := filepath.Join(filepath.Dir(c.Pghac), "pghac-backend")
	b, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	// Bytes after an ELF's end change nothing it runs, and its checksum.
	rebuilt := filepath.Join(t.TempDir(), "pghac-backend")
	if err := os.WriteFile(rebuilt, append(b, "\n# another build, for the sandbox test\n"...), 0o755); err != nil {
		t.Fatal(err)
	}

	w := startNoteWriter(ctx, t, c)
	for _, build := range []struct{ what, path string }{{"a new build", rebuilt}, {"the build before", orig}} {
		want := fileSHA256(t, build.path)
		out, err := c.Run(ctx, "up", "--backend", build.path)
		if err != nil {
			t.Fatalf("pghac up with %s of the backend: %v\n%s", build.what, err, out)
		}
		t.Logf("%s of the backend: %s", build.what, rolledOut(out))
		for _, want := range []string{"changed  " + backend.InstallPath, "Rolled out in", "Healthy"} {
			if !strings.Contains(out, want) {
				t.Errorf("pghac up with %s of the backend: the output lacks %q:\n%s", build.what, want, out)
			}
		}
		for _, n := range c.Model.Nodes {
			if !strings.Contains(out, n.Name+": install the backend build\n") {
				t.Errorf("pghac up with %s of the backend did not install it on %s", build.what, n.Name)
			}
			if got, err := c.Exec(ctx, n.Name, "sha256sum", backend.BinaryPath); err != nil || !strings.HasPrefix(got, want+" ") {
				t.Errorf("%s runs %q (%v), want %s of the backend (%s)", n.Name, got, err, build.what, want)
			}
		}
	}
	acked, failed := w.stop()
	if acked == 0 {
		t.Fatal("no note was written through the backends during the rollouts")
	}
	ids := make([]string, len(w.ids))
	for i, id := range w.ids {
		ids[i] = fmt.Sprint(id)
	}
	b2 := c.Model.Backend
	got, err := psqlAs(ctx, c.adminDSN(b2.Database), c.secret(t, model.SecretSuperuserPassword),
		"SELECT count(*) FROM notes WHERE id IN ("+strings.Join(ids, ",")+")")
	if err != nil || got != fmt.Sprint(acked) {
		t.Errorf("notes acknowledged during the rollouts: %d, in the database: %s (%v)", acked, got, err)
	}
	t.Logf("notes through the backends during both rollouts: %d acknowledged (all kept), %d refused or cut", acked, failed)
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// noteWriter posts notes through every node's backend in turn, recording the ids of those
// acknowledged (201).
type noteWriter struct {
	cancel func()
	done   sync.WaitGroup
	ids    []int64
	failed int
}

func startNoteWriter(ctx context.Context, t *testing.T, c *Cluster) *noteWriter {
	ctx, cancel := context.WithCancel(ctx)
	w := &noteWriter{cancel: cancel}
	hc := c.httpsClient(t, 5*time.Second)
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		for i := 0; ctx.Err() == nil; i++ {
			a := c.Addresses()[i%len(c.Model.Nodes)]
			body := fmt.Sprintf(`{"text":"written while the backend's build changes, %d"}`, i)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("https://%s:%d/notes/", a, c.Model.Backend.Port), bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			var n struct{ ID int64 }
			if err == nil {
				if resp.StatusCode == http.StatusCreated && json.NewDecoder(resp.Body).Decode(&n) == nil {
					w.ids = append(w.ids, n.ID)
				} else {
					w.failed++
				}
				resp.Body.Close()
			} else if ctx.Err() == nil {
				w.failed++
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop ends the writes and returns how many were acknowledged and how many were not.
func (w *noteWriter) stop() (acked, failed int) {
	w.cancel()
	w.done.Wait()
	return len(w.ids), w.failed
}
