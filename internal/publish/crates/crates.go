// Package crates publishes to crates.io: `cargo publish` from the package's
// directory, with CARGO_REGISTRY_TOKEN (the workflow's choice wins) or a
// short-lived token from the trusted-publishing exchange, revoked afterwards.
package crates

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
	"github.com/putitoutthere/putitoutthere/internal/rules"
	"github.com/putitoutthere/putitoutthere/internal/run"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes raised here.
const (
	CodePublishFailed = "PIOT_CRATES_PUBLISH_FAILED"
	CodeTrustRefused  = cratesio.CodeTrustRefused
)

// Client is what the handler needs from crates.io (*cratesio.Client).
type Client interface {
	VersionExists(ctx context.Context, name, version string) (bool, error)
	CrateExists(ctx context.Context, name string) (bool, error)
	ExchangeToken(ctx context.Context, jwt string) (string, error)
	RevokeToken(ctx context.Context, token string) error
	PublishArgs() []string
	PublishEnv(token string) []string
	CrateURL(name, version string) string
	BaseURL() string
	Upload(ctx context.Context, token string, body []byte) ([]string, error)
	IndexHasVersion(ctx context.Context, name, version string) (bool, error)
}

var _ Client = (*cratesio.Client)(nil)

// Handler implements publish.Handler for crates.io.
type Handler struct {
	Client Client
	Runner run.Runner
	// IDToken fetches a GitHub ID token for an audience (auth.FetchIDToken).
	IDToken func(ctx context.Context, audience string) (string, error)
	// Mask hides a minted token in the Actions log (::add-mask::); may be nil.
	Mask func(token string)
	Now  func() time.Time
	// HTTP is used for reads the client has no method for (status); nil = default.
	HTTP *httpx.Client
	// Sleep waits out crates.io's rate limit (nil = a real, ctx-aware wait);
	// MaxRateWait caps one wait (default 15 minutes).
	Sleep       func(ctx context.Context, d time.Duration) error
	MaxRateWait time.Duration
	// Progress receives a line when publish waits.
	Progress func(format string, a ...any)
}

var _ publish.Handler = (*Handler)(nil)

// Registry implements publish.Handler.
func (h *Handler) Registry() string { return "crates.io" }

// URL implements publish.Handler.
func (h *Handler) URL(name, version string) string { return h.Client.CrateURL(name, version) }

// Published implements publish.Handler.
func (h *Handler) Published(ctx context.Context, j publish.Job) (bool, error) {
	return h.Client.VersionExists(ctx, j.Name(), j.Version())
}

// PackageExists implements publish.Handler.
func (h *Handler) PackageExists(ctx context.Context, j publish.Job) (bool, error) {
	return h.Client.CrateExists(ctx, j.Name())
}

// CrateExists says whether a crate (a dependency of one being released) is
// on crates.io; the registry-rules step uses it.
func (h *Handler) CrateExists(ctx context.Context, name string) (bool, error) {
	return h.Client.CrateExists(ctx, name)
}

func (h *Handler) mask(t string) {
	if h.Mask != nil {
		h.Mask(t)
	}
}

// Authorize implements publish.Handler.
func (h *Handler) Authorize(ctx context.Context, j publish.Job) (*publish.Credential, error) {
	if j.Auth.Method == auth.MethodToken {
		return &publish.Credential{Method: auth.MethodToken, EnvName: j.Auth.EnvName, Token: j.Env.Value(j.Auth.EnvName)}, nil
	}
	var idt, tok string
	var err error
	// An exchange whose answer was lost (the connection dropped after crates.io
	// minted the token) is retried by the HTTP client with the same ID token,
	// which crates.io then refuses as reused: one more exchange with a fresh
	// ID token settles it. The lost token expires by itself within 30 minutes.
	for attempt := 0; attempt < 2; attempt++ {
		if idt, err = h.IDToken(ctx, cratesio.Audience); err != nil {
			return nil, err
		}
		h.mask(idt)
		if tok, err = h.Client.ExchangeToken(ctx, idt); !errors.Is(err, cratesio.ErrJWTReused) {
			break
		}
	}
	if err != nil {
		de := publish.Refusal(err, CodeTrustRefused, "crates.io", idt, publish.WorkflowClaimCaller,
			h.Client.BaseURL()+"/crates/"+j.Name()+"/settings (Trusted Publishing)",
			"CARGO_REGISTRY_TOKEN is not set; when it is set, it is used instead of the exchange (the workflow decides)")
		// The client does not know which crate it exchanged for; we do.
		de.Hint = strings.ReplaceAll(de.Hint, "/crates/<name>/", "/crates/"+j.Name()+"/")
		return nil, de
	}
	secret.Register(tok)
	h.mask(tok)
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	c := &publish.Credential{Method: auth.MethodOIDC, Token: tok, Expires: now().Add(30 * time.Minute)}
	c.Revoke = func(ctx context.Context) error { return h.Client.RevokeToken(ctx, tok) }
	return c, nil
}

