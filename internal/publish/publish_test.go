package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// world records every side effect in order, shared by the fakes.
type world struct {
	mu        sync.Mutex
	events    []string
	published map[string]bool // name@version on the (fake) registries
	exists    map[string]bool // package names that exist
	tags      map[string]string
	releases  map[string]string
}

func newWorld() *world {
	return &world{published: map[string]bool{}, exists: map[string]bool{}, tags: map[string]string{}, releases: map[string]string{}}
}

func (w *world) event(f string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, fmt.Sprintf(f, a...))
}

func (w *world) has(prefix string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.events {
		if strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

type fakeHandler struct {
	w   *world
	reg string
	// failures by package name
	publishErr   map[string]error
	landAnyway   map[string]bool // publish errors but the version lands
	authorizeErr map[string]error
	dryRun       map[string][]string
	revocable    bool
}

func (h *fakeHandler) Registry() string { return h.reg }
func (h *fakeHandler) URL(name, version string) string {
	return "https://" + h.reg + "/" + name + "/" + version
}
func (h *fakeHandler) Published(ctx context.Context, j Job) (bool, error) {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	return h.w.published[j.Name()+"@"+j.Version()], nil
}
func (h *fakeHandler) PackageExists(ctx context.Context, j Job) (bool, error) {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	return h.w.exists[j.Name()], nil
}
func (h *fakeHandler) Authorize(ctx context.Context, j Job) (*Credential, error) {
	h.w.event("authorize %s", j.Package.Name)
	if err := h.authorizeErr[j.Package.Name]; err != nil {
		return nil, err
	}
	c := &Credential{Method: j.Auth.Method, EnvName: j.Auth.EnvName, Token: "tok-" + j.Package.Name}
	if h.revocable && j.Auth.Method == auth.MethodOIDC {
		name := j.Package.Name
		c.Revoke = func(context.Context) error { h.w.event("revoke %s", name); return nil }
	}
	return c, nil
}
func (h *fakeHandler) Publish(ctx context.Context, j Job, c *Credential) error {
	h.w.event("publish %s@%s with %s", j.Name(), j.Version(), c.Token)
	if h.landAnyway[j.Package.Name] {
		h.w.mu.Lock()
		h.w.published[j.Name()+"@"+j.Version()] = true
		h.w.exists[j.Name()] = true
		h.w.mu.Unlock()
	}
	if err := h.publishErr[j.Package.Name]; err != nil {
		return err
	}
	h.w.mu.Lock()
	h.w.published[j.Name()+"@"+j.Version()] = true
	h.w.exists[j.Name()] = true
	h.w.mu.Unlock()
	return nil
}
func (h *fakeHandler) DryRun(ctx context.Context, j Job) []string {
	h.w.event("dryrun %s", j.Package.Name)
	return h.dryRun[j.Package.Name]
}

type fakeGit struct {
	w        *world
	subjects map[string]string
	dirty    []string
	noOrigin bool
	pushErr  error
}

func (g *fakeGit) HeadCommit(context.Context, string) (string, error) { return "c0ffee0000000000", nil }
func (g *fakeGit) TagExists(_ context.Context, _, tag string) (string, bool, error) {
	g.w.mu.Lock()
	defer g.w.mu.Unlock()
	c, ok := g.w.tags[tag]
	return c, ok, nil
}
func (g *fakeGit) CreateAnnotatedTag(_ context.Context, _, name, msg, commit string) error {
	g.w.event("tag %s", name)
	g.w.mu.Lock()
	if g.subjects == nil {
		g.subjects = map[string]string{}
	}
	g.subjects[name] = msg
	g.w.tags[name] = commit
	g.w.mu.Unlock()
	return nil
}
func (g *fakeGit) PushTag(_ context.Context, _, remote, tag string) error {
	if g.pushErr != nil {
		return g.pushErr
	}
	g.w.event("push %s", tag)
	return nil
}
func (g *fakeGit) HasRemote(context.Context, string, string) (bool, error) { return !g.noOrigin, nil }
func (g *fakeGit) SubjectsBetween(_ context.Context, _, from, to string) ([]string, error) {
	return []string{"feat: thing", "fix: \xff broken utf8"}, nil
}
func (g *fakeGit) TagSubject(_ context.Context, _, tag string) (string, error) {
	return g.subjects[tag], nil
}
func (g *fakeGit) Dirty(context.Context, string, []string) ([]string, error) { return g.dirty, nil }

type fakeReleases struct{ w *world }

func (f *fakeReleases) EnsureRelease(_ context.Context, tag, name, body, commit string) (string, error) {
	f.w.event("release %s %q", tag, name)
	f.w.mu.Lock()
	f.w.releases[tag] = body
	f.w.mu.Unlock()
	return "https://github.com/o/r/releases/tag/" + tag, nil
}

// fixture: core (crates) <- py (pypi) <- js (npm, depends on py), listed in
// reverse so the order must come from depends_on.
func fixture(t *testing.T) (*config.Config, *plan.Plan, string) {
	cfg := &config.Config{File: "putitoutthere.toml", Packages: []config.Package{
		{Name: "js", Kind: "npm", Path: "js", DependsOn: []string{"py"}, TagFormat: config.DefaultTagFormat},
		{Name: "py", Kind: "pypi", Path: "py", DependsOn: []string{"core"}, TagFormat: config.DefaultTagFormat},
		{Name: "core", Kind: "crates", Path: "core", TagFormat: config.DefaultTagFormat},
	}}
	p := &plan.Plan{}
	for _, pk := range cfg.Packages {
		p.Releases = append(p.Releases, plan.Release{Name: pk.Name, Kind: pk.Kind, Version: "1.0.0", Tag: pk.Name + "-v1.0.0", LastTag: pk.Name + "-v0.9.0"})
	}
	root := t.TempDir()
	return cfg, p, root
}

type harness struct {
	w    *world
	h    map[string]*fakeHandler
	git  *fakeGit
	opts Options
}

func newHarness(t *testing.T, e env.Env) *harness {
	cfg, p, root := fixture(t)
	w := newWorld()
	for _, n := range []string{"core", "py", "js"} {
		w.exists[n] = true
	}
	hs := map[string]*fakeHandler{
		"crates": {w: w, reg: "crates.io", revocable: true},
		"pypi":   {w: w, reg: "pypi.org"},
		"npm":    {w: w, reg: "npm"},
	}
	g := &fakeGit{w: w}
	handlers := map[string]Handler{}
	for k, v := range hs {
		handlers[k] = v
	}
	if e == nil {
		e = oidcEnv()
	}
	return &harness{w: w, h: hs, git: g, opts: Options{
		Root: root, Config: cfg, Env: e,
		Plan:     func(context.Context, string, *config.Config) (*plan.Plan, error) { return p, nil },
		Handlers: handlers,
		Git:      g,
		Releases: &fakeReleases{w: w},
		SetVersion: func(kind, dir, version string) (string, string, error) {
			w.event("setversion %s %s", filepath.Base(dir), version)
			return "", "", nil
		},
		Log: &strings.Builder{},
	}}
}

func oidcEnv() env.Env {
	return env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/x?a=b", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-token-123", "GITHUB_REPOSITORY": "o/r"}
}

func (hh *harness) run(t *testing.T) (*Report, error) {
	t.Helper()
	return Run(t.Context(), hh.opts)
}

func statuses(rep *Report) []string {
	var out []string
	for _, p := range rep.Packages {
		out = append(out, p.Name+"="+p.Status)
	}
	return out
}

func TestFlowOrderAndSideEffects(t *testing.T) {
	hh := newHarness(t, nil)
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"authorize core", "authorize py", "authorize js", // every exchange before any upload
		"setversion core 1.0.0", "publish core@1.0.0 with tok-core", "revoke core", "tag core-v1.0.0", "push core-v1.0.0", `release core-v1.0.0 "core 1.0.0"`,
		"setversion py 1.0.0", "publish py@1.0.0 with tok-py", "tag py-v1.0.0", "push py-v1.0.0", `release py-v1.0.0 "py 1.0.0"`,
		"setversion js 1.0.0", "publish js@1.0.0 with tok-js", "tag js-v1.0.0", "push js-v1.0.0", `release js-v1.0.0 "js 1.0.0"`,
	}
	if !slices.Equal(hh.w.events, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(hh.w.events, "\n"), strings.Join(want, "\n"))
	}
	if got := statuses(rep); !slices.Equal(got, []string{"core=published", "py=published", "js=published"}) {
		t.Errorf("statuses = %v", got)
	}
	if rep.Outcome != "ok" || rep.Packages[0].URL != "https://crates.io/core/1.0.0" || rep.Packages[0].TagState != "pushed" {
		t.Errorf("report = %+v", rep)
	}
	if body := hh.w.releases["core-v1.0.0"]; body != "- feat: thing\n- fix: \uFFFD broken utf8\n" {
		t.Errorf("release body = %q", body)
	}
}

