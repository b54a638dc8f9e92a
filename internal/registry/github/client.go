// Package github is the client for GitHub: the OAuth device flow (on
// GITHUB_SERVER_URL) and the REST API (on GITHUB_API_URL): the signed-in user,
// secret names of a repository and its environments, releases and refs.
//
// The device flow is implemented here rather than with cli/oauth's device
// package: that package sleeps with the real clock and cannot be given one,
// and tests must run slow_down and expiry without waiting.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/secret"
	"github.com/putitoutthere/putitoutthere/internal/termtext"
)

// Default base URLs (SPEC §10).
const (
	DefaultAPIURL    = "https://api.github.com"
	DefaultServerURL = "https://github.com"
	APIVersion       = "2022-11-28"
)

// Client talks to one GitHub instance.
type Client struct {
	HTTP      *httpx.Client
	APIURL    string // no trailing slash
	ServerURL string // no trailing slash
}

// New returns a client whose base URLs come from GITHUB_API_URL and
// GITHUB_SERVER_URL (defaults: github.com).
func New(e env.Env) *Client {
	api := strings.TrimRight(e.Value("GITHUB_API_URL"), "/")
	if api == "" {
		api = DefaultAPIURL
	}
	srv := strings.TrimRight(e.Value("GITHUB_SERVER_URL"), "/")
	if srv == "" {
		srv = DefaultServerURL
	}
	return &Client{HTTP: httpx.New(), APIURL: api, ServerURL: srv}
}

// APIError is a non-2xx REST answer with GitHub's own message.
type APIError struct {
	StatusCode       int
	Message          string
	DocumentationURL string
	Errors           []FieldError
	Err              *httpx.Error
	// RateLimited: a primary (x-ratelimit-remaining: 0) or secondary rate
	// limit answer (403 or 429); Reset is when the primary window resets.
	RateLimited bool
	Reset       time.Time
}

// FieldError is one entry of a validation error's "errors" list.
type FieldError struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Field    string `json:"field"`
	Message  string `json:"message,omitempty"`
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = strings.TrimSpace(e.Err.Body)
	}
	where := ""
	if e.Err != nil {
		where = e.Err.Method + " " + e.Err.URL + ": "
	}
	var codes []string
	for _, fe := range e.Errors {
		codes = append(codes, fe.Resource+"."+fe.Field+" "+fe.Code)
	}
	if len(codes) > 0 {
		msg += " (" + strings.Join(codes, ", ") + ")"
	}
	return secret.Redact(fmt.Sprintf("%sHTTP %d: %s", where, e.StatusCode, msg))
}

func (e *APIError) Unwrap() error { return e.Err }

// HasCode reports whether a validation error carries code (e.g. already_exists).
func (e *APIError) HasCode(code string) bool {
	for _, fe := range e.Errors {
		if fe.Code == code {
			return true
		}
	}
	return false
}

// StatusOf returns the HTTP status of err (0 when it has none).
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return httpx.StatusOf(err)
}

// IsRateLimited reports whether err is a GitHub rate-limit answer, and when
// the limit resets (zero when GitHub did not say).
func IsRateLimited(err error) (bool, time.Time) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RateLimited {
		return true, ae.Reset
	}
	return false, time.Time{}
}

// IsNotAccessible reports a 403 "Resource not accessible by integration": the
// token (GITHUB_TOKEN or an App) lacks the permission.
func IsNotAccessible(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden && strings.Contains(ae.Message, "not accessible by integration")
}

func asAPIError(resp *http.Response, err error) error {
	var he *httpx.Error
	if !errors.As(err, &he) {
		return err
	}
	ae := &APIError{StatusCode: he.StatusCode, Err: he}
	var body struct {
		Message          string       `json:"message"`
		DocumentationURL string       `json:"documentation_url"`
		Errors           []FieldError `json:"errors"`
	}
	if json.Unmarshal([]byte(he.Body), &body) == nil {
		ae.Message, ae.DocumentationURL, ae.Errors = body.Message, body.DocumentationURL, body.Errors
	}
	if (he.StatusCode == http.StatusForbidden || he.StatusCode == http.StatusTooManyRequests) && resp != nil {
		if resp.Header.Get("x-ratelimit-remaining") == "0" || strings.Contains(strings.ToLower(ae.Message), "rate limit") {
			ae.RateLimited = true
			if n, perr := strconv.ParseInt(resp.Header.Get("x-ratelimit-reset"), 10, 64); perr == nil && n > 0 {
				ae.Reset = time.Unix(n, 0).UTC()
			}
		}
	}
	return ae
}

