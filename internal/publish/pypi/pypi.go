// Package pypi publishes to PyPI natively: every wheel and sdist in the
// package's artifact folders goes over PyPI's upload API (no twine on the
// runner), authenticated with a token minted by the trusted-publishing
// exchange or with PYPI_API_TOKEN when OIDC is unavailable.
package pypi

import (
	"context"
	"fmt"
	pypireg "github.com/putitoutthere/putitoutthere/internal/registry/pypi"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes raised here.
const (
	CodeTrustRefused = "PIOT_PYPI_TRUST_REFUSED" // when the client's error carries no PIOT_PYPI_<CODE>
	CodeNoFiles      = "PIOT_PYPI_NO_FILES"
	CodeUploadFailed = "PIOT_PYPI_UPLOAD_FAILED"
)

// Client is what the handler needs from PyPI.
type Client interface {
	Audience(ctx context.Context) (string, error)
	MintToken(ctx context.Context, idToken string) (string, time.Time, error)
	VersionExists(ctx context.Context, project, version string) (bool, error)
	Files(ctx context.Context, project, version string) ([]string, error)
	// UploadFile uploads one distribution; present is true when PyPI already
	// had that exact file (a re-run or a retry that landed).
	// atts, when set, go in the upload's `attestations` field.
	UploadFile(ctx context.Context, token, path string, atts []*attest.Attestation) (present bool, err error)
}

// Handler implements publish.Handler for PyPI.
type Handler struct {
	Client  Client
	BaseURL string // PUTITOUTTHERE_PYPI_URL or https://pypi.org, for page URLs
	IDToken func(ctx context.Context, audience string) (string, error)
	Mask    func(token string)
	Now     func() time.Time
	// HTTP is used for reads the client has no method for (status); nil = default.
	HTTP *httpx.Client
	// Progress receives one line per file.
	Progress func(format string, a ...any)
	// Sigstore signs PEP 740 attestations; nil = none.
	Sigstore *Sigstore

	attested map[string][]*attest.Attestation // by file path, from Attest
}

var _ publish.Handler = (*Handler)(nil)

// Registry implements publish.Handler.
func (h *Handler) Registry() string { return "PyPI" }

// URL implements publish.Handler.
func (h *Handler) URL(name, version string) string {
	return strings.TrimRight(h.BaseURL, "/") + "/project/" + url.PathEscape(pydist.Normalize(name)) + "/" + url.PathEscape(version) + "/"
}

// files are the wheels then sdists of the job's artifact folders.
func files(j publish.Job) []artifacts.File {
	var wheels, sdists []artifacts.File
	seen := map[string]bool{}
	for _, row := range j.Rows {
		for _, f := range artifacts.Folder(j.Root, row) {
			base := filepath.Base(f.Rel)
			if seen[base] {
				continue
			}
			switch {
			case strings.HasSuffix(base, ".whl"):
				wheels = append(wheels, f)
			case strings.HasSuffix(base, ".tar.gz"):
				sdists = append(sdists, f)
			default:
				continue
			}
			seen[base] = true
		}
	}
	return append(wheels, sdists...)
}

// Published implements publish.Handler: the version exists and, when the
// artifacts are here, every one of their files is on PyPI (a run that died
// mid-upload is finished by the next one).
func (h *Handler) Published(ctx context.Context, j publish.Job) (bool, error) {
	ok, err := h.Client.VersionExists(ctx, j.Name(), j.Version())
	if err != nil || !ok {
		return false, err
	}
	// Only this version's files count (artifacts of another version may sit
	// in the folders when status asks about an older tag).
	var local []artifacts.File
	for _, f := range files(j) {
		if fileVersion(filepath.Base(f.Rel)) == artifacts.NormalizePyVersion(j.Version()) {
			local = append(local, f)
		}
	}
	if len(local) == 0 {
		return true, nil
	}
	remote, err := h.Client.Files(ctx, j.Name(), j.Version())
	if err != nil {
		return false, err
	}
	for _, f := range local {
		if !slices.Contains(remote, filepath.Base(f.Rel)) {
			return false, nil
		}
	}
	return true, nil
}

// PackageExists implements publish.Handler. PyPI creates projects through
// pending publishers, so a missing project never blocks.
func (h *Handler) PackageExists(ctx context.Context, j publish.Job) (bool, error) { return true, nil }

// ProjectExists says whether the project exists on PyPI (false when the
// client cannot tell offline); the registry-rules step checks a new
// project's name against PyPI's name rules.
func (h *Handler) ProjectExists(ctx context.Context, name string) (bool, error) {
	if pe, ok := h.Client.(interface {
		ProjectExists(ctx context.Context, project string) (bool, error)
	}); ok {
		return pe.ProjectExists(ctx, name)
	}
	return true, nil
}

func (h *Handler) mask(t string) {
	if h.Mask != nil {
		h.Mask(t)
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Authorize implements publish.Handler: audience → fresh ID token (single
// use at PyPI) → mint-token.
func (h *Handler) Authorize(ctx context.Context, j publish.Job) (*publish.Credential, error) {
	if j.Auth.Method == auth.MethodToken {
		return &publish.Credential{Method: auth.MethodToken, EnvName: j.Auth.EnvName, Token: j.Env.Value(j.Auth.EnvName)}, nil
	}
	aud, err := h.Client.Audience(ctx)
	if err != nil {
		return nil, err
	}
	var idt, tok string
	var exp time.Time
	// A GitHub ID token is single-use at PyPI. If the mint's answer was lost
	// and the HTTP retry re-sent the same one, PyPI says invalid-reuse-token:
	// one more mint with a fresh ID token settles it.
	for attempt := 0; attempt < 2; attempt++ {
		if idt, err = h.IDToken(ctx, aud); err != nil {
			return nil, err
		}
		h.mask(idt)
		if tok, exp, err = h.Client.MintToken(ctx, idt); diag.CodeOf(err) != pypireg.CodeInvalidReuseToken {
			break
		}
	}
	if err != nil {
		fallback := "PYPI_API_TOKEN is not set"
		if j.Auth.Fallback != "" {
			fallback = j.Auth.Fallback + " is set but not used: OIDC wins for PyPI, and falling back would hide a broken trusted publisher; drop `id-token: write` from the job to publish with the token"
		}
		base := strings.TrimRight(h.BaseURL, "/")
		page := base + "/manage/project/" + pydist.Normalize(j.Name()) + "/settings/publishing/ (or the pending publisher for a new project)"
		// A project that does not exist yet has no settings page: its only
		// trusted publisher is a pending one (SPEC §5 first-publish caveat).
		missing := false
		if h.HTTP != nil && diag.CodeOf(err) != pypireg.CodeInvalidReuseToken {
			if _, found, lerr := h.Latest(ctx, j.Name()); lerr == nil && !found {
				missing = true
				page = base + "/manage/account/publishing/ (pending publisher)"
			}
		}
		de := publish.Refusal(err, CodeTrustRefused, "PyPI", idt, publish.WorkflowClaimJob, page, fallback)
		if missing {
			de.Details = append(de.Details, fmt.Sprintf("first publish: %s does not exist on PyPI yet, so its trusted publisher must be a pending publisher, added at %s/manage/account/publishing/ with these claims (owner, repository, workflow filename, environment)", pydist.Normalize(j.Name()), base))
		}
		return nil, de
	}
	secret.Register(tok)
	h.mask(tok)
	return &publish.Credential{Method: auth.MethodOIDC, Token: tok, Expires: exp}, nil
}

// Publish implements publish.Handler.
func (h *Handler) Publish(ctx context.Context, j publish.Job, c *publish.Credential) error {
	fs := files(j)
	if len(fs) == 0 {
		return diag.New(CodeNoFiles, "no wheel or sdist for %s in its artifact folders", j.Name()).
			WithHint("the build job must upload the dist/ files as the matrix rows' artifacts")
	}
	// Files already on PyPI (a run that died mid-upload) are not sent again.
	present := map[string]bool{}
	if ok, err := h.Client.VersionExists(ctx, j.Name(), j.Version()); err == nil && ok {
		if remote, err := h.Client.Files(ctx, j.Name(), j.Version()); err == nil {
			for _, r := range remote {
				present[r] = true
			}
		}
	}
	for _, f := range fs {
		if present[filepath.Base(f.Rel)] {
			if h.Progress != nil {
				h.Progress("%s %s: %s already on PyPI", j.Name(), j.Version(), filepath.Base(f.Rel))
			}
			continue
		}
		// A minted token lives 900 s; a long run of big wheels can outlast it.
		if c.Method == auth.MethodOIDC && !c.Expires.IsZero() && h.now().After(c.Expires.Add(-60*time.Second)) {
			nc, err := h.Authorize(ctx, j)
			if err != nil {
				return err
			}
			*c = *nc
		}
		present, err := h.Client.UploadFile(ctx, c.Token, f.Path, h.attested[f.Path])
		if err != nil {
			var de *diag.Error
			if d, ok := err.(*diag.Error); ok {
				de = d
			} else {
				de = diag.New(CodeUploadFailed, "uploading %s to PyPI", filepath.Base(f.Rel)).Wrap(err)
			}
			return de
		}
		if h.Progress != nil {
			state := "uploaded"
			if present {
				state = "already on PyPI"
			} else if len(h.attested[f.Path]) > 0 {
				state = "uploaded with its PEP 740 attestation"
			}
			h.Progress("%s %s: %s %s", j.Name(), j.Version(), filepath.Base(f.Rel), state)
		}
	}
	return nil
}

// DryRun implements publish.Handler: PyPI's own checks on each file's
// metadata and name, as far as they can be made offline.
func (h *Handler) DryRun(ctx context.Context, j publish.Job) []string {
	var problems []string
	for _, f := range files(j) {
		d, err := pydist.Read(f.Path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", filepath.Base(f.Rel), err))
			continue
		}
		_ = d
	}
	return problems
}

// Latest implements publish.Latester: the JSON API's info.version.
func (h *Handler) Latest(ctx context.Context, name string) (string, bool, error) {
	var v struct {
		Info struct {
			Version string `json:"version"`
		} `json:"info"`
	}
	found, err := publish.GetJSON(ctx, h.HTTP, strings.TrimRight(h.BaseURL, "/")+"/pypi/"+url.PathEscape(pydist.Normalize(name))+"/json", &v)
	if err != nil || !found {
		return "", found, err
	}
	return v.Info.Version, true, nil
}

// fileVersion is the normalised version in a wheel or sdist file name.
func fileVersion(base string) string {
	if strings.HasSuffix(base, ".whl") {
		if w, err := pydist.ParseWheelFilename(base); err == nil {
			return artifacts.NormalizePyVersion(w.Version)
		}
		return ""
	}
	if _, v, err := pydist.ParseSdistFilename(base); err == nil {
		return artifacts.NormalizePyVersion(v)
	}
	return ""
}