func TestFailureStopsRunAndRerunRepairs(t *testing.T) {
	hh := newHarness(t, nil)
	// py lands on the registry but the client sees a failure it cannot settle
	// because a later check fails... simpler: py fails outright.
	hh.h["pypi"].publishErr = map[string]error{"py": errors.New("HTTP 503 from upload")}
	rep, err := hh.run(t)
	if diag.CodeOf(err) != CodePublishFailed {
		t.Fatalf("err = %v (%s)", err, diag.CodeOf(err))
	}
	if got := statuses(rep); !slices.Equal(got, []string{"core=published", "py=failed", "js=not-attempted"}) {
		t.Errorf("statuses = %v", got)
	}
	if len(hh.w.has("publish js")) != 0 {
		t.Error("js was attempted after py failed")
	}
	log := hh.opts.Log.(*strings.Builder).String()
	if !strings.Contains(log, "done: core 1.0.0; not done: py 1.0.0, js 1.0.0") {
		t.Errorf("log = %s", log)
	}
	// Re-run: the registry is fixed. core must not be published twice.
	hh.h["pypi"].publishErr = nil
	hh.w.events = nil
	rep, err = hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rep); !slices.Equal(got, []string{"core=already-published", "py=published", "js=published"}) {
		t.Errorf("statuses = %v", got)
	}
	if n := len(hh.w.has("publish core")); n != 0 {
		t.Errorf("core published again: %v", hh.w.events)
	}
	if n := len(hh.w.has("authorize core")); n != 0 {
		t.Errorf("core exchanged a token it does not need: %v", hh.w.events)
	}
}

