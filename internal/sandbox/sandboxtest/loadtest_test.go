package sandboxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// checkBackend runs the repository's smoke load test (Tank bundle, pghac loadtest) against the
// first node's backend and checks the report against the backend's own /metrics: every request
// the generator sent to a notes route is counted there, once, with the same status code.
func checkBackend(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	n := c.Model.Nodes[0]
	metricsURL := fmt.Sprintf("https://%s:%d/metrics", n.Address, c.Model.Backend.Port)
	before := noteRequests(t, c, metricsURL)

	report := filepath.Join(t.TempDir(), "report")
	out, err := c.Run(ctx, "loadtest", "--scenario", "smoke", "--report", report, "--progress", "never")
	if err != nil {
		t.Fatalf("pghac loadtest --scenario smoke: %v\n%s", err, out)
	}
	if want := "against https://" + n.AddrPort(c.Model.Backend.Port).String() + " (its certificate verified against"; !strings.Contains(out, want) {
		t.Errorf("pghac loadtest does not say %q:\n%s", want, out)
	}
	b, err := os.ReadFile(filepath.Join(report, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Summary struct {
			Requests  int            `json:"requests"`
			NetErrors int            `json:"net_errors"`
			Codes     map[string]int `json:"codes"`
			Verdict   string         `json:"verdict"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	// const(20, 15s): 300 requests, half reads, half writes, all answered.
	if s.Verdict != "PASS" || s.Requests != 300 || s.NetErrors != 0 || s.Codes["200"]+s.Codes["201"] != s.Requests {
		t.Errorf("smoke load test: %+v, want PASS with 300 requests, all 200 or 201\n%s", s, out)
	}
	for _, f := range []string{"summary.txt", "report.html"} {
		if fi, err := os.Stat(filepath.Join(report, f)); err != nil || fi.Size() == 0 {
			t.Errorf("report %s: %v", f, err)
		}
	}

	after := noteRequests(t, c, metricsURL)
	for code, want := range s.Codes {
		if got := after[code] - before[code]; got != float64(want) {
			t.Errorf("backend counted %v responses %s to notes routes, the load test %d", got, code, want)
		}
	}
	var total float64
	for code := range after {
		total += after[code] - before[code]
	}
	if total != float64(s.Requests) {
		t.Errorf("backend counted %v notes requests, the load test sent %d", total, s.Requests)
	}
}

// noteRequests sums pghac_backend_http_requests_total over the notes routes, by status code.
func noteRequests(t *testing.T, c *Cluster, url string) map[string]float64 {
	t.Helper()
	var body []byte
	hc := c.httpsClient(t, 10*time.Second) // a hung scrape is retried, not waited for
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		resp, err := hc.Get(url)
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	out := map[string]float64{}
	f, ok := families["pghac_backend_http_requests_total"]
	if !ok {
		t.Fatalf("%s has no pghac_backend_http_requests_total", url)
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if strings.HasPrefix(labels["route"], "/notes") {
			if _, err := strconv.Atoi(labels["code"]); err != nil {
				t.Fatalf("code label %q", labels["code"])
			}
			out[labels["code"]] += m.GetCounter().GetValue()
		}
	}
	return out
}