func (h *Handler) args(j publish.Job, extra ...string) []string {
	args := append([]string{"publish"}, extra...)
	args = append(args, "--allow-dirty", "--color", "never")
	if len(j.Package.Features) > 0 {
		args = append(args, "--features", strings.Join(j.Package.Features, ","))
	}
	if j.Package.NoDefaultFeatures {
		args = append(args, "--no-default-features")
	}
	return append(args, h.Client.PublishArgs()...)
}

func dir(j publish.Job) string { return filepath.Join(j.Root, filepath.FromSlash(j.Package.Path)) }

// Publish implements publish.Handler. A package with a .crate artifact
// ships that file, the one the packaging and registry-rule checks read,
// through crates.io's publish API; without one, `cargo publish` packages and
// uploads the source tree the checks read (cargo gets the token only through
// its environment, never in argv).
func (h *Handler) Publish(ctx context.Context, j publish.Job, c *publish.Credential) error {
	if f, err := crateArtifact(j); err != nil {
		return err
	} else if f != "" {
		return h.upload(ctx, j, c, f)
	}
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		_, err = h.Runner.Run(ctx, run.Cmd{Dir: dir(j), Name: "cargo", Args: h.args(j), Env: append(h.Client.PublishEnv(c.Token), "CARGO_TERM_COLOR=never")})
		if err == nil {
			return nil
		}
		again, landed, werr := h.waitThenAsk(ctx, j, err, transient(err.Error()) && attempt < 2, attempt)
		if werr != nil || landed {
			return werr
		}
		if !again {
			break
		}
	}
	return failure(diag.New(CodePublishFailed, "cargo publish of %s %s failed", j.Name(), j.Version()).Wrap(err), err.Error(),
		strings.Contains(err.Error(), "Too Many Requests") || strings.Contains(err.Error(), "429"),
		"read cargo's error above; re-run after fixing it: packages already published are skipped")
}

// waitThenAsk decides whether a failed publish is tried again: crates.io's
// burst limit is paced with the time it names, and a 5xx or a network
// failure (transient) is retried with backoff. Either way crates.io is asked
// after the wait whether the upload landed, so a version it accepted is never
// sent again. again: send once more; landed: the version is there.
func (h *Handler) waitThenAsk(ctx context.Context, j publish.Job, err error, transient bool, attempt int) (again, landed bool, _ error) {
	wait, ok := h.rateWait(err.Error())
	why := "crates.io rate limit"
	if !ok && transient {
		wait, ok, why = time.Duration(2<<attempt)*time.Second, true, "crates.io or the network failed"
	}
	if !ok {
		return false, false, nil
	}
	if h.Progress != nil {
		h.Progress("%s %s: %s; waiting %s before publishing again", j.Name(), j.Version(), why, wait.Round(time.Second))
	}
	if serr := h.sleep(ctx, wait); serr != nil {
		return false, false, serr
	}
	if ok, qerr := h.Client.VersionExists(ctx, j.Name(), j.Version()); qerr == nil && ok {
		return false, true, nil
	}
	return true, false, nil
}

// failure gives a refused publish (msg: what cargo or crates.io said) its
// hint: the registry rule it broke, a missing crate, a rate limit
// (rateLimited: the caller's own reading of msg), or otherwise fallback.
func failure(e *diag.Error, msg string, rateLimited bool, fallback string) error {
	switch {
	case strings.Contains(msg, "do not support creating new crates"):
		e.Hint = "the crate does not exist on crates.io yet: publish it once with a crates.io API token in CARGO_REGISTRY_TOKEN, then add the trusted publisher in the crate's settings"
	case rateLimited || strings.Contains(msg, "published too many"):
		e.Hint = "crates.io rate-limited the publish; re-run later: published crates are skipped"
	case rules.FindByText(rules.Crates, msg) != nil:
		r := rules.FindByText(rules.Crates, msg)
		e.Msg += " (crates.io refused it: rule " + r.ID + ")"
		e.Hint = r.Fix + "; re-run after fixing it: packages already published are skipped"
	default:
		e.Hint = fallback
	}
	return e
}

