package patroni

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Config is the cluster's dynamic configuration as GET /config gives it: the bootstrap.dcs
// section once the cluster runs, changed since only through PATCH /config.
func (c *Client) Config(ctx context.Context) (map[string]any, error) {
	var cfg map[string]any
	err := c.getFirst(ctx, "/config", func(b []byte) error {
		if err := json.Unmarshal(b, &cfg); err != nil || cfg == nil {
			return fmt.Errorf("not a JSON object: %v", err)
		}
		return nil
	})
	return cfg, err
}

// PatchConfig merges patch into the dynamic configuration (PATCH /config; a null value
// removes a key). Every member applies it on its next loop: sighup parameters at once,
// postmaster ones when PostgreSQL restarts (Status.PendingRestart until then). It goes to the
// members in order while a member cannot be connected to.
func (c *Client) PatchConfig(ctx context.Context, patch map[string]any) error {
	var errs joined
	for _, ep := range c.Endpoints {
		status, b, err := c.do(ctx, c.httpClient(), ep, http.MethodPatch, "/config", patch)
		if err != nil {
			errs = append(errs, err)
			if notSent(err) && ctx.Err() == nil {
				continue
			}
			return fmt.Errorf("patch config: %w", errs)
		}
		if status != http.StatusOK {
			return httpError(ep, http.MethodPatch, "/config", status, b)
		}
		return nil
	}
	return fmt.Errorf("patch config: no member could be reached: %w", errs)
}

// Restart restarts member's PostgreSQL (POST /restart on its own endpoint) and returns once
// Patroni has done it. Patroni refuses with 503 when the restart failed, and with 409 while
// the member is busy, as an *HTTPError.
func (c *Client) Restart(ctx context.Context, member string) (string, error) {
	ep, err := c.endpoint(member)
	if err != nil {
		return "", err
	}
	hc := c.httpClient()
	if hc.Timeout > 0 && hc.Timeout < SwitchoverTimeout {
		long := *hc
		long.Timeout = SwitchoverTimeout
		hc = &long
	}
	status, b, err := c.do(ctx, hc, ep, http.MethodPost, "/restart", map[string]any{})
	if err != nil {
		return "", fmt.Errorf("restart: %w", err)
	}
	if status != http.StatusOK {
		return "", httpError(ep, http.MethodPost, "/restart", status, b)
	}
	return strings.TrimSpace(string(b)), nil
}
