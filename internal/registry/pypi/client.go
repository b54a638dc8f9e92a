// Package pypi is putitoutthere's PyPI client: the trusted-publishing
// exchange (audience, mint-token), version and file lookups through the JSON
// API, and native uploads over the legacy upload API, with uploads that may
// have landed settled by asking PyPI before any retry.
package pypi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/rules"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Defaults (SPEC §10).
const (
	DefaultURL       = "https://pypi.org"
	DefaultUploadURL = "https://upload.pypi.org/legacy/"
	EnvURL           = "PUTITOUTTHERE_PYPI_URL"
	EnvUploadURL     = "PUTITOUTTHERE_PYPI_UPLOAD_URL"
)

// Stable codes raised by the client (docs/errors.md, "PyPI").
const (
	CodeUnreachable        = "PIOT_PYPI_UNREACHABLE"
	CodeNotEnabled         = "PIOT_PYPI_NOT_ENABLED"
	CodeNoTrustedPublish   = "PIOT_PYPI_NO_TRUSTED_PUBLISHING"
	CodeMintFailed         = "PIOT_PYPI_MINT_FAILED"
	CodeInvalidPublisher   = "PIOT_PYPI_INVALID_PUBLISHER"
	CodeInvalidReuseToken  = "PIOT_PYPI_INVALID_REUSE_TOKEN"
	CodeInvalidToken       = "PIOT_PYPI_INVALID_TOKEN"
	CodeInvalidPending     = "PIOT_PYPI_INVALID_PENDING_PUBLISHER"
	CodeInvalidPayload     = "PIOT_PYPI_INVALID_PAYLOAD"
	CodeBadDistribution    = "PIOT_PYPI_BAD_DISTRIBUTION"
	CodeUploadForbidden    = "PIOT_PYPI_UPLOAD_FORBIDDEN"
	CodeFileExists         = "PIOT_PYPI_FILE_EXISTS"
	CodeUploadRejected     = "PIOT_PYPI_UPLOAD_REJECTED"
	CodeUploadUnavailable  = "PIOT_PYPI_UPLOAD_UNAVAILABLE"
	CodeAttestationRefused = "PIOT_PYPI_ATTESTATION_REFUSED"
)

// Client talks to one PyPI (or TestPyPI, or an emulator).
type Client struct {
	BaseURL   string // JSON API and /_/oidc/* (no trailing slash)
	UploadURL string // legacy upload endpoint (with its trailing slash)
	HTTP      *httpx.Client
}

// New reads PUTITOUTTHERE_PYPI_URL / PUTITOUTTHERE_PYPI_UPLOAD_URL.
func New(e env.Env, h *httpx.Client) *Client {
	if h == nil {
		h = httpx.New()
	}
	base := e.Value(EnvURL)
	if base == "" {
		base = DefaultURL
	}
	up := e.Value(EnvUploadURL)
	if up == "" {
		up = DefaultUploadURL
	}
	return &Client{BaseURL: strings.TrimRight(base, "/"), UploadURL: up, HTTP: h}
}

func (c *Client) get(ctx context.Context, u string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	return c.HTTP.Do(ctx, req, nil)
}

func unreachable(what string, err error) *diag.Error {
	return diag.New(CodeUnreachable, "PyPI: %s", what).Wrap(err).
		WithHint("check the network and %s; PyPI's status is at https://status.python.org", EnvURL)
}

