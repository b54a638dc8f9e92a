// Package npm is the client for an npm registry: packument reads, version
// lookups, the trusted-publishing OIDC exchange, whoami and the token list
// (protocols.md §4, §7.6). Publishing itself is `npm publish`; ParseError reads
// its failures.
package npm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// RegistryEnv overrides the registry (SPEC §10).
const RegistryEnv = "PUTITOUTTHERE_NPM_REGISTRY"

// Error codes raised by the client.
const (
	CodeRegistryUnknown = "PIOT_NPM_REGISTRY_UNKNOWN"
	CodeTrustRefused    = "PIOT_NPM_TRUST_REFUSED"
)

// ErrIntrospectionUnavailable: the registry would not list tokens for this
// token (401/403). It does not mean the token is invalid (protocols.md §7.6).
var ErrIntrospectionUnavailable = errors.New("npm token introspection unavailable")

// Headers npm-registry-fetch sends. The registry has refused requests that do
// not look like npm's (protocols.md §4.1), so the client presents as npm.
const (
	npmVersion  = "11.6.2"
	nodeVersion = "v22.20.0"
)

// Client talks to one npm registry.
type Client struct {
	registry string // with a trailing slash
	h        *httpx.Client
	ci       bool
	session  string
	// ReadToken, when set, authenticates reads (restricted packages are
	// invisible without it).
	ReadToken string
}

// APIError is a registry answer that is not 2xx, with the registry's text:
// `error` for most endpoints, `message` for the OIDC exchange.
type APIError struct {
	Status  int
	Message string
	URL     string
}

func (e *APIError) Error() string {
	return secret.Redact(fmt.Sprintf("npm registry %s: HTTP %d: %s", e.URL, e.Status, e.Message))
}

// New returns a client for PUTITOUTTHERE_NPM_REGISTRY, or else the registry
// npm itself is configured with (`npm config get registry`), so a user's
// .npmrc is respected.
func New(ctx context.Context, e env.Env, h *httpx.Client) (*Client, error) {
	reg, ok := e.Get(RegistryEnv)
	if !ok {
		var err error
		reg, err = configuredRegistry(ctx, e)
		if err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(strings.TrimSpace(reg))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, diag.Usage(CodeRegistryUnknown, "npm registry %q is not an http(s) URL", reg).
			WithHint("set %s to the registry URL, e.g. the value of `npm config get registry`", RegistryEnv)
	}
	if h == nil {
		h = httpx.New()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Client{registry: withSlash(u.String()), h: h, ci: e.InActions(), session: hex.EncodeToString(b)}, nil
}

func withSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// lookupRegistry asks npm for its registry; tests replace it.
var lookupRegistry = func(ctx context.Context, e env.Env) (string, error) {
	bin, err := exec.LookPath("npm")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "config", "get", "registry")
	// npm reads the user's .npmrc through HOME / npm_config_userconfig, so it
	// runs with the caller's environment; it needs PATH to find node.
	cmd.Env = e.List()
	if !e.Has("PATH") {
		cmd.Env = append(cmd.Env, "PATH="+os.Getenv("PATH"))
	}
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm config get registry: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

var registryCache sync.Map // key: the env values npm's config depends on

// configuredRegistry runs npm once per distinct npm configuration.
func configuredRegistry(ctx context.Context, e env.Env) (string, error) {
	wd, _ := os.Getwd() // npm also reads the project's .npmrc
	key := strings.Join([]string{e.Value("HOME"), e.Value("NPM_CONFIG_USERCONFIG"), e.Value("npm_config_userconfig"),
		e.Value("npm_config_registry"), e.Value("NPM_CONFIG_REGISTRY"), wd}, "\x00")
	if v, ok := registryCache.Load(key); ok {
		return v.(string), nil
	}
	reg, err := lookupRegistry(ctx, e)
	if err != nil || reg == "" || reg == "undefined" {
		return "", diag.New(CodeRegistryUnknown, "cannot tell which npm registry to use: %s is unset and `npm config get registry` failed", RegistryEnv).
			Wrap(err).
			WithHint("install npm (it ships with Node.js) or set %s to the registry URL", RegistryEnv)
	}
	registryCache.Store(key, reg)
	return reg, nil
}

// Registry is the registry URL, with a trailing slash.
func (c *Client) Registry() string { return c.registry }

// Audience is the ID-token audience npm requests: "npm:" + the registry's
// hostname, without a port (npm's lib/utils/oidc.js uses URL.hostname).
func (c *Client) Audience() string {
	u, _ := url.Parse(c.registry)
	return "npm:" + u.Hostname()
}

// EscapeName is npm's escapedName: a scoped name's slash becomes %2f and
// nothing else changes.
func EscapeName(name string) string {
	if strings.HasPrefix(name, "@") {
		return strings.Replace(name, "/", "%2f", 1)
	}
	return name
}

// EscapeName is the package-level EscapeName, for callers holding a client.
func (c *Client) EscapeName(name string) string { return EscapeName(name) }

// userAgent mimics npm-registry-fetch's user-agent template.
func (c *Client) userAgent() string {
	platform, arch := runtime.GOOS, runtime.GOARCH
	switch platform {
	case "windows":
		platform = "win32"
	}
	switch arch {
	case "amd64":
		arch = "x64"
	case "386":
		arch = "ia32"
	}
	ua := fmt.Sprintf("npm/%s node/%s %s %s workspaces/false", npmVersion, nodeVersion, platform, arch)
	if c.ci {
		ua += " ci/github-actions"
	}
	return ua
}

func (c *Client) newRequest(ctx context.Context, method, rawURL, command, token, accept string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, err
	}
	// Go would re-encode %2f when it rebuilds the path; keep npm's form.
	req.URL.RawPath = req.URL.EscapedPath()
	req.Header.Set("User-Agent", c.userAgent())
	req.Header.Set("npm-auth-type", "web")
	req.Header.Set("npm-command", command)
	req.Header.Set("npm-session", c.session)
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// do sends req and decodes a JSON 2xx answer into out. Non-2xx answers come
// back as *APIError carrying the registry's text.
func (c *Client) do(ctx context.Context, req *http.Request, out any) (int, error) {
	resp, body, err := c.h.Do(ctx, req, nil)
	if err != nil {
		var he *httpx.Error
		if errors.As(err, &he) {
			return he.StatusCode, &APIError{Status: he.StatusCode, Message: registryText(he.Body), URL: redactURL(req.URL)}
		}
		return 0, fmt.Errorf("npm registry %s: %w", redactURL(req.URL), err)
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("npm registry %s: decoding the answer: %w", redactURL(req.URL), err)
		}
	}
	return resp.StatusCode, nil
}

// registryText pulls the human text out of an error body: `error`, then
// `message`, else the (trimmed) body itself.
func registryText(body string) string {
	var v struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal([]byte(body), &v) == nil {
		if s, ok := v.Error.(string); ok && s != "" {
			return secret.Redact(s)
		}
		if v.Message != "" {
			return secret.Redact(v.Message)
		}
		if v.Reason != "" {
			return secret.Redact(v.Reason)
		}
	}
	var s string
	if json.Unmarshal([]byte(body), &s) == nil && s != "" {
		return secret.Redact(s)
	}
	body = strings.TrimSpace(secret.Redact(body)) // before the cut (see httpx.Error)
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return body
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return secret.Redact(c.String())
}

// url builds registry + path, keeping %2f encoded.
func (c *Client) url(path string) string { return c.registry + strings.TrimPrefix(path, "/") }