// do sends one REST request with GitHub's conventional headers and decodes
// a JSON answer into out (when not nil). It returns the response headers.
func (c *Client) do(ctx context.Context, method, rawURL, token string, in, out any) (http.Header, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	if token != "" {
		secret.Register(token)
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, data, err := c.HTTP.Do(ctx, req, body)
	if err != nil {
		return nil, asAPIError(resp, err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: %w: %w", method, rawURL, ErrMalformed, err)
		}
	}
	return resp.Header, nil
}

func (c *Client) api(format string, args ...string) string {
	esc := make([]any, len(args))
	for i, a := range args {
		esc[i] = url.PathEscape(a)
	}
	return c.APIURL + fmt.Sprintf(format, esc...)
}

// nextLink returns the URL of Link rel="next", or "".
func nextLink(h http.Header) string {
	for _, part := range strings.Split(h.Get("Link"), ",") {
		seg := strings.Split(part, ";")
		if len(seg) < 2 {
			continue
		}
		u := strings.Trim(strings.TrimSpace(seg[0]), "<>")
		for _, p := range seg[1:] {
			if strings.ReplaceAll(strings.TrimSpace(p), " ", "") == `rel="next"` {
				return u
			}
		}
	}
	return ""
}

// maxPages bounds pagination so a misbehaving server cannot loop forever.
const maxPages = 100

// User is the authenticated user.
type User struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
}

// User returns who token belongs to.
func (c *Client) User(ctx context.Context, token string) (*User, error) {
	var u User
	if _, err := c.do(ctx, http.MethodGet, c.APIURL+"/user", token, nil, &u); err != nil {
		return nil, fmt.Errorf("reading the GitHub user: %w", err)
	}
	// The login is printed: nothing from the server reaches the terminal raw.
	u.Login = termtext.Clean(u.Login)
	if u.Login == "" || len(u.Login) > 100 {
		return nil, fmt.Errorf("reading the GitHub user: %w: no usable login", ErrMalformed)
	}
	return &u, nil
}

// SecretInfo is a secret's name and dates (values never leave GitHub).
type SecretInfo struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (c *Client) listSecrets(ctx context.Context, token, first string) ([]SecretInfo, error) {
	var all []SecretInfo
	next := first
	for i := 0; next != "" && i < maxPages; i++ {
		var page struct {
			Secrets []SecretInfo `json:"secrets"`
		}
		h, err := c.do(ctx, http.MethodGet, next, token, nil, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Secrets...)
		next = nextLink(h)
	}
	return all, nil
}

// RepoSecrets lists the names of owner/repo's Actions secrets (every page).
func (c *Client) RepoSecrets(ctx context.Context, token, owner, repo string) ([]SecretInfo, error) {
	s, err := c.listSecrets(ctx, token, c.api("/repos/%s/%s/actions/secrets?per_page=100", owner, repo))
	if err != nil {
		return nil, fmt.Errorf("listing secrets of %s/%s: %w", owner, repo, err)
	}
	return s, nil
}

// EnvSecrets lists the names of an environment's secrets (every page).
func (c *Client) EnvSecrets(ctx context.Context, token, owner, repo, environment string) ([]SecretInfo, error) {
	s, err := c.listSecrets(ctx, token, c.api("/repos/%s/%s/environments/%s/secrets?per_page=100", owner, repo, environment))
	if err != nil {
		return nil, fmt.Errorf("listing secrets of environment %q of %s/%s: %w", environment, owner, repo, err)
	}
	return s, nil
}

// Environment is a deployment environment.
type Environment struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Environments lists owner/repo's environments (every page).
func (c *Client) Environments(ctx context.Context, token, owner, repo string) ([]Environment, error) {
	var all []Environment
	next := c.api("/repos/%s/%s/environments?per_page=100", owner, repo)
	for i := 0; next != "" && i < maxPages; i++ {
		var page struct {
			Environments []Environment `json:"environments"`
		}
		h, err := c.do(ctx, http.MethodGet, next, token, nil, &page)
		if err != nil {
			return nil, fmt.Errorf("listing environments of %s/%s: %w", owner, repo, err)
		}
		all = append(all, page.Environments...)
		next = nextLink(h)
	}
	return all, nil
}

// Release is a GitHub Release.
type Release struct {
	ID              int64  `json:"id"`
	TagName         string `json:"tag_name"`
	TargetCommitish string `json:"target_commitish"`
	Name            string `json:"name"`
	Body            string `json:"body"`
	Draft           bool   `json:"draft"`
	Prerelease      bool   `json:"prerelease"`
	HTMLURL         string `json:"html_url"`
	URL             string `json:"url"`
	UploadURL       string `json:"upload_url"`
}

// ReleaseInput is the body of CreateRelease.
type ReleaseInput struct {
	TagName         string `json:"tag_name"`
	TargetCommitish string `json:"target_commitish,omitempty"`
	Name            string `json:"name,omitempty"`
	Body            string `json:"body,omitempty"`
	Draft           bool   `json:"draft,omitempty"`
	Prerelease      bool   `json:"prerelease,omitempty"`
	// MakeLatest is "true", "false" or "legacy"; "" leaves GitHub's default.
	MakeLatest string `json:"make_latest,omitempty"`
}

