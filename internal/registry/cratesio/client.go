// Package cratesio is putitoutthere's crates.io API client: version and
// crate lookups, the trusted-publishing token exchange and revoke, trusted
// publisher (github_configs) reads for doctor, token probes for `token
// inspect`, and the contract for pointing `cargo publish` at the registry.
//
// Base URL: PUTITOUTTHERE_CRATES_IO_URL (default https://crates.io).
//
// Cargo contract (for the crates publish handler). Run
//
//	cargo publish <your flags> <c.PublishArgs()...>
//
// with the subprocess environment extended by c.PublishEnv(token):
//
//   - default crates.io: PublishArgs() is empty and PublishEnv(token) is
//     ["CARGO_REGISTRY_TOKEN=<token>"];
//   - overridden URL (emulator, private mirror): the registry is registered
//     under the alias "piot" with its sparse index at <base>/index/, and
//     crates.io itself is source-replaced by it so dependencies on sibling
//     crates resolve from the same registry during cargo's verify build:
//     PublishArgs() is ["--registry", "piot", "--config",
//     `source.crates-io.replace-with="piot"`] and PublishEnv(token) is
//     ["CARGO_REGISTRIES_PIOT_INDEX=sparse+<base>/index/",
//     "CARGO_REGISTRIES_PIOT_TOKEN=<token>",
//     "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS=cargo:token"] (the last one
//     lets registries with "auth-required" read the token too).
//
// The token only ever travels in the environment, never in argv.
package cratesio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Names and defaults.
const (
	EnvURL     = "PUTITOUTTHERE_CRATES_IO_URL"
	DefaultURL = "https://crates.io"
	Audience   = "crates.io" // GitHub ID token audience for the exchange
	// RegistryAlias is the cargo registry name used when the URL is overridden.
	RegistryAlias = "piot"
)

// Error codes raised here (docs/errors.md, "crates.io").
const (
	CodeTrustRefused  = "PIOT_CRATES_TRUST_REFUSED"
	CodeTokenRejected = "PIOT_CRATES_TOKEN_REJECTED"
	CodeAPI           = "PIOT_CRATES_API"
	CodeUnreachable   = "PIOT_CRATES_UNREACHABLE"
)

// ErrJWTReused is in the chain when crates.io says the ID token was already
// exchanged ("JWT has already been used"); a fresh ID token fixes it.
var ErrJWTReused = errors.New("GitHub ID token already exchanged")

// APIError is a non-2xx crates.io answer with its `detail` text.
type APIError struct {
	Status int
	Detail string
	Err    error // the *httpx.Error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("crates.io answered HTTP %d: %s", e.Status, secret.Redact(e.Detail))
}

func (e *APIError) Unwrap() error { return e.Err }

// Client talks to one crates.io instance.
type Client struct {
	base       string
	overridden bool
	h          *httpx.Client
}

// New reads the base URL from e (PUTITOUTTHERE_CRATES_IO_URL). h nil means
// httpx.New().
func New(e env.Env, h *httpx.Client) *Client {
	if h == nil {
		h = httpx.New()
	}
	c := &Client{base: DefaultURL, h: h}
	if u, ok := e.Get(EnvURL); ok {
		u = strings.TrimRight(u, "/")
		c.overridden = u != DefaultURL
		c.base = u
	}
	return c
}

// BaseURL is the API base without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Overridden reports whether the URL is not the public crates.io.
func (c *Client) Overridden() bool { return c.overridden }

// IndexURL is the sparse index cargo uses for this registry.
func (c *Client) IndexURL() string {
	if !c.overridden {
		return "sparse+https://index.crates.io/"
	}
	return "sparse+" + c.base + "/index/"
}

// PublishArgs are the extra `cargo publish` arguments (see package doc).
func (c *Client) PublishArgs() []string {
	if !c.overridden {
		return nil
	}
	return []string{"--registry", RegistryAlias, "--config", `source.crates-io.replace-with="` + RegistryAlias + `"`}
}

// PublishEnv is the environment `cargo publish` needs (see package doc).
func (c *Client) PublishEnv(token string) []string {
	if !c.overridden {
		return []string{"CARGO_REGISTRY_TOKEN=" + token}
	}
	up := strings.ToUpper(RegistryAlias)
	return []string{
		"CARGO_REGISTRIES_" + up + "_INDEX=" + c.IndexURL(),
		"CARGO_REGISTRIES_" + up + "_TOKEN=" + token,
		// cargo reads the token from the environment only through the
		// cargo:token provider; registries with auth-required insist on it.
		"CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS=cargo:token",
	}
}