func TestTagRepairForPublishedButUntagged(t *testing.T) {
	hh := newHarness(t, nil)
	hh.w.published["core@1.0.0"] = true // a run died between upload and tag
	hh.w.published["py@1.0.0"] = true
	hh.w.tags["py-v1.0.0"] = "abc" // py's tag exists
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := hh.w.has("tag "); !slices.Equal(got, []string{"tag core-v1.0.0", "tag js-v1.0.0"}) {
		t.Errorf("tags = %v", got)
	}
	if rep.Packages[0].Status != StatusAlreadyPublished || rep.Packages[0].TagState != "pushed" || rep.Packages[1].TagState != "existed" {
		t.Errorf("report = %+v", rep.Packages)
	}
	if len(hh.w.has("release core-v1.0.0")) != 1 {
		t.Error("release not ensured for the repaired tag")
	}
}

func TestAuthMissingListsEveryPackage(t *testing.T) {
	hh := newHarness(t, env.Env{"PYPI_API_TOKEN": ""}) // empty = unset
	_, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeAuthMissing || len(de.Details) != 3 {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(de.Details[0], "core (crates): needs CARGO_REGISTRY_TOKEN or OIDC") || !strings.Contains(de.Details[2], "NODE_AUTH_TOKEN or NPM_TOKEN or OIDC") {
		t.Errorf("details = %q", de.Details)
	}
	if len(hh.w.events) != 0 {
		t.Errorf("side effects: %v", hh.w.events)
	}
}

func TestArtifactsMissingStopsBeforeSideEffects(t *testing.T) {
	hh := newHarness(t, nil)
	p, _ := hh.opts.Plan(t.Context(), "", nil)
	p.Rows = []plan.Row{{Name: "core", Kind: "crates", Version: "1.0.0", Target: "noarch", ArtifactName: "core-crate"}, {Name: "js", Kind: "npm", Target: "noarch", ArtifactName: "js-pkg"}}
	_, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeArtifactsMissing || len(de.Details) != 2 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(de.Details[0], "expected artifacts/core-crate/*.crate") {
		t.Errorf("details = %q", de.Details)
	}
	if len(hh.w.events) != 0 {
		t.Errorf("side effects: %v", hh.w.events)
	}
}

func TestTrustRefusalOnLastPackageUploadsNothing(t *testing.T) {
	hh := newHarness(t, nil)
	hh.h["npm"].authorizeErr = map[string]error{"js": diag.New("PIOT_NPM_TRUST_REFUSED", "npm refused the OIDC token exchange for js: 404 OIDC token exchange error - package not found")}
	rep, err := hh.run(t)
	if diag.CodeOf(err) != "PIOT_NPM_TRUST_REFUSED" || !strings.Contains(err.Error(), "nothing was published") {
		t.Fatalf("err = %v", err)
	}
	if got := hh.w.has("publish"); len(got) != 0 {
		t.Errorf("uploaded despite refusal: %v", got)
	}
	if got := hh.w.has("revoke"); !slices.Equal(got, []string{"revoke core"}) {
		t.Errorf("the unused crates.io token was not revoked: %v", hh.w.events)
	}
	if rep.Packages[2].Code != "PIOT_NPM_TRUST_REFUSED" {
		t.Errorf("js result = %+v", rep.Packages[2])
	}
}

func TestCratesTokenRevokedAfterFailure(t *testing.T) {
	hh := newHarness(t, nil)
	hh.h["crates"].publishErr = map[string]error{"core": errors.New("cargo exited 101")}
	_, err := hh.run(t)
	if err == nil {
		t.Fatal("want failure")
	}
	if got := hh.w.has("revoke"); !slices.Equal(got, []string{"revoke core"}) {
		t.Errorf("revokes = %v", got)
	}
}

func TestAmbiguousUploadSettledByRegistry(t *testing.T) {
	hh := newHarness(t, nil)
	hh.h["npm"].publishErr = map[string]error{"js": errors.New("npm error code E409 transparency log conflict")}
	hh.h["npm"].landAnyway = map[string]bool{"js": true}
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Packages[2].Status != StatusPublished || len(rep.Packages[2].Notes) == 0 {
		t.Errorf("js = %+v", rep.Packages[2])
	}
	if len(hh.w.has("tag js-v1.0.0")) != 1 {
		t.Error("js not tagged")
	}
}

func TestFirstPublishNeedsToken(t *testing.T) {
	hh := newHarness(t, nil)
	delete(hh.w.exists, "core")
	delete(hh.w.exists, "js")
	_, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeFirstPublishNeedsTok || len(de.Details) != 2 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(de.Details[0], "CARGO_REGISTRY_TOKEN") || !strings.Contains(de.Details[1], "NODE_AUTH_TOKEN") {
		t.Errorf("details = %q", de.Details)
	}
	if len(hh.w.events) != 0 {
		t.Errorf("side effects: %v", hh.w.events)
	}

	// With an npm token present, npm falls back to it for the first publish.
	hh2 := newHarness(t, nil)
	delete(hh2.w.exists, "js")
	hh2.opts.Env["NPM_TOKEN"] = "npm-fallback-token"
	rep, err := hh2.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Packages[2].Auth != "token (NPM_TOKEN)" || len(rep.Packages[2].Notes) == 0 {
		t.Errorf("js = %+v", rep.Packages[2])
	}
}

func TestBadTagFormatRefusedBeforeSideEffects(t *testing.T) {
	hh := newHarness(t, nil)
	p, _ := hh.opts.Plan(t.Context(), "", nil)
	p.Releases[0].Tag = "js v1.0.0; rm -rf /"
	p.Releases[1].Tag = "-v1.0.0"
	_, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeTagInvalid || len(de.Details) != 2 || de.Exit != diag.ExitUsage {
		t.Fatalf("err = %#v", err)
	}
	if len(hh.w.events) != 0 {
		t.Errorf("side effects: %v", hh.w.events)
	}
}

func TestDirtyTreeRefused(t *testing.T) {
	hh := newHarness(t, nil)
	hh.git.dirty = []string{"core/src/lib.rs"}
	_, err := hh.run(t)
	if diag.CodeOf(err) != CodeDirtyTree || !strings.Contains(err.Error(), "core/src/lib.rs") {
		t.Fatalf("err = %v", err)
	}
	if len(hh.w.events) != 0 {
		t.Errorf("side effects: %v", hh.w.events)
	}
}

func TestDryRunReportsEveryProblem(t *testing.T) {
	hh := newHarness(t, env.Env{}) // no credentials at all: a PR check
	hh.opts.DryRun = true
	hh.h["crates"].dryRun = map[string][]string{"core": {"cargo publish --dry-run: missing description"}}
	hh.h["npm"].dryRun = map[string][]string{"js": {"npm publish --dry-run: E422"}}
	rep, err := hh.run(t)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeDryRunProblems || len(de.Details) != 2 {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rep); !slices.Equal(got, []string{"core=failed", "py=would-publish", "js=failed"}) {
		t.Errorf("statuses = %v", got)
	}
	for _, e := range hh.w.events {
		if !strings.HasPrefix(e, "dryrun ") {
			t.Errorf("dry run had a side effect: %s", e)
		}
	}
	if len(rep.Warnings) != 3 {
		t.Errorf("warnings = %q", rep.Warnings)
	}
}

func TestPreflightOnlyStopsBeforeUpload(t *testing.T) {
	hh := newHarness(t, nil)
	hh.opts.PreflightOnly = true
	hh.w.published["py@1.0.0"] = true
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rep); !slices.Equal(got, []string{"core=ready", "py=already-published", "js=ready"}) {
		t.Errorf("statuses = %v", got)
	}
	if got := hh.w.has("publish"); len(got) != 0 {
		t.Errorf("published during preflight: %v", got)
	}
	if got := hh.w.has("revoke"); len(got) != 1 {
		t.Errorf("exchanged tokens must be revoked after preflight: %v", hh.w.events)
	}
}

