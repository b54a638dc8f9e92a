package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes raised by the flow.
const (
	CodeAuthMissing          = "PIOT_AUTH_MISSING"
	CodeArtifactsMissing     = "PIOT_ARTIFACTS_MISSING"
	CodePackagingMismatch    = "PIOT_PACKAGING_MISMATCH"
	CodeFirstPublishNeedsTok = "PIOT_FIRST_PUBLISH_NEEDS_TOKEN"
	CodeTagInvalid           = "PIOT_TAG_INVALID"
	CodeDirtyTree            = "PIOT_DIRTY_TREE"
	CodeRegistryCheck        = "PIOT_REGISTRY_CHECK_FAILED"
	CodePublishFailed        = "PIOT_PUBLISH_FAILED"
	CodeTagFailed            = "PIOT_TAG_FAILED"
	CodeReleaseFailed        = "PIOT_RELEASE_FAILED"
	CodeManifestWrite        = "PIOT_MANIFEST_WRITE_FAILED"
	CodeToolMissing          = "PIOT_TOOL_MISSING"
	CodeDryRunProblems       = "PIOT_DRY_RUN_PROBLEMS"
	CodeNoHandler            = "PIOT_NO_HANDLER"
	CodeTrustRefusedGeneric  = "PIOT_TRUST_REFUSED"
	CodeCycle                = "PIOT_DEPENDS_ON_CYCLE"
)

// Burst limits of crates.io (SPEC §4 "registry limits").
const (
	CratesNewBurst      = 5
	CratesVersionsBurst = 30
)

// Options configures a run.
type Options struct {
	Root   string // repository root
	Config *config.Config
	Env    env.Env

	DryRun        bool
	PreflightOnly bool
	// AuthOnly (with PreflightOnly) runs only the steps that prove the
	// credentials: auth, runner, registry state, first publish, token
	// liveness, the trust exchanges (revoked after) and staged publishing.
	// Packages with no way to authenticate in this environment are left out
	// of the run: the caller (preflight, doctor) reports them. It needs no
	// artifacts and no tools: one code path with --preflight-check.
	AuthOnly bool

	Plan       func(ctx context.Context, dir string, cfg *config.Config) (*plan.Plan, error)
	Handlers   map[string]Handler // by kind
	Git        Git
	Releases   Releaser // nil: no GitHub Releases (GITHUB_TOKEN/GITHUB_REPOSITORY unset)
	SetVersion VersionWriter
	// CheckVersion does what SetVersion would, without writing; nil skips
	// the check before the first upload.
	CheckVersion func(kind, dir, version string) error
	// ProveToken asks the registry whether the token j would use is live
	// and may publish j (trust.go); nil skips the check.
	ProveToken func(ctx context.Context, j Job) (TokenProof, error)
	// LookPath says whether a tool (cargo, npm) can be run; nil skips the
	// check before the first upload.
	LookPath func(name string) error
	// Tagged reads every package's last release tag reachable from HEAD and
	// the one before it (release repair); nil disables the repair.
	Tagged func(ctx context.Context, dir string, cfg *config.Config) (map[string]Tagged, error)

	// Log receives progress lines (stderr).
	Log io.Writer
	// Now stamps progress lines in CI; nil = no timestamps.
	Now func() time.Time

	// Wait (publish --wait) polls staged versions until approved or
	// rejected, at most this long; PollEvery is the interval (0 = 30s).
	Wait      time.Duration
	PollEvery time.Duration
}

// Run executes the publish flow and returns the report. The error, when not
// nil, is the *diag.Error that ended the run; the report still says what was
// done and what was not.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &flow{o: o, rep: &Report{DryRun: o.DryRun, Preflight: o.PreflightOnly}}
	if r.o.Log == nil {
		r.o.Log = io.Discard
	}
	err := r.do(ctx)
	r.revokeAll(context.WithoutCancel(ctx))
	if err != nil {
		r.rep.Outcome = "failed"
	} else if r.rep.Outcome == "" {
		r.rep.Outcome = "ok"
	}
	return r.rep, err
}

