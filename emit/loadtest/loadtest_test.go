package loadtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
)

// parseAmmo reads phantom ammo the way Tank's AmmoFileReader does: skip blank lines, read
// "<size> [tag]", then exactly size bytes of request.
func parseAmmo(t *testing.T, b []byte) (tags []string, reqs []*http.Request, bodies []string) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF && line == "" {
			return
		}
		if err != nil {
			t.Fatalf("ammo: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		size, tag, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(size)
		if err != nil {
			t.Fatalf("ammo header %q: %v", line, err)
		}
		raw := make([]byte, n)
		if _, err := io.ReadFull(r, raw); err != nil {
			t.Fatalf("ammo %q: %d bytes: %v", line, n, err)
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("ammo %q: not an HTTP request: %v\n%q", line, err, raw)
		}
		body, _ := io.ReadAll(req.Body)
		if int64(len(body)) != max(req.ContentLength, 0) {
			t.Fatalf("ammo %q: body %d bytes, Content-Length %d", line, len(body), req.ContentLength)
		}
		tags, reqs, bodies = append(tags, tag), append(reqs, req), append(bodies, string(body))
	}
}

func TestAmmo(t *testing.T) {
	b, err := Ammo([]string{model.AmmoGet, model.AmmoPost}, "10.0.0.1:8080", 50)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Ammo([]string{model.AmmoGet, model.AmmoPost}, "10.0.0.1:8080", 50)
	if !bytes.Equal(b, again) {
		t.Error("two runs gave different ammo")
	}
	tags, reqs, bodies := parseAmmo(t, b)
	if len(reqs) != 100 {
		t.Fatalf("%d requests, want 100", len(reqs))
	}
	texts := map[string]bool{}
	for i, req := range reqs {
		wantTag := []string{"get", "post"}[i%2]
		if tags[i] != wantTag || req.Host != "10.0.0.1:8080" {
			t.Errorf("request %d: tag %q host %q, want %q 10.0.0.1:8080", i, tags[i], req.Host, wantTag)
		}
		switch wantTag {
		case "get":
			q := req.URL.Query()
			if req.Method != "GET" || req.URL.Path != "/notes/" || q.Get("skip") == "" || q.Get("take") == "" {
				t.Errorf("request %d: %s %s", i, req.Method, req.URL)
			}
		case "post":
			var n struct {
				Text      *string `json:"text"`
				Completed *bool   `json:"completed"`
			}
			if req.Method != "POST" || req.URL.Path != "/notes/" || req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request %d: %s %s %s", i, req.Method, req.URL, req.Header.Get("Content-Type"))
			}
			if err := json.Unmarshal([]byte(bodies[i]), &n); err != nil || n.Text == nil || n.Completed == nil {
				t.Errorf("request %d: body %q is not a note: %v", i, bodies[i], err)
			} else {
				texts[*n.Text] = true
			}
		}
	}
	if len(texts) < 40 {
		t.Errorf("only %d distinct note texts in 50 posts", len(texts))
	}
}

func TestUnknownAmmo(t *testing.T) {
	if _, err := Ammo([]string{"delete"}, "h:1", 1); err == nil || !strings.Contains(err.Error(), `"delete"`) {
		t.Errorf("Ammo(delete) error = %v", err)
	}
}

func TestFiles(t *testing.T) {
	c := modeltest.Cluster()
	c.Backend = &model.Backend{Port: 8080, Database: "notes", User: "notes"}
	c.LoadTests = []model.LoadTest{{
		Name: "reads", Schedule: "const(10, 30s)", Duration: 30 * time.Second, Ammo: []string{model.AmmoGet},
		Node: c.Nodes[1].Name, Instances: 7, Timeout: 1500 * time.Millisecond, Autostop: []string{"http(5xx,10%,5s)", "limit(90s)"},
	}}
	files, err := Files(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != "loadtest/reads/ammo.txt" || files[1].Path != "loadtest/reads/load.yaml" || !files[0].Wire {
		t.Fatalf("files: %+v", files)
	}
	// The same files, relative to the bundle's folder.
	bundle, err := Bundle(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(bundle) != 2 || bundle[0].Path != "reads/ammo.txt" || bundle[1].Path != "reads/load.yaml" ||
		!bytes.Equal(bundle[0].Bytes, files[0].Bytes) || !bytes.Equal(bundle[1].Bytes, files[1].Bytes) || !bundle[0].Wire {
		t.Errorf("Bundle is not Files without %s/: %+v", Dir, bundle)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(files[1].Bytes, &cfg); err != nil {
		t.Fatal(err)
	}
	ph := cfg["phantom"].(map[string]any)
	target := c.Nodes[1].Address.String() + ":8080"
	for k, want := range map[string]any{
		"address": target, "ammofile": "ammo.txt", "ammo_type": "phantom", "instances": 7, "timeout": "1500ms", "header_http": "1.1", "enabled": true,
	} {
		if ph[k] != want {
			t.Errorf("phantom.%s = %v, want %v", k, ph[k], want)
		}
	}
	lp := ph["load_profile"].(map[string]any)
	if lp["load_type"] != "rps" || lp["schedule"] != "const(10, 30s)" {
		t.Errorf("load_profile = %v", lp)
	}
	as := cfg["autostop"].(map[string]any)["autostop"].([]any)
	if len(as) != 2 || as[1] != "limit(90s)" {
		t.Errorf("autostop = %v", as)
	}
	_, reqs, _ := parseAmmo(t, files[0].Bytes)
	if len(reqs) != requestsPerKind || reqs[0].Host != target {
		t.Errorf("%d requests to %q, want %d to %s", len(reqs), reqs[0].Host, requestsPerKind, target)
	}
}