// CargoEnv is PublishEnv, for callers that think of it as cargo's env.
func (c *Client) CargoEnv(token string) []string { return c.PublishEnv(token) }

// CrateURL is the human page of a crate version.
func (c *Client) CrateURL(name, version string) string {
	u := c.base + "/crates/" + url.PathEscape(name)
	if version != "" {
		u += "/" + url.PathEscape(version)
	}
	return u
}

// Detail extracts crates.io's `{"errors":[{"detail":…}]}` text from a body,
// falling back to the trimmed body.
func Detail(body []byte) string {
	var v struct {
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) == nil && len(v.Errors) > 0 {
		return v.Errors[0].Detail
	}
	s := strings.TrimSpace(secret.Redact(string(body))) // before the cut (see httpx.Error)
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

func (c *Client) do(ctx context.Context, method, path, token string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("crates.io request %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, b, err := c.h.Do(ctx, req, body)
	if err != nil {
		var he *httpx.Error
		if errors.As(err, &he) {
			return resp, b, &APIError{Status: he.StatusCode, Detail: Detail([]byte(he.Body)), Err: he}
		}
		return nil, nil, err
	}
	return resp, b, nil
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// unreachable wraps transport failures and 5xx in a diag error.
func unreachable(what string, err error) error {
	if st := statusOf(err); st != 0 && st < 500 && st != http.StatusTooManyRequests {
		return diag.New(CodeAPI, "crates.io refused %s", what).Wrap(err).
			WithHint("check the request; crates.io's own message is shown above")
	}
	return diag.New(CodeUnreachable, "crates.io did not answer %s", what).Wrap(err).
		WithHint("crates.io may be down or unreachable (%s); re-run the job later", EnvURL+" overrides the URL")
}

// VersionExists asks GET /api/v1/crates/{name}/{version}: 200 → true,
// 404 → false.
func (c *Client) VersionExists(ctx context.Context, name, version string) (bool, error) {
	_, _, err := c.do(ctx, http.MethodGet, "/api/v1/crates/"+url.PathEscape(name)+"/"+url.PathEscape(version), "", nil)
	if err == nil {
		return true, nil
	}
	if statusOf(err) == http.StatusNotFound {
		return false, nil
	}
	return false, unreachable(fmt.Sprintf("the lookup of %s %s", name, version), err)
}

// CrateExists asks GET /api/v1/crates/{name}: 200 → true, 404 → false.
func (c *Client) CrateExists(ctx context.Context, name string) (bool, error) {
	_, _, err := c.do(ctx, http.MethodGet, "/api/v1/crates/"+url.PathEscape(name), "", nil)
	if err == nil {
		return true, nil
	}
	if statusOf(err) == http.StatusNotFound {
		return false, nil
	}
	return false, unreachable("the lookup of crate "+name, err)
}

// Owners lists the logins of a crate's user owners (public endpoint);
// a crate that does not exist gives (nil, nil).
func (c *Client) Owners(ctx context.Context, name string) ([]string, error) {
	_, b, err := c.do(ctx, http.MethodGet, "/api/v1/crates/"+url.PathEscape(name)+"/owners", "", nil)
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, unreachable("the owners of "+name, err)
	}
	var v struct {
		Users []struct {
			Login string `json:"login"`
		} `json:"users"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, diag.New(CodeAPI, "crates.io owners answer is not JSON").Wrap(err)
	}
	out := make([]string, 0, len(v.Users))
	for _, u := range v.Users {
		out = append(out, u.Login)
	}
	return out, nil
}

// IndexPath is the sparse-index path of a crate (lowercased): 1/a, 2/ab,
// 3/a/abc, se/rd/serde.
func IndexPath(name string) string {
	n := strings.ToLower(name)
	switch len(n) {
	case 0:
		return ""
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	}
	return n[0:2] + "/" + n[2:4] + "/" + n
}

// IndexHasVersion reads the crate's sparse-index file and reports whether
// version is listed. crates.io updates the index after the publish answer,
// so a caller that needs cargo to see the version polls this.
func (c *Client) IndexHasVersion(ctx context.Context, name, version string) (bool, error) {
	base := strings.TrimPrefix(c.IndexURL(), "sparse+")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+IndexPath(name), nil)
	if err != nil {
		return false, fmt.Errorf("crates.io index request: %w", err)
	}
	_, body, err := c.h.Do(ctx, req, nil)
	if err != nil {
		if st := httpx.StatusOf(err); st == http.StatusNotFound || st == http.StatusGone || st == http.StatusUnavailableForLegalReasons {
			return false, nil
		}
		return false, unreachable("the index of "+name, err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		var v struct {
			Vers string `json:"vers"`
		}
		if json.Unmarshal([]byte(line), &v) == nil && v.Vers == version {
			return true, nil
		}
	}
	return false, nil
}

// AlreadyUploaded reports whether text (a crates.io detail or cargo's
// output) says the version is already published: crates.io's 400 "crate
// version `x` is already uploaded" or cargo's local "already exists on … index".
func AlreadyUploaded(text string) bool {
	return (strings.Contains(text, "crate version `") && strings.Contains(text, "` is already uploaded")) ||
		(strings.Contains(text, "already exists on") && strings.Contains(text, "index"))
}

// ExchangeToken trades a GitHub ID token (audience "crates.io") for a
// short-lived trusted-publishing token. The token is registered as a secret
// before it is returned. A 400/403 is a *diag.Error with code
// PIOT_CRATES_TRUST_REFUSED carrying crates.io's detail and the claims that
// were presented; the *APIError is in its chain.
func (c *Client) ExchangeToken(ctx context.Context, jwt string) (string, error) {
	secret.Register(jwt)
	body, _ := json.Marshal(map[string]string{"jwt": jwt})
	_, b, err := c.do(ctx, http.MethodPost, "/api/v1/trusted_publishing/tokens", "", body)
	if err != nil {
		st := statusOf(err)
		if st == http.StatusBadRequest || st == http.StatusForbidden || st == http.StatusUnauthorized || st == http.StatusUnprocessableEntity {
			var ae *APIError
			errors.As(err, &ae)
			if ae.Detail == "JWT has already been used" {
				// Usually a retry after an answer was lost: the first try
				// minted a token nobody received. A fresh ID token works.
				return "", diag.New(CodeTrustRefused, "crates.io refused the trusted-publishing token exchange (HTTP %d): %s", st, ae.Detail).
					Wrap(fmt.Errorf("%w: %w", ErrJWTReused, err)).
					WithHint("request a fresh GitHub ID token and exchange again; each ID token can be exchanged once")
			}
			d := diag.New(CodeTrustRefused, "crates.io refused the trusted-publishing token exchange (HTTP %d): %s", st, secret.Redact(ae.Detail)).Wrap(err)
			d.Details = presentedClaims(jwt)
			return "", d.WithHint("compare the claims above with the crate's trusted publisher at %s/crates/<name>/settings (repository, workflow filename of the top-level workflow, environment); or set CARGO_REGISTRY_TOKEN to publish with an API token", c.base)
		}
		return "", unreachable("the trusted-publishing token exchange", err)
	}
	var v struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Token == "" {
		return "", diag.New(CodeAPI, "crates.io's token exchange answer has no `token`")
	}
	secret.Register(v.Token)
	return v.Token, nil
}

// presentedClaims lists what crates.io matched against, never the token.
func presentedClaims(jwt string) []string {
	claims, err := auth.DecodeClaims(jwt)
	if err != nil {
		return nil
	}
	s := func(k string) string {
		if v := auth.ClaimString(claims, k); v != "" {
			return v
		}
		return "(absent)"
	}
	return []string{
		"repository: " + s("repository"),
		"repository_owner_id: " + s("repository_owner_id"),
		"workflow file (from workflow_ref, the top-level workflow): " + auth.WorkflowFile(auth.ClaimString(claims, "workflow_ref")),
		"environment: " + s("environment"),
		"ref: " + s("ref"),
		"event: " + s("event_name"),
	}
}

// RevokeToken revokes a trusted-publishing token (DELETE, 204 even when it is
// already gone).
func (c *Client) RevokeToken(ctx context.Context, token string) error {
	secret.Register(token)
	_, _, err := c.do(ctx, http.MethodDelete, "/api/v1/trusted_publishing/tokens", "Bearer "+token, nil)
	if err != nil {
		return unreachable("the revocation of the trusted-publishing token", err)
	}
	return nil
}

// GitHubConfig is a trusted publisher registered for a crate (§3.6).
type GitHubConfig struct {
	ID                int64   `json:"id"`
	Crate             string  `json:"crate"`
	RepositoryOwner   string  `json:"repository_owner"`
	RepositoryOwnerID int64   `json:"repository_owner_id"`
	RepositoryName    string  `json:"repository_name"`
	WorkflowFilename  string  `json:"workflow_filename"`
	Environment       *string `json:"environment"`
	CreatedAt         string  `json:"created_at"`
}

// Env returns the environment, "" when the config accepts any.
func (g GitHubConfig) Env() string {
	if g.Environment == nil {
		return ""
	}
	return *g.Environment
}

// GitHubConfigs lists the trusted publishers of crate with an API token,
// following pagination. Bound it with ctx (doctor gives each call 5 s).
// Errors: 401/403 → PIOT_CRATES_TOKEN_REJECTED; 404 and other 4xx →
// PIOT_CRATES_API; network/5xx/timeout → PIOT_CRATES_UNREACHABLE. The
// *APIError (status, detail) is in the chain for callers that branch on it.
func (c *Client) GitHubConfigs(ctx context.Context, apiToken, crate string) ([]GitHubConfig, error) {
	secret.Register(apiToken)
	next := "?crate=" + url.QueryEscape(crate)
	var out []GitHubConfig
	for page := 0; next != ""; page++ {
		if page == 50 {
			return nil, diag.New(CodeAPI, "crates.io github_configs pagination did not end after 50 pages")
		}
		_, b, err := c.do(ctx, http.MethodGet, "/api/v1/trusted_publishing/github_configs"+next, apiToken, nil)
		if err != nil {
			switch st := statusOf(err); {
			case st == http.StatusUnauthorized || st == http.StatusForbidden:
				return nil, diag.New(CodeTokenRejected, "crates.io refused the token reading trusted publishers of `%s`", crate).Wrap(err).
					WithHint("use a crates.io API token owned by an owner of the crate; a scoped token needs the `trusted-publishing` scope for it")
			default:
				return nil, unreachable("the trusted publishers of `"+crate+"`", err)
			}
		}
		var v struct {
			Configs []GitHubConfig `json:"github_configs"`
			Meta    struct {
				NextPage *string `json:"next_page"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, diag.New(CodeAPI, "crates.io github_configs answer is not JSON").Wrap(err)
		}
		out = append(out, v.Configs...)
		next = ""
		if v.Meta.NextPage != nil && strings.HasPrefix(*v.Meta.NextPage, "?") {
			next = *v.Meta.NextPage
		}
	}
	return out, nil
}

// TokenKind is what a token string looks like (§7.0).
type TokenKind string

const (
	KindTrustedPublishing TokenKind = "trusted-publishing" // cio_tp_…
	KindAPI               TokenKind = "api"                // cio + 32
	KindUnknown           TokenKind = "unknown"
)

// KindOf recognises a crates.io token by shape (cio_tp_ before cio).
func KindOf(token string) TokenKind {
	switch {
	case strings.HasPrefix(token, "cio_tp_"):
		return KindTrustedPublishing
	case strings.HasPrefix(token, "cio") && len(token) == 35 && isAlnum(token[3:]):
		return KindAPI
	}
	return KindUnknown
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// TokenProbe is what crates.io reveals about a token to the token itself
// (§7.7): whether it is live and whether it is legacy (full power) or scoped.
// Scopes and expiry are visible only in a browser session.
type TokenProbe struct {
	Kind    TokenKind
	Live    bool
	Known   bool   // false when crates.io says it is not a crates.io token (401 format)
	Legacy  bool   // live and unscoped: every endpoint, every crate
	Scoped  bool   // live with endpoint and/or crate scopes
	Detail  string // crates.io's detail from the liveness probe
	Summary string // one line for humans
}

// ProbeToken runs the read-only probes of §7.7: GET /api/v1/me (live?) and
// GET /api/v1/me/tokens/0 (legacy 404 vs scoped 403). Trusted-publishing
// tokens are not API tokens and are only recognised, not sent.
func (c *Client) ProbeToken(ctx context.Context, token string) (TokenProbe, error) {
	secret.Register(token)
	p := TokenProbe{Kind: KindOf(token), Known: true}
	if p.Kind == KindTrustedPublishing {
		p.Summary = "a crates.io trusted-publishing token (30 minutes, minted by the OIDC exchange); it cannot be inspected"
		return p, nil
	}
	_, _, err := c.do(ctx, http.MethodGet, "/api/v1/me", token, nil)
	var ae *APIError
	if err == nil || !errors.As(err, &ae) {
		if err == nil {
			return p, diag.New(CodeAPI, "crates.io answered GET /api/v1/me with 200 to a token (only sessions should get that)")
		}
		return p, unreachable("the token probe", err)
	}
	p.Detail = ae.Detail
	switch {
	case ae.Status == http.StatusForbidden && ae.Detail == "this action can only be performed on the crates.io website":
		p.Live = true
	case ae.Status == http.StatusForbidden && ae.Detail == "authentication failed":
		p.Summary = "crates.io does not accept this token: unknown, revoked or expired"
		return p, nil
	case ae.Status == http.StatusUnauthorized:
		p.Known = false
		p.Summary = "crates.io says this is not a crates.io API token: " + ae.Detail
		return p, nil
	default:
		return p, unreachable("the token probe", err)
	}
	_, _, err = c.do(ctx, http.MethodGet, "/api/v1/me/tokens/0", token, nil)
	switch st := statusOf(err); {
	case err == nil || st == http.StatusNotFound:
		p.Legacy = true
		p.Summary = "live legacy token: may publish, yank and change owners of every crate its owner owns"
	case st == http.StatusForbidden:
		p.Scoped = true
		p.Summary = "live scoped token: its endpoint and crate scopes are visible only at https://crates.io/settings/tokens"
	default:
		return p, unreachable("the token scope probe", err)
	}
	return p, nil
}

// CoversTrustedPublishing probes whether a scoped token's scopes cover
// crate for the `trusted-publishing` endpoint (§7.7 step 3): 403 with the
// permissions text → false; 200, 400 not-an-owner or 404 → true.
func (c *Client) CoversTrustedPublishing(ctx context.Context, token, crate string) (bool, error) {
	secret.Register(token)
	_, _, err := c.do(ctx, http.MethodGet, "/api/v1/trusted_publishing/github_configs?crate="+url.QueryEscape(crate)+"&per_page=1", token, nil)
	switch st := statusOf(err); {
	case err == nil, st == http.StatusBadRequest, st == http.StatusNotFound:
		return true, nil
	case st == http.StatusForbidden:
		return false, nil
	default:
		return false, unreachable("the token scope probe", err)
	}
}

// Upload sends a publish request (PUT /api/v1/crates/new; body framed by
// cratefile.UploadBody) with token, as cargo's crates-io crate does: the
// token is the Authorization header as it is, the body
// application/octet-stream. It is tried once: after an ambiguous failure the
// caller asks crates.io whether the version landed before sending it again.
// The answer's warnings (invalid categories, badges, other) are returned.
func (c *Client) Upload(ctx context.Context, token string, body []byte) ([]string, error) {
	secret.Register(token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+"/api/v1/crates/new", nil)
	if err != nil {
		return nil, fmt.Errorf("crates.io publish request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", token)
	once := *c.h
	once.Policy.Attempts = 1
	_, b, err := once.Do(ctx, req, body)
	if err != nil {
		var he *httpx.Error
		if errors.As(err, &he) {
			return nil, &APIError{Status: he.StatusCode, Detail: Detail([]byte(he.Body)), Err: he}
		}
		return nil, err
	}
	var v struct {
		Warnings struct {
			InvalidCategories []string `json:"invalid_categories"`
			InvalidBadges     []string `json:"invalid_badges"`
			Other             []string `json:"other"`
		} `json:"warnings"`
	}
	var warnings []string
	if json.Unmarshal(b, &v) == nil {
		if len(v.Warnings.InvalidCategories) > 0 {
			warnings = append(warnings, "not valid category slugs, ignored by crates.io: "+strings.Join(v.Warnings.InvalidCategories, ", "))
		}
		if len(v.Warnings.InvalidBadges) > 0 {
			warnings = append(warnings, "not valid badges, ignored by crates.io: "+strings.Join(v.Warnings.InvalidBadges, ", "))
		}
		warnings = append(warnings, v.Warnings.Other...)
	}
	return warnings, nil
}