type flow struct {
	o     Options
	rep   *Report
	jobs  []Job
	creds map[string]*Credential // by package name
	head  string
	// releasedAt: packages this tool already released from an earlier
	// commit of HEAD's line (the commit its tag belongs on).
	releasedAt map[string]string
	locks      []func(context.Context) error // release functions of the locks held

	plan          *plan.Plan
	published     map[string]bool // package name → the planned version is on its registry
	haveArtifacts bool            // artifacts/ exists (a dry run checks artifacts only then)
	problems      []string        // what a dry run found, reported together at its end
	stage         *stageState     // staged publishing (staged.go)
	stageRefs     map[string]bool // stage records on origin, listed once (staged.go)
	visibility    string          // the repository's visibility, once asked (trust.go)
}

func (r *flow) logf(format string, a ...any) {
	prefix := ""
	if r.o.Now != nil {
		prefix = r.o.Now().UTC().Format("15:04:05") + " "
	}
	fmt.Fprintf(r.o.Log, "%s%s\n", prefix, secret.Redact(fmt.Sprintf(format, a...)))
}

func (r *flow) warn(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	r.rep.Warnings = append(r.rep.Warnings, secret.Redact(msg))
	r.logf("warning: %s", msg)
}

// stopped marks the run as failed at j and says what was done and what not.
func (r *flow) stopped(j Job, err error) error {
	var done, notDone []string
	for _, res := range r.rep.Packages {
		switch res.Status {
		case StatusPublished, StatusAlreadyPublished:
			done = append(done, res.Name+" "+res.Version)
		default:
			notDone = append(notDone, res.Name+" "+res.Version)
		}
	}
	r.logf("stopped at %s: done: %s; not done: %s", j.Package.Name, listOrNone(done), listOrNone(notDone))
	return err
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// registryState asks every registry whether each planned version is already
// there. An unanswerable question stops the run: guessing would either skip a
// release or publish twice.
func (r *flow) registryState(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for _, j := range r.jobs {
		h := r.o.Handlers[j.Package.Kind]
		ok, err := h.Published(ctx, j)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, asDiag(err, CodeRegistryCheck, fmt.Sprintf("checking whether %s %s is on %s", j.Name(), j.Version(), h.Registry()),
				"the registry could not be reached or answered unexpectedly; nothing was published — re-run the job")
		}
		out[j.Package.Name] = ok
		if ok {
			r.logf("%s %s is already on %s", j.Name(), j.Version(), h.Registry())
		}
	}
	return out, nil
}

// checkDirty refuses to run cargo publish --allow-dirty over unrelated changes.
func (r *flow) checkDirty(ctx context.Context) error {
	if r.o.DryRun {
		return nil
	}
	published := r.published
	need := false
	ignore := []string{artifacts.Dir + "/"}
	for _, j := range r.jobs {
		if j.Package.Kind == config.KindCrates && !published[j.Package.Name] {
			need = true
		}
		dir := filepath.ToSlash(filepath.Clean(j.Package.Path))
		for _, f := range []string{"Cargo.toml", "Cargo.lock", "pyproject.toml", "package.json", "package-lock.json"} {
			ignore = append(ignore, filepath.ToSlash(filepath.Join(dir, f)))
		}
	}
	if !need {
		return nil
	}
	ignore = append(ignore, "Cargo.toml", "Cargo.lock") // workspace root edits (inherited versions)
	dirty, err := r.o.Git.Dirty(ctx, r.o.Root, ignore)
	if err != nil {
		return diag.New(CodeDirtyTree, "checking the working tree").Wrap(err)
	}
	if len(dirty) > 0 {
		if len(dirty) > 20 {
			dirty = append(dirty[:20], fmt.Sprintf("… and %d more", len(dirty)-20))
		}
		e := diag.New(CodeDirtyTree, "the working tree has changes publish did not make; cargo publish would ship them")
		e.Details = dirty
		return e.WithHint("commit or remove these files before publishing (the build outputs belong in %s/)", artifacts.Dir)
	}
	return nil
}