// Audience asks PyPI which audience its trusted-publishing ID tokens need.
func (c *Client) Audience(ctx context.Context) (string, error) {
	u := c.BaseURL + "/_/oidc/audience"
	_, body, err := c.get(ctx, u)
	switch httpx.StatusOf(err) {
	case 0:
		if err != nil {
			return "", unreachable("GET "+u+" failed", err)
		}
	case http.StatusForbidden:
		return "", diag.New(CodeNotEnabled, "PyPI at %s has trusted publishing disabled (HTTP 403: %s)", c.BaseURL, strings.TrimSpace(string(body))).
			WithHint("set PYPI_API_TOKEN to upload with an API token until PyPI re-enables trusted publishing")
	case http.StatusNotFound:
		return "", diag.New(CodeNoTrustedPublish, "the index at %s does not support trusted publishing (GET /_/oidc/audience: HTTP 404)", c.BaseURL).
			WithHint("check %s; or set PYPI_API_TOKEN to upload with an API token", EnvURL)
	default:
		return "", unreachable("GET "+u+" failed", err)
	}
	var v struct {
		Audience string `json:"audience"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Audience == "" {
		return "", diag.New(CodeMintFailed, "PyPI: unexpected answer from %s: %q", u, truncate(string(body)))
	}
	return v.Audience, nil
}

// MintError is PyPI's refusal of a trusted-publishing exchange.
type MintError struct {
	Code        string // e.g. invalid-publisher
	Description string
	Status      int
}

func (e *MintError) Error() string {
	return fmt.Sprintf("PyPI refused the token exchange (%s): %s", e.Code, e.Description)
}

// MintCode maps a PyPI exchange error code to the stable PIOT code.
func MintCode(code string) string {
	return "PIOT_PYPI_" + strings.ToUpper(strings.ReplaceAll(code, "-", "_"))
}

var mintHints = map[string]string{
	"invalid-publisher":         "compare the claims with the trusted publisher on the project's PyPI page (Manage → Publishing): owner, repository, workflow filename (from job_workflow_ref) and environment must match exactly",
	"invalid-reuse-token":       "each ID token can be exchanged once; request a fresh one for every exchange",
	"invalid-token":             "the GitHub ID token was refused (signature, expiry or audience); request it for the audience PyPI's /_/oidc/audience returns, just before the exchange",
	"invalid-pending-publisher": "the project now exists, so its pending publisher was removed; add a regular trusted publisher on the project's page",
	"not-enabled":               "trusted publishing is disabled on this index; set PYPI_API_TOKEN to upload with an API token",
	"invalid-payload":           "PyPI could not use the request: for a pending publisher, the project it would create was refused (its name); otherwise the ID token's issuer is one PyPI does not accept",
}

// MintToken exchanges a GitHub ID token for a short-lived PyPI token. The
// token is registered as a secret before it is returned.
func (c *Client) MintToken(ctx context.Context, idToken string) (string, time.Time, error) {
	u := c.BaseURL + "/_/oidc/mint-token"
	payload, _ := json.Marshal(map[string]string{"token": idToken})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	_, body, err := c.HTTP.Do(ctx, req, payload)
	if err != nil {
		status := httpx.StatusOf(err)
		if status == 0 || status >= 500 || status == 429 {
			return "", time.Time{}, unreachable("POST "+u+" failed", err)
		}
		var doc struct {
			Message string `json:"message"`
			Errors  []struct {
				Code        string `json:"code"`
				Description string `json:"description"`
			} `json:"errors"`
		}
		if json.Unmarshal(body, &doc) == nil && len(doc.Errors) > 0 {
			me := &MintError{Code: doc.Errors[0].Code, Description: doc.Errors[0].Description, Status: status}
			hint := mintHints[me.Code]
			if hint == "" {
				hint = "see PyPI's trusted-publishing troubleshooting: https://docs.pypi.org/trusted-publishers/troubleshooting/"
			}
			// A registry validation answer (a pending publisher's project
			// name PyPI refuses) is explained by its rule.
			if r := rules.FindByText(rules.PyPI, me.Description); r != nil {
				return "", time.Time{}, diag.New(MintCode(me.Code), "PyPI refused to create the project through its pending publisher (rule %s): %s", r.ID, secret.Redact(me.Description)).
					Wrap(me).WithHint("%s", r.Fix+"; a pending publisher creates the project on first use, so register it under the new name")
			}
			return "", time.Time{}, diag.New(MintCode(me.Code), "%s", secret.Redact(me.Error())).Wrap(me).WithHint("%s", hint)
		}
		return "", time.Time{}, diag.New(CodeMintFailed, "PyPI: POST %s: HTTP %d: %s", u, status, truncate(secret.Redact(string(body)))).
			WithHint("check %s points at a PyPI that supports trusted publishing", EnvURL)
	}
	var ok struct {
		Success bool   `json:"success"`
		Token   string `json:"token"`
		Expires int64  `json:"expires"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.Token == "" {
		return "", time.Time{}, diag.New(CodeMintFailed, "PyPI: unexpected answer from the token exchange (%d bytes)", len(body))
	}
	secret.Register(ok.Token)
	return ok.Token, time.Unix(ok.Expires, 0), nil
}

func truncate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func (c *Client) versionURL(project, version string) string {
	return c.BaseURL + "/pypi/" + url.PathEscape(pydist.Normalize(project)) + "/" + url.PathEscape(version) + "/json"
}

// VersionExists reports whether project has version (compared canonically by PyPI).
func (c *Client) VersionExists(ctx context.Context, project, version string) (bool, error) {
	_, _, err := c.get(ctx, c.versionURL(project, version))
	switch httpx.StatusOf(err) {
	case 0:
		if err != nil {
			return false, unreachable("looking up "+project+" "+version, err)
		}
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, unreachable("looking up "+project+" "+version, err)
}

// ProjectExists reports whether the project exists on the index (a new one
// is created by its first upload or pending publisher, subject to PyPI's
// name rules).
func (c *Client) ProjectExists(ctx context.Context, project string) (bool, error) {
	u := c.BaseURL + "/pypi/" + url.PathEscape(pydist.Normalize(project)) + "/json"
	_, _, err := c.get(ctx, u)
	switch httpx.StatusOf(err) {
	case 0:
		if err != nil {
			return false, unreachable("looking up "+project, err)
		}
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, unreachable("looking up "+project, err)
}

// fileDigests maps filename → sha256 for project's version (nil when absent).
func (c *Client) fileDigests(ctx context.Context, project, version string) (map[string]string, error) {
	_, body, err := c.get(ctx, c.versionURL(project, version))
	switch httpx.StatusOf(err) {
	case 0:
		if err != nil {
			return nil, unreachable("listing files of "+project+" "+version, err)
		}
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, unreachable("listing files of "+project+" "+version, err)
	}
	var doc struct {
		URLs []struct {
			Filename string            `json:"filename"`
			Digests  map[string]string `json:"digests"`
		} `json:"urls"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, unreachable("reading the JSON API answer for "+project+" "+version, err)
	}
	out := map[string]string{}
	for _, f := range doc.URLs {
		out[f.Filename] = strings.ToLower(f.Digests["sha256"])
	}
	return out, nil
}

// Files lists the filenames PyPI has for project's version.
func (c *Client) Files(ctx context.Context, project, version string) ([]string, error) {
	m, err := c.fileDigests(ctx, project, version)
	if err != nil {
		return nil, err
	}
	var out []string
	for f := range m {
		out = append(out, f)
	}
	return out, nil
}

// UploadResult says what an upload did.
type UploadResult string

const (
	Uploaded       UploadResult = "uploaded"
	AlreadyPresent UploadResult = "already-present"
)

// UploadFile is Upload for the publish handler: present is true when PyPI
// already had that exact file.
func (c *Client) UploadFile(ctx context.Context, token, path string, atts []*attest.Attestation) (bool, error) {
	r, err := c.UploadAttested(ctx, token, path, atts)
	return r == AlreadyPresent, err
}

// Upload sends one distribution file. A file PyPI already holds with the same
// sha256 counts as AlreadyPresent; one with different bytes is
// PIOT_PYPI_FILE_EXISTS. A timeout or 5xx after sending is settled by asking
// the JSON API before retrying. 4xx answers are never retried.
func (c *Client) Upload(ctx context.Context, token, path string) (UploadResult, error) {
	return c.UploadAttested(ctx, token, path, nil)
}

// UploadAttested is Upload with PEP 740 attestations in the `attestations`
// field. Each must name the bytes read for the upload (the file may not
// change between signing and sending); otherwise it is refused here with
// the words PyPI would use.
func (c *Client) UploadAttested(ctx context.Context, token, path string, atts []*attest.Attestation) (UploadResult, error) {
	secret.Register(token)
	d, err := pydist.Read(path)
	if err != nil {
		return "", diag.New(CodeBadDistribution, "cannot upload %s: %v", path, err).Wrap(err).
			WithHint("rebuild the distribution; a wheel needs *.dist-info/METADATA and an sdist PKG-INFO")
	}
	var attField string
	if len(atts) > 0 {
		for _, a := range atts {
			if got := a.SubjectSHA256(); got != d.Digests.SHA256 {
				return "", diag.New(CodeAttestationRefused, "PyPI would refuse %s (HTTP 400): Invalid attestations supplied during upload: %s", d.Filename,
					(&attest.Error{Reason: "subject does not match distribution digest"}).Error()).
					WithHint("%s changed after it was attested (attested sha256 %s, now %s); rebuild and publish again from the build job's artifacts", d.Filename, got, d.Digests.SHA256)
			}
		}
		if attField, err = attest.Marshal(atts); err != nil {
			return "", err
		}
	}
	ctype, body := form(d, attField)
	before, _ := c.fileDigests(ctx, d.Name(), d.Version())
	if sum, ok := before[d.Filename]; ok && sum != d.Digests.SHA256 {
		return "", fileExists(d, c.UploadURL, "PyPI already lists "+d.Filename+" with other contents")
	}

	single := *c.HTTP
	single.Policy.Attempts = 1
	attempts := c.HTTP.Policy.Attempts
	if attempts < 1 {
		attempts = 1
	}
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.UploadURL, bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "text/plain")
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("__token__:"+token)))
		resp, rbody, err := single.Do(ctx, req, body)
		if err == nil {
			if _, listed := before[d.Filename]; listed {
				return AlreadyPresent, nil
			}
			return Uploaded, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		status := httpx.StatusOf(err)
		if status != 0 && !httpx.Retryable(status) {
			respStatus := ""
			if resp != nil {
				respStatus = resp.Status
			}
			return c.rejected(ctx, d, status, respStatus, string(rbody), before)
		}
		// The upload may have landed. The registry's read side can lag its
		// write side (a CDN in front of the JSON API): wait first, then ask,
		// and send again only when it does not list the file.
		lastErr = err
		wait := backoff(c.HTTP.Policy, attempt)
		var he *httpx.Error
		if errors.As(err, &he) && he.RetryAfter > 0 {
			wait = he.RetryAfter
			if c.HTTP.Policy.MaxDelay > 0 && wait > c.HTTP.Policy.MaxDelay {
				wait = c.HTTP.Policy.MaxDelay
			}
		}
		if attempt < attempts && c.HTTP.OnRetry != nil {
			c.HTTP.OnRetry(req, attempt, wait, err.Error())
		}
		if err := sleep(ctx, c.HTTP, wait); err != nil {
			return "", err
		}
		if now, qerr := c.fileDigests(ctx, d.Name(), d.Version()); qerr == nil {
			if sum, ok := now[d.Filename]; ok {
				if sum != d.Digests.SHA256 {
					return "", fileExists(d, c.UploadURL, "PyPI lists "+d.Filename+" with other contents")
				}
				if _, listed := before[d.Filename]; listed {
					return AlreadyPresent, nil
				}
				return Uploaded, nil
			}
		}
		if attempt == attempts {
			break
		}
	}
	return "", diag.New(CodeUploadUnavailable, "uploading %s to %s failed after %d attempts", d.Filename, c.UploadURL, attempts).Wrap(lastErr).
		WithHint("PyPI did not accept the file and does not list it; re-run publish later (files already uploaded are skipped)")
}

func backoff(p httpx.Policy, attempt int) time.Duration {
	d := p.BaseDelay << (attempt - 1)
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

func sleep(ctx context.Context, h *httpx.Client, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func fileExists(d *pydist.Dist, where, msg string) *diag.Error {
	return diag.New(CodeFileExists, "%s: %s (PyPI never accepts different bytes under a filename it has seen)", where, msg).
		WithHint("bump the version and publish again; a filename on PyPI can never be reused, even after deletion")
}

// rejected turns a 4xx upload answer into a diagnosis. PyPI puts its message
// in the status line's reason phrase and in the body; both are read.
func (c *Client) rejected(ctx context.Context, d *pydist.Dist, status int, respStatus, body string, before map[string]string) (UploadResult, error) {
	msg := Message(status, respStatus, body)
	if status == http.StatusBadRequest && strings.Contains(strings.ToLower(respStatus+" "+body), "already exist") {
		// Is that exact file there (a retry that landed, a re-run)?
		if now, err := c.fileDigests(ctx, d.Name(), d.Version()); err == nil {
			if sum, ok := now[d.Filename]; ok && sum == d.Digests.SHA256 {
				return AlreadyPresent, nil
			}
		}
		return "", fileExists(d, c.UploadURL, msg)
	}
	if status == http.StatusBadRequest && strings.Contains(msg, "Invalid attestations supplied during upload") {
		return "", diag.New(CodeAttestationRefused, "PyPI refused the attestation of %s (HTTP 400): %s", d.Filename, msg).
			WithHint("%s", attestationHint(msg))
	}
	if status == http.StatusForbidden {
		hint := "check the token: PYPI_API_TOKEN must be a token scoped to this project (or user-wide), or the trusted publisher must list this project"
		if strings.Contains(msg, "Invalid or non-existent authentication") {
			hint = "the token is malformed, revoked or for another index; create a new API token or use trusted publishing"
		} else if strings.Contains(msg, "token is expired") {
			hint = "the minted token lives 15 minutes; re-run publish to mint a fresh one"
		}
		return "", diag.New(CodeUploadForbidden, "PyPI refused the upload of %s (HTTP 403): %s", d.Filename, msg).WithHint("%s", hint)
	}
	if r := rules.FindByText(rules.PyPI, msg); r != nil {
		return "", diag.New(CodeUploadRejected, "PyPI rejected %s (HTTP %d, rule %s): %s", d.Filename, status, r.ID, msg).
			WithHint("%s; then publish a new build", r.Fix)
	}
	return "", diag.New(CodeUploadRejected, "PyPI rejected %s (HTTP %d): %s", d.Filename, status, msg).
		WithHint("fix the distribution or its metadata as PyPI's message says, then publish a new build")
}

// Message extracts PyPI's error text: the reason phrase when it is not the
// standard one, else the last paragraph of the body.
func Message(status int, respStatus, body string) string {
	reason := strings.TrimSpace(strings.TrimPrefix(respStatus, fmt.Sprint(status)))
	if reason != "" && reason != http.StatusText(status) {
		return secret.Redact(reason)
	}
	paras := strings.Split(strings.ReplaceAll(strings.TrimSpace(body), "\r\n", "\n"), "\n\n")
	for i := len(paras) - 1; i >= 0; i-- {
		if p := strings.TrimSpace(paras[i]); p != "" && !strings.HasPrefix(p, "<") {
			return truncate(secret.Redact(p)) // redacted whole: a cut could leave part of an encoded token
		}
	}
	if reason == "" {
		reason = http.StatusText(status)
	}
	return reason
}

// form builds the multipart upload body, one file per request, the way twine does.
func form(d *pydist.Dist, attestations string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(":action", "file_upload")
	_ = mw.WriteField("protocol_version", "1")
	for _, kv := range d.FormFields() {
		_ = mw.WriteField(kv[0], kv[1])
	}
	_ = mw.WriteField("sha256_digest", d.Digests.SHA256)
	_ = mw.WriteField("blake2_256_digest", d.Digests.Blake2256)
	if attestations != "" {
		// A JSON array of PEP 740 objects (twine: --attestations).
		_ = mw.WriteField("attestations", attestations)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename=%q`, d.Filename))
	h.Set("Content-Type", "application/octet-stream")
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(d.Data)
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// attestationHint says what to do about an attestation PyPI refused.
func attestationHint(msg string) string {
	switch {
	case strings.Contains(msg, "only supported when using Trusted Publishing"):
		return "PyPI verifies attestations against a trusted publisher; publish with trusted publishing (id-token: write) or set attestations = false for the package"
	case strings.Contains(msg, "OIDCSourceRepositoryURI"), strings.Contains(msg, "Build Config URI"), strings.Contains(msg, "OIDCIssuerV2"):
		return "the signing certificate names another repository or workflow than the project's trusted publisher on PyPI; publish from the workflow the publisher names (PyPI compares the top-level workflow, not a reusable one it calls)"
	case strings.Contains(msg, "distribution digest"), strings.Contains(msg, "distribution name"):
		return "the file differs from the one that was attested; rebuild and publish the build job's artifacts unchanged"
	}
	return "fix the attestation as PyPI's message says, or set attestations = false for the package to upload without one"
}
