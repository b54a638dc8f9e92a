// Package publish is the irreversible act (SPEC §4): re-plan, check
// everything that can be checked for every package before the first upload,
// then publish in dependency order, tag, push and create GitHub Releases. A
// failure stops the run; a re-run publishes only what is missing and repairs
// tags of versions the registry already has.
//
// The registries are reached through Handlers (internal/publish/crates, pypi,
// npm); git and GitHub through small interfaces, so the flow is tested with
// fakes and wired to the real clients by the CLI.
package publish

import (
	"context"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/siblings"
)

// Job is one package's release as a handler sees it.
type Job struct {
	Package *config.Package
	Release plan.Release
	Rows    []plan.Row // its matrix rows (artifact folders)
	Root    string     // repository root
	Auth    auth.Resolution
	Env     env.Env
	DryRun  bool
	// RunVersions maps every package of the run to the version it gets, by
	// kind then registry name: what a sibling's requirement or `workspace:`
	// range must name.
	RunVersions map[string]map[string]string
	// Requirements are the job's sibling requirements this run rewrites
	// (the sibling moves to a version they do not accept).
	Requirements []siblings.Edit
}

// Name is the registry name the job publishes under.
func (j Job) Name() string { return j.Package.RegistryName() }

// Version is the planned version.
func (j Job) Version() string { return j.Release.Version }

// Checker is implemented by handlers that can look at what will be
// uploaded before the first upload of the run (a `workspace:` range that
// would reach the registry, a package.json `main` missing from the tarball).
// Each string is one problem, in the registry's or the tool's words.
type Checker interface {
	Check(ctx context.Context, j Job) []string
}

// Credential is what a handler publishes with: a token read from the
// environment or minted by a trust exchange. Token is registered for
// redaction and never printed.
type Credential struct {
	Method  auth.Method
	EnvName string // the variable the token came from (token method)
	Token   string
	Expires time.Time
	// Revoke, when set, invalidates a minted token (crates.io). Called once.
	Revoke func(ctx context.Context) error
	// Tokens are per-name tokens for handlers that publish several packages
	// for one job (an npm platform family's members); Token is the default.
	Tokens map[string]string
	// NoProvenance: the package must be published without provenance (npm
	// cannot sign provenance for a private repository).
	NoProvenance bool
	// Note is a line for the report, e.g. "OIDC refused; using PYPI_API_TOKEN instead".
	Note string
	// StageOnly: the trust exchange said the connection may only stage
	// (npm); StageOnlyNames are the package names it said so for.
	StageOnly      bool
	StageOnlyNames []string
	// ModeKnown: the exchange said which actions the connection allows.
	ModeKnown bool
}

// Handler is one registry.
type Handler interface {
	// Registry is the registry's display name, e.g. "crates.io".
	Registry() string
	// URL is the page of name@version on the registry.
	URL(name, version string) string
	// Published reports whether name@version is fully on the registry
	// (the truth a re-run relies on).
	Published(ctx context.Context, j Job) (bool, error)
	// PackageExists reports whether the package exists at all (first-publish check).
	PackageExists(ctx context.Context, j Job) (bool, error)
	// Authorize picks or mints the credential (the trust exchange runs here,
	// before the first upload of the run). A refusal is a *diag.Error with the
	// diagnosis of SPEC §5.
	Authorize(ctx context.Context, j Job) (*Credential, error)
	// Publish uploads the package. An error that may hide a success is settled
	// by the orchestrator asking Published.
	Publish(ctx context.Context, j Job, c *Credential) error
	// DryRun runs the ecosystem's own dry run and returns every problem found.
	DryRun(ctx context.Context, j Job) []string
}

// Git is what publish needs from the repository.
type Git interface {
	HeadCommit(ctx context.Context, dir string) (string, error)
	TagExists(ctx context.Context, dir, tag string) (commit string, ok bool, err error)
	CreateAnnotatedTag(ctx context.Context, dir, name, msg, commit string) error
	// PushTag pushes tag to remote; HasRemote says whether it exists.
	PushTag(ctx context.Context, dir, remote, tag string) error
	HasRemote(ctx context.Context, dir, remote string) (bool, error)
	// SubjectsBetween lists commit subjects in (from, to]; from "" = all history.
	SubjectsBetween(ctx context.Context, dir, from, to string) ([]string, error)
	// TagSubject is the first line of an annotated tag's message ("" for a
	// lightweight tag).
	TagSubject(ctx context.Context, dir, tag string) (string, error)
	// Dirty lists changed or untracked paths, leaving out those under ignore
	// (slash-separated prefixes or exact files).
	Dirty(ctx context.Context, dir string, ignore []string) ([]string, error)
}