// DryRun implements publish.Handler: the publish request is built from the
// .crate artifact when there is one; else `cargo publish --dry-run`.
func (h *Handler) DryRun(ctx context.Context, j publish.Job) []string {
	if f, err := crateArtifact(j); err != nil {
		return []string{err.Error()}
	} else if f != "" {
		if _, err := uploadRequest(j, f); err != nil {
			return []string{err.Error()}
		}
		return nil
	}
	_, err := h.Runner.Run(ctx, run.Cmd{Dir: dir(j), Name: "cargo", Args: h.args(j, "--dry-run"), Env: append(noToken(h.Client.PublishEnv("")), "CARGO_TERM_COLOR=never")})
	if err != nil {
		return []string{err.Error()}
	}
	return nil
}

// noToken drops the empty token entries: a dry run needs none, and cargo
// refuses an empty one.
func noToken(kvs []string) []string {
	var out []string
	for _, kv := range kvs {
		if !strings.HasSuffix(kv, "_TOKEN=") {
			out = append(out, kv)
		}
	}
	return out
}

// Latest implements publish.Latester: crates.io's max_version of the crate.
func (h *Handler) Latest(ctx context.Context, name string) (string, bool, error) {
	var v struct {
		Crate struct {
			MaxVersion    string `json:"max_version"`
			NewestVersion string `json:"newest_version"`
		} `json:"crate"`
	}
	found, err := publish.GetJSON(ctx, h.HTTP, h.Client.BaseURL()+"/api/v1/crates/"+url.PathEscape(name), &v)
	if err != nil || !found {
		return "", found, err
	}
	if v.Crate.MaxVersion != "" {
		return v.Crate.MaxVersion, true, nil
	}
	return v.Crate.NewestVersion, true, nil
}

var retryAfterRe = regexp.MustCompile(`try again after (.+?) and see`)