// ReleaseByTag returns the published release of tag; ok is false on 404.
func (c *Client) ReleaseByTag(ctx context.Context, token, owner, repo, tag string) (*Release, bool, error) {
	var rel Release
	_, err := c.do(ctx, http.MethodGet, c.api("/repos/%s/%s/releases/tags/%s", owner, repo, tag), token, nil, &rel)
	if StatusOf(err) == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the release of %s in %s/%s: %w", tag, owner, repo, err)
	}
	return &rel, true, nil
}

// CreateRelease creates a release. It is idempotent: when GitHub answers 422
// already_exists (a re-run, or a retry whose first try landed) the existing
// release is fetched and returned.
func (c *Client) CreateRelease(ctx context.Context, token, owner, repo string, in ReleaseInput) (*Release, error) {
	var rel Release
	_, err := c.do(ctx, http.MethodPost, c.api("/repos/%s/%s/releases", owner, repo), token, in, &rel)
	if err == nil {
		return &rel, nil
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusUnprocessableEntity && ae.HasCode("already_exists") {
		existing, ok, gerr := c.ReleaseByTag(ctx, token, owner, repo, in.TagName)
		if gerr != nil {
			return nil, gerr
		}
		if ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("creating the release %s in %s/%s: %w", in.TagName, owner, repo, err)
}

// Ref is a git reference.
type Ref struct {
	Ref    string `json:"ref"`
	Object struct {
		SHA  string `json:"sha"`
		Type string `json:"type"`
	} `json:"object"`
}

// GetRef reads ref (e.g. "tags/v1.2.3" or "refs/tags/v1.2.3"); ok is false on 404.
func (c *Client) GetRef(ctx context.Context, token, owner, repo, ref string) (*Ref, bool, error) {
	ref = strings.TrimPrefix(ref, "refs/")
	var r Ref
	// Each path segment is escaped on its own: the slashes of the ref stay.
	segs := strings.Split(ref, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := c.api("/repos/%s/%s/git/ref/", owner, repo) + strings.Join(segs, "/")
	_, err := c.do(ctx, http.MethodGet, u, token, nil, &r)
	if StatusOf(err) == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading ref %s of %s/%s: %w", ref, owner, repo, err)
	}
	return &r, true, nil
}

// RefExists reports whether the tag exists on GitHub.
func (c *Client) RefExists(ctx context.Context, token, owner, repo, tag string) (bool, error) {
	_, ok, err := c.GetRef(ctx, token, owner, repo, "tags/"+tag)
	return ok, err
}

// ErrRefExists is returned by CreateRef when the ref exists at another commit.
var ErrRefExists = errors.New("reference already exists")

// CreateRef creates refs/tags/<tag> at sha (a commit or a tag object). When
// the ref already exists at sha it succeeds (idempotent); at another sha it
// returns an error wrapping ErrRefExists.
func (c *Client) CreateRef(ctx context.Context, token, owner, repo, tag, sha string) error {
	ref := "refs/tags/" + tag
	_, err := c.do(ctx, http.MethodPost, c.api("/repos/%s/%s/git/refs", owner, repo), token,
		map[string]string{"ref": ref, "sha": sha}, nil)
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) && (ae.StatusCode == http.StatusUnprocessableEntity || ae.StatusCode == http.StatusConflict) &&
		strings.Contains(strings.ToLower(ae.Message), "already exists") {
		got, ok, gerr := c.GetRef(ctx, token, owner, repo, ref)
		if gerr == nil && ok && got.Object.SHA == sha {
			return nil
		}
		at := ""
		if ok {
			at = " at " + got.Object.SHA
		}
		return fmt.Errorf("creating %s in %s/%s: %w%s", ref, owner, repo, ErrRefExists, at)
	}
	return fmt.Errorf("creating %s in %s/%s: %w", ref, owner, repo, err)
}

// CreateTagObject creates an annotated tag object pointing at commit sha and
// returns the tag object's sha (pass it to CreateRef).
func (c *Client) CreateTagObject(ctx context.Context, token, owner, repo, tag, message, sha string) (string, error) {
	var out struct {
		SHA string `json:"sha"`
	}
	_, err := c.do(ctx, http.MethodPost, c.api("/repos/%s/%s/git/tags", owner, repo), token,
		map[string]string{"tag": tag, "message": message, "object": sha, "type": "commit"}, &out)
	if err != nil {
		return "", fmt.Errorf("creating tag object %s in %s/%s: %w", tag, owner, repo, err)
	}
	return out.SHA, nil
}

// postForm posts an OAuth form to the server URL and decodes the JSON answer.
func (c *Client) postForm(ctx context.Context, path string, form url.Values, out any) error {
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ServerURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	_, data, err := c.HTTP.Do(ctx, req, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("POST %s: %w: %w", c.ServerURL+path, ErrMalformed, err)
	}
	return nil
}
