package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Error codes raised here.
const (
	CodeNoIDToken      = "PIOT_OIDC_UNAVAILABLE"
	CodeIDTokenRequest = "PIOT_OIDC_TOKEN_REQUEST"
)

// IDTokenTimeout bounds one ID-token request: the callers pass clients
// without a deadline of their own (http.DefaultClient), and a runtime that
// never answers must not hang publish or doctor.
var IDTokenTimeout = 60 * time.Second

// IDTokenAttempts and IDTokenBackoff: how often a transient failure of the
// ID-token request is tried, and the wait before the n-th retry (n × backoff).
var (
	IDTokenAttempts = 3
	IDTokenBackoff  = time.Second
)

// requestIDToken is one try, bounded by IDTokenTimeout.
func requestIDToken(ctx context.Context, client *http.Client, u, requestToken string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, IDTokenTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+requestToken)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// FetchIDToken asks the Actions runtime for a GitHub ID token with audience.
// The token is registered for redaction before it is returned. A GitHub ID
// token is single-use at PyPI, so callers fetch a fresh one per exchange.
func FetchIDToken(ctx context.Context, client *http.Client, e env.Env, audience string) (string, error) {
	if !e.OIDCAvailable() {
		return "", diag.New(CodeNoIDToken, "no GitHub OIDC token available: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set").
			WithHint("give the publishing job `permissions: id-token: write` (pull requests from forks never get an ID token)")
	}
	u, err := url.Parse(e.Value("ACTIONS_ID_TOKEN_REQUEST_URL"))
	if err != nil {
		return "", diag.New(CodeIDTokenRequest, "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL").Wrap(err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	if client == nil {
		client = http.DefaultClient
	}
	// The runtime's token service has bad minutes too (the Actions toolkit
	// retries it): network errors, 429 and 5xx are tried again, briefly.
	var body []byte
	for attempt := 1; ; attempt++ {
		status, b, err := requestIDToken(ctx, client, u.String(), e.Value("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
		transient := err != nil || status == http.StatusTooManyRequests || status >= 500
		if transient && attempt < IDTokenAttempts && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt) * IDTokenBackoff):
			}
			continue
		}
		if err != nil {
			return "", diag.New(CodeIDTokenRequest, "requesting a GitHub OIDC token (audience %q)", audience).Wrap(err).
				WithHint("the GitHub Actions token service did not answer in time; re-run the job")
		}
		if status != http.StatusOK {
			return "", diag.New(CodeIDTokenRequest, "GitHub refused the OIDC token request (audience %q): HTTP %d %s", audience, status, secret.Redact(strings.TrimSpace(string(b)))).
				WithHint("check that the job has `permissions: id-token: write`")
		}
		body = b
		break
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", diag.New(CodeIDTokenRequest, "GitHub's OIDC token response has no `value` (audience %q)", audience)
	}
	secret.Register(v.Value)
	return v.Value, nil
}

// DecodeClaims returns the claims of a JWT without verifying it. The token is
// never printed; only claims are.
func DecodeClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT: want three dot-separated parts")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("not a JWT: payload is not base64url: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, fmt.Errorf("not a JWT: payload is not JSON: %w", err)
	}
	return claims, nil
}

// ClaimString returns claim name as a string ("" when absent or not a string).
func ClaimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// WorkflowFile extracts the filename from a workflow_ref / job_workflow_ref
// value `owner/repo/.github/workflows/file.yml@ref`.
func WorkflowFile(ref string) string {
	path, _, _ := strings.Cut(ref, "@")
	i := strings.LastIndex(path, "/")
	return path[i+1:]
}