// rateWait reads crates.io's 429 detail ("Please try again after <HTTP-date>
// and see ...") out of cargo's error and returns how long to wait.
func (h *Handler) rateWait(msg string) (time.Duration, bool) {
	if !strings.Contains(msg, "429") && !strings.Contains(msg, "Too Many Requests") {
		return 0, false
	}
	max := h.MaxRateWait
	if max == 0 {
		max = 15 * time.Minute
	}
	wait := time.Minute
	if m := retryAfterRe.FindStringSubmatch(msg); m != nil {
		if t, err := http.ParseTime(strings.TrimSpace(m[1])); err == nil {
			now := time.Now
			if h.Now != nil {
				now = h.Now
			}
			wait = t.Sub(now())
		}
	}
	if wait < time.Second {
		wait = time.Second
	}
	if wait > max {
		return 0, false
	}
	return wait, true
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
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

// transient reports whether cargo's error is a server or network failure
// worth another try (never a 4xx refusal). cargo words a 5xx as
// "failed to get a 200 OK response, got 503" or "(status 503 …)".
func transient(msg string) bool {
	if transientStatus.MatchString(msg) {
		return true
	}
	for _, s := range []string{
		"Couldn't connect to server", "Empty reply from server", "Failure when receiving data",
		"Connection reset", "connection reset", "Operation timed out", "timed out",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

var transientStatus = regexp.MustCompile(`(?:\(status|got) 5\d\d\b`)

// CodeCrateMismatch: the .crate about to be uploaded is not the planned
// package and version.
const CodeCrateMismatch = "PIOT_CRATES_ARTIFACT_MISMATCH"

// maxCrate bounds the .crate read for upload (crates.io's own limit is
// 10 MiB unless raised for a crate).
const maxCrate = 1 << 30

// crateArtifact is the job's .crate artifact, or "" when it has none (the
// crate is then packaged from source by cargo publish).
func crateArtifact(j publish.Job) (string, error) {
	var found []string
	for _, row := range j.Rows {
		for _, f := range artifacts.Match(artifacts.Folder(j.Root, row), ".crate") {
			found = append(found, f.Path)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", diag.New(CodeCrateMismatch, "%s has %d .crate artifacts; one is uploaded", j.Name(), len(found)).
		WithHint("keep one .crate per crate in its artifact folder")
}

// uploadRequest reads the .crate at f, checks it is the planned crate and
// version, and frames crates.io's publish request from it.
func uploadRequest(j publish.Job, f string) ([]byte, error) {
	data, err := safefile.ReadFile(f, maxCrate)
	if err != nil {
		return nil, diag.New(CodeCrateMismatch, "reading the .crate of %s", j.Name()).Wrap(err)
	}
	meta, info, err := cratefile.PublishMetadata(data)
	if err != nil {
		return nil, diag.New(CodeCrateMismatch, "the .crate of %s cannot be published", j.Name()).Wrap(err).
			WithHint("rebuild it with `cargo package`")
	}
	if info.Name != j.Name() || info.Version != j.Version() {
		return nil, diag.New(CodeCrateMismatch, "%s is %s %s, the plan publishes %s %s; nothing was uploaded for it", filepath.Base(f), info.Name, info.Version, j.Name(), j.Version()).
			WithHint("build the .crate from the commit being released (`putitoutthere prepare`, then `cargo package`)")
	}
	return cratefile.UploadBody(meta, data)
}

// upload ships the .crate at f through crates.io's publish API. An answer
// that may have been lost (network failure, 5xx) is followed by asking
// crates.io whether the version landed before the request is sent again, so
// a version is never sent twice after it was accepted.
func (h *Handler) upload(ctx context.Context, j publish.Job, c *publish.Credential, f string) error {
	body, err := uploadRequest(j, f)
	if err != nil {
		return err
	}
	ambiguous := false
	for attempt := 0; attempt < 4; attempt++ {
		var warnings []string
		warnings, err = h.Client.Upload(ctx, c.Token, body)
		if err == nil {
			for _, w := range warnings {
				if h.Progress != nil {
					h.Progress("%s %s: crates.io: %s", j.Name(), j.Version(), w)
				}
			}
			h.awaitIndex(ctx, j)
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		var ae *cratesio.APIError
		status := 0
		if errors.As(err, &ae) {
			status = ae.Status
		}
		if ambiguous && ae != nil && cratesio.AlreadyUploaded(ae.Detail) {
			// Our earlier request landed and its answer was lost.
			if ok, qerr := h.Client.VersionExists(ctx, j.Name(), j.Version()); qerr == nil && ok {
				return nil
			}
		}
		transient := (status == 0 || status >= 500) && attempt < 2
		again, landed, werr := h.waitThenAsk(ctx, j, err, transient, attempt)
		if werr != nil || landed {
			return werr
		}
		if !again {
			break
		}
		// A request that may have landed: a later "already uploaded" is ours.
		ambiguous = ambiguous || transient
	}
	return failure(diag.New(CodePublishFailed, "crates.io did not accept %s %s", j.Name(), j.Version()).Wrap(err), err.Error(),
		strings.Contains(err.Error(), "HTTP 429"),
		fmt.Sprintf("read crates.io's answer above; re-run after fixing it: packages already published are skipped (%s was uploaded from %s)", j.Name(), filepath.Base(f)))
}

// awaitIndex waits (up to about a minute) until the version is in the
// sparse index, as `cargo publish` does after its upload: crates.io updates
// the index after answering, and a dependent packaged next by cargo resolves
// its dependencies from the index. Not seeing it is a note, not a failure.
func (h *Handler) awaitIndex(ctx context.Context, j publish.Job) {
	for i := 0; i < 60; i++ {
		if ok, err := h.Client.IndexHasVersion(ctx, j.Name(), j.Version()); err == nil && ok {
			return
		}
		if i == 0 && h.Progress != nil {
			h.Progress("%s %s: waiting for it to appear in the crates.io index", j.Name(), j.Version())
		}
		if h.sleep(ctx, time.Second) != nil {
			return
		}
	}
	if h.Progress != nil {
		h.Progress("%s %s: not in the crates.io index after a minute; crates that depend on it may not resolve it yet", j.Name(), j.Version())
	}
}