// Releaser creates GitHub Releases (idempotently).
type Releaser interface {
	// EnsureRelease returns the URL of the release for tag, creating it when absent.
	EnsureRelease(ctx context.Context, tag, name, body, commit string) (string, error)
}

// Tagged is a package's release tag and the one before it.
type Tagged struct {
	Tag, Version, Commit string
	PrevTag              string // "" when it is the first release
}

// VersionWriter writes a version into a package's manifest and says what it did.
type VersionWriter func(kind, dir, version string) (file, hint string, err error)

// Statuses of a package in the report.
const (
	StatusPublished        = "published"
	StatusAlreadyPublished = "already-published"
	StatusWouldPublish     = "would-publish"
	StatusReady            = "ready" // --preflight-check: every check passed
	StatusFailed           = "failed"
	StatusNotAttempted     = "not-attempted"
	// StatusStaged: uploaded for approval (npm staged publishing); the tag
	// and GitHub Release wait until a maintainer approves it and it is live.
	StatusStaged = "staged"
	// StatusRejected: a maintainer rejected the staged version.
	StatusRejected = "rejected"
)

// StagedUpload is one package version put up for approval.
type StagedUpload struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// ID is the registry's stage id ("" when the registry holds the version
	// staged but no record says which stage it is).
	ID string `json:"stage_id,omitempty"`
}

// Stager is implemented by handlers whose registry can hold a version for a
// maintainer's approval (npm).
type Stager interface {
	// StageMode decides, before the first upload, whether j is staged and
	// why; an error (*diag.Error) means it can be neither published nor
	// staged as configured. c is nil in a dry run.
	StageMode(ctx context.Context, j Job, c *Credential) (staged bool, why string, err error)
	// Stage uploads j for approval (a family: every member, then the
	// top-level package) and returns what was staged.
	Stage(ctx context.Context, j Job, c *Credential) ([]StagedUpload, error)
	// StageGone reports whether the stages no longer exist without their
	// version being live (rejected); known is false when the registry
	// cannot be asked (no token that may read stages).
	StageGone(ctx context.Context, j Job, stages []StagedUpload) (gone, known bool, err error)
	// ApproveHint is what a maintainer does to approve the stages.
	ApproveHint(j Job, stages []StagedUpload) string
	// StageOnlyRefusal reports whether err is the registry refusing a
	// direct publish because the connection may only stage.
	StageOnlyRefusal(err error) bool
}

// Result is one package's line in the report.
type Result struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Version  string   `json:"version"`
	Registry string   `json:"registry"`
	URL      string   `json:"url"`
	Status   string   `json:"status"`
	Auth     string   `json:"auth"`
	Tag      string   `json:"tag"`
	TagState string   `json:"tag_state,omitempty"` // created | existed | pushed | not-pushed (no origin)
	Release  string   `json:"release,omitempty"`   // GitHub Release URL
	Notes    []string `json:"notes,omitempty"`
	Error    string   `json:"error,omitempty"`
	Code     string   `json:"code,omitempty"`
	// Stages are the versions put up for approval (status staged or rejected).
	Stages []StagedUpload `json:"stages,omitempty"`
	// Approve says how a maintainer approves them.
	Approve string `json:"approve,omitempty"`
}

// Report is the run's outcome (`publish --json` prints it).
type Report struct {
	DryRun    bool     `json:"dry_run"`
	Preflight bool     `json:"preflight_check"`
	Outcome   string   `json:"outcome"` // ok | staged | failed | nothing-to-release
	Packages  []Result `json:"packages"`
	Warnings  []string `json:"warnings,omitempty"`
	// RepairedReleases are GitHub Releases created for tags an earlier run
	// pushed before it died (packages no longer in the plan).
	RepairedReleases []string `json:"repaired_releases,omitempty"`
	// Problems are every issue a dry run found (the run fails when non-empty).
	Problems []string `json:"problems,omitempty"`
}