// checkTools: cargo and npm must be there before the first upload, not be
// found missing after the packages before them shipped.
func (r *flow) checkTools(ctx context.Context) error {
	published := r.published
	if r.o.LookPath == nil {
		return nil
	}
	need := map[string][]string{}
	var order []string
	for _, j := range r.jobs {
		tool := map[string]string{config.KindCrates: "cargo", config.KindNPM: "npm"}[j.Package.Kind]
		if tool == "" || published[j.Package.Name] {
			continue
		}
		if _, seen := need[tool]; !seen {
			order = append(order, tool)
		}
		need[tool] = append(need[tool], j.Package.Name)
	}
	var missing []string
	for _, tool := range order {
		if err := r.o.LookPath(tool); err != nil {
			missing = append(missing, fmt.Sprintf("%s (needed by %s)", err, strings.Join(need[tool], ", ")))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if r.o.DryRun {
		// The ecosystem dry runs report it with everything else.
		for _, m := range missing {
			r.warn("%s", m)
		}
		return nil
	}
	e := diag.New(CodeToolMissing, "a tool publish runs is missing; nothing was published")
	e.Details = missing
	return e.WithHint("install it in the publish job (dtolnay/rust-toolchain for cargo, actions/setup-node for npm) before running publish")
}

// checkManifests tries every version write the run will make, without
// writing, so a manifest publish cannot edit (the last package's broken
// package.json, say) stops the run before the first upload, not after it.
func (r *flow) checkManifests(ctx context.Context) error {
	published := r.published
	if r.o.CheckVersion == nil {
		return nil
	}
	var bad []string
	for _, j := range r.jobs {
		if published[j.Package.Name] {
			continue
		}
		err := r.o.CheckVersion(j.Package.Kind, filepath.Join(r.o.Root, filepath.FromSlash(j.Package.Path)), j.Version())
		if err == nil || (j.Package.Kind == config.KindPyPI && diag.CodeOf(err) == manifest.CodeManifestMissing) {
			continue // PyPI uploads the built files, which carry their version
		}
		bad = append(bad, fmt.Sprintf("%s: %s", j.Package.Name, secret.Redact(err.Error())))
	}
	if len(bad) == 0 {
		return nil
	}
	// A dry run fails here too: the real publish would stop at this manifest
	// (before the first upload, so a dry run that passes means it writes).
	e := diag.New(CodeManifestWrite, "the version cannot be written into %d manifest(s); nothing was published", len(bad))
	e.Details = bad
	return e.WithHint("fix each manifest named above (at the package's path) and re-run")
}

// firstPublishAndLimits: trusted publishing cannot create a package on
// crates.io or npm, and crates.io rate-limits bursts of new crates.
func (r *flow) firstPublishAndLimits(ctx context.Context) error {
	published := r.published
	newCrates, versions := 0, 0
	var blocked []string
	for i, j := range r.jobs {
		if published[j.Package.Name] {
			continue
		}
		h := r.o.Handlers[j.Package.Kind]
		if j.Package.Kind == config.KindCrates {
			versions++
		}
		if j.Package.Kind != config.KindCrates && j.Package.Kind != config.KindNPM {
			continue
		}
		exists, err := h.PackageExists(ctx, j)
		if err != nil {
			return asDiag(err, CodeRegistryCheck, fmt.Sprintf("checking whether %s exists on %s", j.Name(), h.Registry()), "re-run the job; nothing was published")
		}
		if exists {
			continue
		}
		if j.Package.Kind == config.KindCrates {
			newCrates++
		}
		if j.Auth.Method != auth.MethodOIDC {
			continue
		}
		if j.Auth.Fallback != "" {
			// npm: the token is the only way to create the package.
			r.jobs[i].Auth = auth.Resolution{Kind: j.Auth.Kind, Method: auth.MethodToken, EnvName: j.Auth.Fallback}
			r.rep.Packages[i].Auth = r.jobs[i].Auth.String()
			note := fmt.Sprintf("%s does not exist on %s yet and trusted publishing cannot create it; using %s for this first publish", j.Name(), h.Registry(), j.Auth.Fallback)
			r.rep.Packages[i].Notes = append(r.rep.Packages[i].Notes, note)
			r.logf("%s", note)
			continue
		}
		blocked = append(blocked, fmt.Sprintf("%s: %s does not exist on %s yet; %s", j.Package.Name, j.Name(), h.Registry(), bootstrapStep(j)))
	}
	if newCrates > CratesNewBurst {
		r.warn("this run creates %d new crates; crates.io allows a burst of %d and then about one per 10 minutes — publish will wait when crates.io answers 429 with Retry-After", newCrates, CratesNewBurst)
	}
	if versions > CratesVersionsBurst {
		r.warn("this run publishes %d crate versions; crates.io allows a burst of %d — publish will wait when crates.io answers 429 with Retry-After", versions, CratesVersionsBurst)
	}
	if len(blocked) > 0 {
		e := diag.New(CodeFirstPublishNeedsTok, "trusted publishing cannot create a new package; nothing was published")
		e.Details = blocked
		if r.o.DryRun {
			for _, b := range blocked {
				r.warn("%s", b)
			}
			return nil
		}
		return e.WithHint("publish the first version once with a token (set it for one run), register the trusted publisher on the registry, then remove the token")
	}
	return nil
}

func bootstrapStep(j Job) string {
	switch j.Package.Kind {
	case config.KindCrates:
		return "publish it once with a crates.io API token in CARGO_REGISTRY_TOKEN (or `cargo publish` locally), then add the trusted publisher at https://crates.io/crates/" + j.Name() + "/settings"
	case config.KindNPM:
		return "publish it once with NODE_AUTH_TOKEN (or NPM_TOKEN) set, then require the trusted publisher at https://www.npmjs.com/package/" + j.Name() + "/access and delete the token"
	}
	return ""
}

// authorizeAll runs every trust exchange (and picks every token) before the
// first upload, so a refusal on the last package stops the run before the
// first one ships.
func (r *flow) authorizeAll(ctx context.Context) error {
	if r.o.DryRun {
		return nil
	}
	published := r.published
	r.creds = map[string]*Credential{}
	var errs []error
	var refused []string // package of each error in errs
	for i, j := range r.jobs {
		if published[j.Package.Name] {
			continue
		}
		h := r.o.Handlers[j.Package.Kind]
		c, err := h.Authorize(ctx, j)
		if err != nil {
			r.rep.Packages[i].Error, r.rep.Packages[i].Code = secret.Redact(err.Error()), diag.CodeOf(err)
			errs = append(errs, err)
			refused = append(refused, j.Package.Name)
			continue
		}
		r.creds[j.Package.Name] = c
		if c.Note != "" {
			r.rep.Packages[i].Notes = append(r.rep.Packages[i].Notes, c.Note)
			r.logf("%s: %s", j.Package.Name, c.Note)
		}
		if c.Method != j.Auth.Method {
			r.rep.Packages[i].Auth = string(c.Method)
			if c.EnvName != "" {
				r.rep.Packages[i].Auth = "token (" + c.EnvName + ")"
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	// Report the first refusal with its diagnosis; list the others.
	first := errs[0]
	var de *diag.Error
	if !errors.As(first, &de) {
		de = diag.New(CodeTrustRefusedGeneric, "authenticating").Wrap(first)
	}
	out := *de
	out.Msg = "nothing was published: " + refused[0] + ": " + de.Msg
	if out.Hint == "" {
		out.Hint = "nothing was published; fix the cause above (a service that did not answer: just re-run the job)"
	}
	// Each further refusal once, named by its package: two packages on one
	// registry are usually refused with the very same words.
	out.Details = append([]string(nil), de.Details...)
	for i, e := range errs[1:] {
		out.Details = append(out.Details, "also refused: "+refused[i+1]+": "+secret.Redact(firstLine(e.Error())))
	}
	return &out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func (r *flow) revokeAll(ctx context.Context) {
	for name, c := range r.creds {
		r.revoke(ctx, name, c)
	}
}

func (r *flow) revoke(ctx context.Context, name string, c *Credential) {
	if c == nil || c.Revoke == nil {
		return
	}
	f := c.Revoke
	c.Revoke = nil
	if err := f(ctx); err != nil {
		r.warn("%s: revoking the short-lived token failed (it expires on its own): %v", name, err)
	}
}

func (r *flow) dryRun(ctx context.Context, j Job, res *Result, published bool, problems *[]string) {
	if !published && r.stagedEarlier(j) {
		return // staged by an earlier run: a real publish uploads nothing for it
	}
	if published {
		res.Status = StatusAlreadyPublished
		r.logf("%s %s: already on %s; would ensure tag %s", j.Name(), j.Version(), res.Registry, j.Release.Tag)
		return
	}
	h := r.o.Handlers[j.Package.Kind]
	r.logf("%s %s: running %s dry run", j.Name(), j.Version(), h.Registry())
	ps := h.DryRun(ctx, j)
	for _, p := range ps {
		*problems = append(*problems, j.Package.Name+": "+secret.Redact(p))
	}
	res.Status = StatusWouldPublish
	if len(ps) > 0 {
		res.Status = StatusFailed
		res.Error = secret.Redact(strings.Join(ps, "; "))
	}
}

// publishOne ships one package: manifest, upload (settled), tag, push, release.
func (r *flow) publishOne(ctx context.Context, j Job, res *Result, published bool) error {
	h := r.o.Handlers[j.Package.Kind]
	fail := func(err error, code, what, hint string) error {
		de := asDiag(err, code, what, hint)
		res.Error, res.Code = secret.Redact(de.Error()), de.Code
		if res.Status == StatusNotAttempted {
			res.Status = StatusFailed
		}
		return de
	}
	if !published && r.stagedEarlier(j) {
		return nil // awaiting approval (or rejected): never uploaded again
	}
	if published {
		res.Status = StatusAlreadyPublished
	} else {
		c := r.creds[j.Package.Name]
		if err := r.writeRequirements(j, res); err != nil {
			r.revoke(ctx, j.Package.Name, c)
			return fail(err, CodeManifestWrite, fmt.Sprintf("rewriting %s's sibling requirements", j.Package.Name), "fix the manifest named above and re-run")
		}
		if r.o.SetVersion != nil {
			file, hint, err := r.o.SetVersion(j.Package.Kind, filepath.Join(r.o.Root, filepath.FromSlash(j.Package.Path)), j.Version())
			if err != nil && j.Package.Kind == config.KindPyPI && diag.CodeOf(err) == manifest.CodeManifestMissing {
				// PyPI uploads the built files, which carry their version; a
				// setup.py-only project has no pyproject.toml to write.
				res.Notes = append(res.Notes, "no pyproject.toml to write the version into; the wheels and sdist carry it")
				err = nil
			}
			if err != nil {
				r.revoke(ctx, j.Package.Name, c)
				return fail(err, CodeManifestWrite, fmt.Sprintf("writing version %s into %s's manifest", j.Version(), j.Package.Name), "fix the manifest at "+j.Package.Path)
			}
			if file != "" {
				r.logf("%s: wrote version %s into %s", j.Package.Name, j.Version(), relTo(r.o.Root, file))
			}
			if hint != "" {
				res.Notes = append(res.Notes, hint)
				r.logf("%s: %s", j.Package.Name, hint)
			}
		}
		r.recordRelease(ctx, j)
		if r.staged(j) {
			return r.stageOne(ctx, j, res, c)
		}
		r.logf("%s %s: publishing to %s (%s)", j.Name(), j.Version(), h.Registry(), res.Auth)
		err := h.Publish(ctx, j, c)
		if staged, serr := r.fallbackToStage(ctx, j, res, c, err); staged {
			return serr
		}
		r.revoke(context.WithoutCancel(ctx), j.Package.Name, c)
		if err != nil {
			// An error may hide a success (timeout after sending, npm's
			// Sigstore 409, "already exists" on a retry): ask the registry.
			if ok, qerr := h.Published(context.WithoutCancel(ctx), j); qerr == nil && ok {
				res.Notes = append(res.Notes, "the upload reported an error, but the registry has this version: "+firstLine(secret.Redact(err.Error())))
				r.logf("%s %s: the registry has the version despite the error; continuing", j.Name(), j.Version())
			} else {
				return fail(err, CodePublishFailed, fmt.Sprintf("publishing %s %s to %s", j.Name(), j.Version(), h.Registry()),
					"fix the cause above and re-run: packages already published are skipped, and their tags are repaired")
			}
		}
		res.Status = StatusPublished
		r.logf("%s %s: published %s", j.Name(), j.Version(), res.URL)
	}
	// Tag (also for already-published versions: tag repair).
	commit, err := r.tagRelease(ctx, j, res, fail)
	if err != nil {
		return err
	}
	tag := j.Release.Tag
	// GitHub Release.
	if r.o.Releases != nil {
		notes, err := r.o.Git.SubjectsBetween(ctx, r.o.Root, j.Release.LastTag, commit)
		if err != nil {
			r.warn("%s: reading release notes: %v", j.Package.Name, err)
		}
		body := releaseBody(notes)
		url, err := r.o.Releases.EnsureRelease(ctx, tag, releaseTitle(j.Package, j.Version()), body, commit)
		if err != nil {
			return fail(err, CodeReleaseFailed, "creating the GitHub Release for "+tag, "the version and tag exist; re-run to create the release")
		}
		res.Release = url
	}
	return nil
}

// releaseTitle is the release's tag message and GitHub Release title:
// "{name} {version}", with the group's name for a lockstep group, whose
// members share one tag and one GitHub Release.
func releaseTitle(p *config.Package, version string) string {
	if p.Group != "" {
		return p.Group + " " + version
	}
	return p.Name + " " + version
}

func releaseBody(subjects []string) string {
	var b strings.Builder
	for _, s := range subjects {
		s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
		if s == "" {
			continue
		}
		b.WriteString("- " + s + "\n")
	}
	return b.String()
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func relTo(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// asDiag keeps a *diag.Error as is (its code is the better one) and wraps
// anything else under code with what failed and a hint.
func asDiag(err error, code, what, hint string) *diag.Error {
	var de *diag.Error
	if errors.As(err, &de) {
		if !strings.Contains(de.Msg, what) && what != "" {
			cp := *de
			cp.Msg = what + ": " + de.Msg
			if cp.Hint == "" {
				cp.Hint = hint
			}
			return &cp
		}
		return de
	}
	e := diag.New(code, "%s", what).Wrap(errors.New(secret.Redact(DedupURL(err.Error()))))
	e.Hint = hint
	return e
}

// repairReleases creates the GitHub Release of packages a previous run tagged
// at this commit but died before releasing: they are no longer in the plan,
// so nothing else would. Only annotated tags whose message is the one publish
// writes ("{name} {version}") are considered, so tags made by other tools are
// left alone.
func (r *flow) repairReleases(ctx context.Context, planned map[string]bool) error {
	if r.o.Tagged == nil || r.o.DryRun || r.o.PreflightOnly {
		return nil
	}
	if err := r.repairTagPushes(ctx, planned); err != nil {
		return err
	}
	if r.o.Releases == nil {
		return nil
	}
	own, err := r.ownTagsAtHead(ctx, planned)
	if err != nil {
		return diag.New(CodeReleaseFailed, "reading release tags").Wrap(err)
	}
	for _, o := range own {
		pkg, t := o.pkg, o.tag
		notes, err := r.o.Git.SubjectsBetween(ctx, r.o.Root, t.PrevTag, t.Commit)
		if err != nil {
			r.warn("%s: reading release notes: %v", pkg.Name, err)
		}
		url, err := r.o.Releases.EnsureRelease(ctx, t.Tag, releaseTitle(pkg, t.Version), releaseBody(notes), t.Commit)
		if err != nil {
			return asDiag(err, CodeReleaseFailed, "ensuring the GitHub Release for "+t.Tag, "re-run to create the release; the version and tag exist")
		}
		r.rep.RepairedReleases = append(r.rep.RepairedReleases, url)
		r.logf("%s: GitHub Release for %s ensured (%s)", pkg.Name, t.Tag, url)
	}
	return nil
}

// tagRelease creates (or adopts) the release tag for j at HEAD and pushes it
// to origin; it returns the commit the tag names.
func (r *flow) tagRelease(ctx context.Context, j Job, res *Result, fail func(err error, code, what, hint string) error) (string, error) {
	tag := j.Release.Tag
	commit, exists, err := r.o.Git.TagExists(ctx, r.o.Root, tag)
	if err != nil {
		return "", fail(err, CodeTagFailed, "checking tag "+tag, "")
	}
	// Another run (or an earlier one whose checkout is gone) may have pushed
	// the tag already: adopt it when it names this commit.
	if rt, ok := r.o.Git.(RemoteTagger); ok && !exists {
		if rc, found, rerr := rt.RemoteTag(ctx, r.o.Root, "origin", tag); rerr == nil && found {
			res.TagState = "existed"
			r.logf("%s: tag %s is already on origin", j.Package.Name, tag)
			if rc != r.head {
				// Another run released this version from its own commit (a
				// later push); tags are never moved.
				res.Notes = append(res.Notes, fmt.Sprintf("tag %s on origin names %s (the run that published it), not this run's HEAD %s; left as it is", tag, short(rc), short(r.head)))
			}
			return rc, nil
		}
	}
	if exists {
		res.TagState = "existed"
	} else {
		commit = r.head
		if c := r.stagedCommit(j); c != "" && c != r.head {
			commit = c
			res.Notes = append(res.Notes, fmt.Sprintf("tag %s names %s, the commit its staged version was built from (HEAD is %s)", tag, short(c), short(r.head)))
		}
		if at := r.releasedAt[j.Package.Name]; at != "" {
			commit = at // released from an earlier commit: its tag goes there
		}
		if err := r.o.Git.CreateAnnotatedTag(ctx, r.o.Root, tag, releaseTitle(j.Package, j.Version()), commit); err != nil {
			return "", fail(err, CodeTagFailed, "creating tag "+tag, "the version is on the registry; re-run to create the tag (it is repaired automatically)")
		}
		res.TagState = "created"
		r.logf("%s: tagged %s at %s", j.Package.Name, tag, short(commit))
	}
	if ok, err := r.o.Git.HasRemote(ctx, r.o.Root, "origin"); err != nil {
		return "", fail(err, CodeTagFailed, "looking for the origin remote", "")
	} else if ok {
		if err := r.o.Git.PushTag(ctx, r.o.Root, "origin", tag); err != nil {
			return "", fail(err, CodeTagFailed, "pushing tag "+tag+" to origin", "the job needs `permissions: contents: write`; re-run to push the tag (the registry already has the version)")
		}
		if res.TagState == "created" {
			res.TagState = "pushed"
		}
	} else if res.TagState == "created" {
		res.TagState = "not-pushed"
		r.warn("%s: no `origin` remote; tag %s was created locally only", j.Package.Name, tag)
	}
	return commit, nil
}

// repairTagPushes pushes release tags that publish created at HEAD but could
// not push (a run that died or was refused at the push): the re-run in the
// same checkout plans nothing for them, since the tag exists locally.
func (r *flow) repairTagPushes(ctx context.Context, planned map[string]bool) error {
	rt, ok := r.o.Git.(RemoteTagger)
	if !ok {
		return nil
	}
	if has, err := r.o.Git.HasRemote(ctx, r.o.Root, "origin"); err != nil || !has {
		return nil
	}
	own, err := r.ownTagsAtHead(ctx, planned)
	if err != nil {
		return diag.New(CodeTagFailed, "reading release tags").Wrap(err)
	}
	for _, o := range own {
		pkg, t := o.pkg, o.tag
		if _, found, err := rt.RemoteTag(ctx, r.o.Root, "origin", t.Tag); err != nil || found {
			continue
		}
		if err := r.o.Git.PushTag(ctx, r.o.Root, "origin", t.Tag); err != nil {
			return asDiag(err, CodeTagFailed, "pushing tag "+t.Tag+" to origin", "the job needs `permissions: contents: write`; re-run to push the tag (the registry already has the version)")
		}
		r.logf("%s: pushed tag %s, which an earlier run created but did not push", pkg.Name, t.Tag)
	}
	return nil
}

type ownTag struct {
	pkg *config.Package
	tag Tagged
}

// ownTagsAtHead lists, for packages not in this run's plan, release tags at
// HEAD that publish itself made (annotated, message "{name} {version}"):
// the ones an earlier run at this commit may not have finished. Tags made by
// other tools are left alone.
func (r *flow) ownTagsAtHead(ctx context.Context, planned map[string]bool) ([]ownTag, error) {
	head := r.head
	if head == "" {
		var err error
		if head, err = r.o.Git.HeadCommit(ctx, r.o.Root); err != nil {
			return nil, err
		}
	}
	tagged, err := r.o.Tagged(ctx, r.o.Root, r.o.Config)
	if err != nil {
		return nil, err
	}
	var out []ownTag
	for i := range r.o.Config.Packages {
		pkg := &r.o.Config.Packages[i]
		t, ok := tagged[pkg.Name]
		if !ok || planned[pkg.Name] || t.Commit != head {
			continue
		}
		if subj, err := r.o.Git.TagSubject(ctx, r.o.Root, t.Tag); err != nil || subj != releaseTitle(pkg, t.Version) {
			continue
		}
		out = append(out, ownTag{pkg: pkg, tag: t})
	}
	return out, nil
}