func TestEmptyPlan(t *testing.T) {
	hh := newHarness(t, nil)
	hh.opts.Plan = func(context.Context, string, *config.Config) (*plan.Plan, error) { return &plan.Plan{}, nil }
	rep, err := hh.run(t)
	if err != nil || rep.Outcome != "nothing-to-release" {
		t.Fatalf("rep = %+v err = %v", rep, err)
	}
}

func TestNoOriginKeepsLocalTag(t *testing.T) {
	hh := newHarness(t, nil)
	hh.git.noOrigin = true
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Packages[0].TagState != "not-pushed" || len(rep.Warnings) != 3 {
		t.Errorf("rep = %+v", rep)
	}
}

func TestPushFailureAfterUploadFailsRun(t *testing.T) {
	hh := newHarness(t, nil)
	hh.git.pushErr = errors.New("remote: Permission denied")
	rep, err := hh.run(t)
	if diag.CodeOf(err) != CodeTagFailed {
		t.Fatalf("err = %v", err)
	}
	// The version shipped: it is reported as published, with the error.
	if rep.Packages[0].Status != StatusPublished || rep.Packages[0].Error == "" || rep.Packages[1].Status != StatusNotAttempted {
		t.Errorf("rep = %+v", rep.Packages)
	}
}

func TestTopoOrderCycle(t *testing.T) {
	cfg := &config.Config{Packages: []config.Package{{Name: "a", DependsOn: []string{"b"}}, {Name: "b", DependsOn: []string{"a"}}}}
	_, err := TopoOrder(cfg, []plan.Release{{Name: "a"}, {Name: "b"}})
	if err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckTagName(t *testing.T) {
	for tag, ok := range map[string]bool{
		"v1.2.3": true, "my-crate-v1.0.0": true, "pkg/v1.0.0": true, "a$(x)": true,
		"": false, "a b": false, "a..b": false, "a~1": false, "x^": false, "a:b": false, "a?": false, "a*": false, "a[": false,
		"a\\b": false, "-x": false, "a/": false, "a//b": false, ".a": false, "a/.b": false, "a.lock": false, "a@{1}": false, "@": false, "a.": false, "a\x01": false,
	} {
		if err := CheckTagName(tag); (err == nil) != ok {
			t.Errorf("CheckTagName(%q) = %v", tag, err)
		}
	}
}

var _ = os.Getenv

func TestManifestWriteFailure(t *testing.T) {
	hh := newHarness(t, nil)
	hh.opts.SetVersion = func(kind, dir, version string) (string, string, error) {
		if kind == "pypi" {
			return "", "", diag.New("PIOT_MANIFEST_MISSING", "%s/pyproject.toml not found", dir)
		}
		if kind == "npm" {
			return "", "", diag.New("PIOT_MANIFEST_INVALID", "%s/package.json: not valid JSON", dir)
		}
		return "", "", nil
	}
	rep, err := hh.run(t)
	// PyPI carries on (the artifacts hold the version); npm publishes from the
	// manifest, so a broken one stops the run before its upload.
	if diag.CodeOf(err) != "PIOT_MANIFEST_INVALID" {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rep); !slices.Equal(got, []string{"core=published", "py=published", "js=failed"}) {
		t.Errorf("statuses = %v", got)
	}
	if len(rep.Packages[1].Notes) == 0 || len(hh.w.has("publish js")) != 0 {
		t.Errorf("py notes = %v; events = %v", rep.Packages[1].Notes, hh.w.events)
	}
}

func TestReleaseRepairForTaggedButUnreleased(t *testing.T) {
	hh := newHarness(t, nil)
	// A previous run at this commit tagged core and py, then died before
	// py's release; js had a tag made by another tool (no repair).
	hh.git.subjects = map[string]string{"core-v1.0.0": "core 1.0.0", "py-v1.0.0": "py 1.0.0", "js-v1.0.0": "v1"}
	hh.w.releases["core-v1.0.0"] = "x"
	hh.opts.Plan = func(context.Context, string, *config.Config) (*plan.Plan, error) { return &plan.Plan{}, nil }
	hh.opts.Tagged = func(context.Context, string, *config.Config) (map[string]Tagged, error) {
		return map[string]Tagged{
			"core": {Tag: "core-v1.0.0", Version: "1.0.0", Commit: "c0ffee0000000000"},
			"py":   {Tag: "py-v1.0.0", Version: "1.0.0", Commit: "c0ffee0000000000", PrevTag: "py-v0.9.0"},
			"js":   {Tag: "js-v1.0.0", Version: "1.0.0", Commit: "c0ffee0000000000"},
		}, nil
	}
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := hh.w.has("release"); !slices.Equal(got, []string{`release py-v1.0.0 "py 1.0.0"`, `release core-v1.0.0 "core 1.0.0"`}) {
		t.Errorf("releases ensured = %v", got)
	}
	if len(rep.RepairedReleases) != 2 || rep.Outcome != "nothing-to-release" {
		t.Errorf("rep = %+v", rep)
	}
	// Tags at another commit are history, not a half-finished run.
	hh.w.events = nil
	hh.opts.Tagged = func(context.Context, string, *config.Config) (map[string]Tagged, error) {
		return map[string]Tagged{"py": {Tag: "py-v1.0.0", Version: "1.0.0", Commit: "0ld"}}, nil
	}
	if _, err := hh.run(t); err != nil || len(hh.w.has("release")) != 0 {
		t.Errorf("err %v events %v", err, hh.w.events)
	}
}

func TestAuthorizeFailureWithoutHintGetsOne(t *testing.T) {
	hh := newHarness(t, nil)
	hh.h["pypi"].authorizeErr = map[string]error{"py": diag.New("PIOT_OIDC_TOKEN_REQUEST", "requesting a GitHub OIDC token: connection reset")}
	_, err := hh.run(t)
	if diag.CodeOf(err) != "PIOT_OIDC_TOKEN_REQUEST" || diag.HintOf(err) == "" {
		t.Errorf("err = %v hint = %q", err, diag.HintOf(err))
	}
}
