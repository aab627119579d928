package lockbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MetadataToken asks the metadata service at metadataURL (MetadataURL on a VM) for the
// IAM token of the VM's service account. The token is valid for the returned duration.
func MetadataToken(ctx context.Context, hc *http.Client, metadataURL string) (string, time.Duration, error) {
	var t ServiceAccountToken
	if err := metadataGet(ctx, hc, metadataURL, MetadataTokenPath, func(data []byte) error {
		if err := json.Unmarshal(data, &t); err != nil {
			return decodeError(err)
		}
		return nil
	}); err != nil {
		return "", 0, fmt.Errorf("lockbox: get the service account's token from the metadata service: %w", err)
	}
	if t.AccessToken == "" {
		return "", 0, errors.New("lockbox: get the service account's token from the metadata service: the answer has no access_token")
	}
	return t.AccessToken, time.Duration(t.ExpiresIn) * time.Second, nil
}

// MetadataTokenFunc is a TokenFunc asking the metadata service for every request. The
// service caches the token itself, and a node asks once at boot.
func MetadataTokenFunc(hc *http.Client, metadataURL string) TokenFunc {
	return func(ctx context.Context) (string, error) {
		tok, _, err := MetadataToken(ctx, hc, metadataURL)
		return tok, err
	}
}

// MetadataAttribute reads one of the VM's metadata attributes (the metadata set on the
// instance). An attribute the VM does not have is an error that IsNotFound recognizes.
// The error names the key, never the value.
func MetadataAttribute(ctx context.Context, hc *http.Client, metadataURL, key string) (string, error) {
	var v string
	if err := metadataGet(ctx, hc, metadataURL, MetadataAttributePath+url.PathEscape(key), func(data []byte) error {
		v = string(data)
		return nil
	}); err != nil {
		return "", fmt.Errorf("lockbox: read metadata attribute %q: %w", key, err)
	}
	return v, nil
}

func metadataGet(ctx context.Context, hc *http.Client, metadataURL, path string, decode func([]byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(metadataURL, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set(MetadataFlavorHeader, MetadataFlavor)
	resp, err := httpClient(hc).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		// The service's error bodies are text, not a Status; errorFromBody keeps the status only.
		return errorFromBody(resp.StatusCode, data, nil)
	}
	if err := decode(data); err != nil {
		return fmt.Errorf("decode the answer: %w", err)
	}
	return nil
}

// IAMTokenPrefix starts every IAM token; OAuth tokens never start with it.
const IAMTokenPrefix = "t1."

// IAMToken returns an IAM token for an operator's credential: an IAM token as it is, and
// an OAuth token (what `yc config get token` shows for a user account) exchanged at
// iamEndpoint (IAMEndpoint in the cloud). An exchanged token is valid for at most 12 hours.
func IAMToken(ctx context.Context, hc *http.Client, iamEndpoint, oauthOrIAM string) (string, error) {
	tok := strings.TrimSpace(oauthOrIAM)
	if tok == "" {
		return "", errors.New("lockbox: no token: set an IAM token or an OAuth token")
	}
	if strings.HasPrefix(tok, IAMTokenPrefix) {
		return tok, nil
	}
	body, err := json.Marshal(struct {
		OAuth string `json:"yandexPassportOauthToken"`
	}{tok})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(iamEndpoint, "/")+"/iam/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("lockbox: exchange the OAuth token for an IAM token: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	var out struct {
		IAMToken  string    `json:"iamToken"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if err := roundTrip(httpClient(hc), req, []string{tok}, &out); err != nil {
		return "", fmt.Errorf("lockbox: exchange the OAuth token for an IAM token: %w", err)
	}
	if out.IAMToken == "" {
		return "", errors.New("lockbox: exchange the OAuth token for an IAM token: the answer has no iamToken")
	}
	return out.IAMToken, nil
}
