// Package rehearse sets up a release rehearsal (SPEC §10): a throwaway clone
// of the repository, in-process emulators of crates.io, PyPI, npm, the GitHub
// API and the Actions OIDC issuer, trusted publishers registered from the
// declared trust policies, and an environment that makes publish talk only to
// them. The user's repository, tags and remotes are only read.
package rehearse

import (
	"context"
	"errors"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/ghactions"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/emulator"
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	pypiemu "github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/family"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/registry/github"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// Codes raised here.
const (
	CodeTrustFlag = "PIOT_REHEARSE_TRUST_FLAG"
	CodeSetup     = "PIOT_REHEARSE_SETUP"
	CodeModelFlag = "PIOT_REHEARSE_MODEL_FLAG"
)

// The rehearsal's GitHub identity when nothing better is known.
const (
	rehearsalOwnerID = "65"
	maintainer       = "maintainer"
)

// Options configure a rehearsal.
type Options struct {
	Root   string // the user's repository (read only)
	Config *config.Config
	Plan   *plan.Plan // the plan computed on Root
	// Trust are --trust flags: package=owner/repo:workflow.yml[:environment].
	Trust []string
	// Env is the user's environment: only the names of token variables are
	// read (a set fallback token is replaced by an emulator token of the same
	// name), never their values.
	Env env.Env

	// Run modelling (flags); "" = read from the publish workflow.
	Event  string // the triggering event (push, release, pull_request_target, workflow_run, …)
	Ref    string // the triggering ref (refs/heads/main, refs/tags/v1.2.3)
	Runner string // github-hosted | self-hosted
	// OwnerID is the repository owner's ID the run's tokens carry;
	// RegisteredOwnerID the one the trusted publishers were registered
	// with. They differ after a repository is deleted and recreated, or
	// transferred away and back. "" = the same default for both.
	OwnerID, RegisteredOwnerID string
	// Sub is the OIDC subject shape: default | immutable | a literal value.
	Sub string
	// NPMStageOnly registers npm trusted publishers that allow only
	// `npm stage publish` (npm's default for connections created since
	// 2026-09-03 unless "Allow npm publish" is ticked).
	NPMStageOnly bool
	// CratesUpstream is the sparse index the crates.io emulator passes
	// through to for every crate not being released ("" = none).
	CratesUpstream string
}

// Registration is one trusted publisher the emulators were given.
type Registration struct {
	Package     string `json:"package"`
	Registry    string `json:"registry"`
	Repository  string `json:"repository"`
	Workflow    string `json:"workflow"`
	Environment string `json:"environment,omitempty"`
	Pending     bool   `json:"pending,omitempty"` // PyPI pending publisher (project not yet created)
	// NPMActions is what an npm trusted publisher allows ("" = publish and stage publish).
	NPMActions string `json:"npm_actions,omitempty"`
	Source     string `json:"source"` // trust_policy | --trust | workflow
}

// Exchange is one request a registry answered during the rehearsal.
type Exchange struct {
	Registry string `json:"registry"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	Status   int    `json:"status"`
	Body     string `json:"body,omitempty"` // only for answers ≥ 400
}

// Session is a running rehearsal.
type Session struct {
	Dir      string  // the throwaway clone: publish runs here
	Env      env.Env // the environment publish runs with
	Identity oidc.Identity
	// OIDC is false when the publish job lacks `id-token: write` (or no
	// publish workflow exists): the rehearsal then has no ID token, as the
	// real job would not.
	OIDC          bool
	Workflow      string // the caller workflow file ("" when none found)
	Registrations []Registration
	Notes         []string // what the rehearsal assumed or synthesised

	// What the publish workflow says about the run (identify).
	event, ref string
	selfHosted bool
	target     *workflow.Target // the publish job the rehearsal models

	*emulator.Set // the emulators publish talks to

	tmp      string
	upstream string   // crates.io emulator's upstream index ("" = none)
	released []string // registry names of the crates being released
}

// UnresolvedCrates lists the dependencies the crates.io emulator could not
// get from its upstream (unreachable or unknown there), with the reason.
// Without an upstream it is empty.
func (s *Session) UnresolvedCrates() []string {
	if s.upstream == "" || s.Crates == nil {
		return nil
	}
	own := map[string]bool{}
	for _, n := range s.released {
		own[strings.ReplaceAll(strings.ToLower(n), "-", "_")] = true
	}
	var out []string
	for _, u := range s.Crates.Unresolved() {
		name, _, _ := strings.Cut(u, " ")
		if !own[strings.ReplaceAll(strings.ToLower(name), "-", "_")] {
			out = append(out, u)
		}
	}
	return out
}

// CratesUpstream is the upstream index the crates.io emulator passes
// through to ("" = none).
func (s *Session) CratesUpstream() string { return s.upstream }

// Close stops the emulators and removes the clone.
func (s *Session) Close() {
	if s.Set != nil {
		s.Set.Close()
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// Exchanges lists what every registry answered, in order per registry.
func (s *Session) Exchanges() []Exchange {
	var out []Exchange
	add := func(reg string, f *fault.Injector) {
		for _, x := range f.Log() {
			e := Exchange{Registry: reg, Method: x.Method, Path: x.Path, Status: x.Status}
			// Refusals keep the registry's words; a GET answered 404 is an
			// existence check ("not published yet"), not a refusal.
			if (x.Status >= 400 || x.Status < 0) && !(x.Method == "GET" && x.Status == 404) {
				e.Body = strings.TrimSpace(x.Body)
			}
			out = append(out, e)
		}
	}
	for _, r := range s.Registries() {
		add(r.Name, r.Faults)
	}
	return out
}

// Start prepares a rehearsal. The caller runs publish in s.Dir with s.Env,
// then calls Close.
func Start(ctx context.Context, o Options) (_ *Session, err error) {
	s := &Session{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	trust, err := parseTrust(o.Trust, o.Config)
	if err != nil {
		return nil, err
	}
	if s.tmp, err = os.MkdirTemp("", "putitoutthere-rehearse-"); err != nil {
		return nil, err
	}
	s.Dir = filepath.Join(s.tmp, "repo")
	if err := cloneInto(ctx, o.Root, s.Dir, filepath.Join(s.tmp, "origin.git")); err != nil {
		return nil, err
	}
	if dirty, _ := gitOut(ctx, o.Root, "status", "--porcelain", "--untracked-files=no"); strings.TrimSpace(dirty) != "" {
		s.Notes = append(s.Notes, "rehearsing the last commit (HEAD): uncommitted changes are not included")
	}
	notes, err := prepareArtifacts(o.Root, s.Dir, o.Config, o.Plan)
	if err != nil {
		return nil, err
	}
	s.Notes = append(s.Notes, notes...)

	if s.Set, err = emulator.Start(); err != nil {
		return nil, err
	}
	for _, r := range s.Registries() {
		r.Faults.Record(true)
	}
	if o.CratesUpstream != "" {
		s.Crates.SetUpstream(o.CratesUpstream)
		s.upstream = o.CratesUpstream
		for _, p := range o.Config.Packages {
			if p.Kind == config.KindCrates {
				s.released = append(s.released, p.RegistryName())
			}
		}
		if len(s.released) > 0 {
			s.Notes = append(s.Notes, "crates.io emulator: the crates being released are served by the emulator; every other crate (dependencies) is read from "+o.CratesUpstream)
		}
	}

	s.identify(ctx, o)
	if err := s.model(o); err != nil {
		return nil, err
	}
	s.Set.OIDC.SetIdentity(s.Identity)
	owner, _, _ := strings.Cut(s.Identity.Repository, "/")
	if id, err := strconv.ParseInt(s.Identity.RepositoryOwnerID, 10, 64); err == nil {
		s.Crates.SetGitHubOwnerID(owner, id)
	}
	if err := s.register(o, trust); err != nil {
		return nil, err
	}
	s.buildEnv(o)
	return s, nil
}

// identify derives the claims the publish job's ID token would carry from
// the workflow that runs publish and from the origin remote.
func (s *Session) identify(ctx context.Context, o Options) {
	id := oidc.DefaultIdentity()
	id.Repository = ""
	if u, err := gitOut(ctx, o.Root, "remote", "get-url", "origin"); err == nil {
		if owner, repo, ok := github.ParseRemote(strings.TrimSpace(u)); ok {
			id.Repository = owner + "/" + repo
		}
	}
	if id.Repository == "" {
		if _, _, ok := ghactions.SplitRepository(o.Env.Value("GITHUB_REPOSITORY")); ok {
			r := o.Env.Value("GITHUB_REPOSITORY")
			id.Repository = r
		}
	}
	if id.Repository == "" {
		// Before the remote exists, the trust policies say which repository
		// the release will run in; a made-up name would fail every
		// repository check (npm provenance's repository.url) for no reason.
		if r := declaredRepository(o.Config); r != "" {
			id.Repository = r
			s.Notes = append(s.Notes, "no GitHub origin remote: the rehearsal uses the repository the trust policies declare, "+r)
		} else {
			id.Repository = "local/" + filepath.Base(o.Root)
			s.Notes = append(s.Notes, "no GitHub origin remote: the rehearsal uses the repository name "+id.Repository)
		}
	}
	id.RepositoryOwnerID = rehearsalOwnerID
	if sha, err := gitOut(ctx, s.Dir, "rev-parse", "HEAD"); err == nil {
		id.SHA = strings.TrimSpace(sha)
	}
	id.Environment = ""
	wfs, _ := workflow.LoadDir(s.Dir)
	a := workflow.Analyze(wfs, workflow.Options{})
	if len(a.Targets) == 0 && len(a.Dead) == 0 {
		if rt := a.RemoteTargets(); len(rt) > 0 {
			s.identifyRemote(id, rt[0], o)
			return
		}
	}
	if len(a.Targets) == 0 {
		s.Notes = append(s.Notes, "no workflow under .github/workflows runs `putitoutthere publish`: the rehearsal has no OIDC token (run `putitoutthere doctor`)")
		id.WorkflowFile = "release.yml"
		s.Identity = id
		return
	}
	t := a.Targets[0]
	s.target = t
	s.Workflow = t.Caller().File
	id.WorkflowFile = t.Caller().File
	id.Workflow = strings.TrimSuffix(strings.TrimSuffix(t.Caller().File, ".yml"), ".yaml")
	if t.Caller().Name != "" {
		id.Workflow = t.Caller().Name
	}
	if t.Reusable() {
		id.JobWorkflowFile = t.Defining().File
	}
	if e := t.Environment(); e != nil && !e.Expression {
		id.Environment = e.Name
	} else if e != nil {
		s.Notes = append(s.Notes, fmt.Sprintf("%s: the publish job's environment is an expression (%s); the rehearsal runs without one", t.Job().ID, e.Name))
	}
	s.event, s.ref = workflowEvent(t.Caller())
	s.selfHosted = t.Job().SelfHosted()
	if g := t.Check("id-token"); g.OK {
		s.OIDC = true
	} else {
		s.Notes = append(s.Notes, fmt.Sprintf("%s: job `%s` does not get `id-token: write`, so the publish job would have no OIDC token", t.Defining().Path, t.Job().ID))
	}
	if len(a.Targets) > 1 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d workflows run publish; the rehearsal uses %s", len(a.Targets), t.Caller().Path))
	}
	s.Identity = id
}

// identifyRemote: the publish job is a call to a reusable workflow in
// another repository (an organisation's shared release workflow). The token
// names this repository's caller file in workflow_ref and the other
// repository's file in job_workflow_ref; the environment is set by the
// called job, which cannot be read from here, so the one the trust policies
// declare is assumed.
func (s *Session) identifyRemote(id oidc.Identity, t *workflow.Target, o Options) {
	s.Workflow = t.Caller().File
	s.event, s.ref = workflowEvent(t.Caller())
	id.WorkflowFile = t.Caller().File
	id.Workflow = strings.TrimSuffix(strings.TrimSuffix(t.Caller().File, ".yml"), ".yaml")
	if t.Caller().Name != "" {
		id.Workflow = t.Caller().Name
	}
	id.JobWorkflowRepo = workflow.RemoteRepo(t.Remote)
	id.JobWorkflowFile = workflow.RemoteFile(t.Remote)
	if _, ref, ok := strings.Cut(t.Remote, "@"); ok && ref != "" {
		if strings.HasPrefix(ref, "v") || strings.Contains(ref, ".") {
			id.JobWorkflowRef = "refs/tags/" + ref
		} else if len(ref) == 40 {
			id.JobWorkflowRef = ref
		} else {
			id.JobWorkflowRef = "refs/heads/" + ref
		}
	}
	for _, p := range o.Config.Packages {
		if p.TrustPolicy != nil && p.TrustPolicy.Environment != "" {
			id.Environment = p.TrustPolicy.Environment
			break
		}
	}
	s.Notes = append(s.Notes, fmt.Sprintf("%s: job `%s` publishes through %s, in another repository: crates.io and npm match %s; the environment is assumed to be %s",
		t.Caller().Path, t.CallerJob().ID, t.Remote, t.Caller().File, orNone(id.Environment)))
	if t.Check("id-token").OK {
		s.OIDC = true
	} else {
		s.Notes = append(s.Notes, fmt.Sprintf("%s: job `%s` does not grant `id-token: write`, so the called workflow would have no OIDC token", t.Caller().Path, t.CallerJob().ID))
	}
	s.Identity = id
}

func orNone(s string) string {
	if s == "" {
		return "none (no trust policy declares one)"
	}
	return "`" + s + "`"
}

// model applies what the rehearsal was told (flags) or reads from the
// publish workflow about the run: the event and ref, the runner, the owner
// ID and the subject. The registries' own rules then judge them as they
// would the real run's token.
func (s *Session) model(o Options) error {
	id := &s.Identity
	ev, evFrom := o.Event, "--event"
	if ev == "" {
		ev, evFrom = s.event, "the publish workflow's `on:`"
	}
	if ev != "" {
		id.EventName = ev
		if ev != "push" {
			s.Notes = append(s.Notes, fmt.Sprintf("the run is modelled as a `%s` event (from %s)", ev, evFrom))
		}
	}
	if o.Ref != "" {
		if !strings.HasPrefix(o.Ref, "refs/") {
			return diag.Usage(CodeModelFlag, "--ref %q: give a full ref (refs/heads/main, refs/tags/v1.2.3)", o.Ref)
		}
		id.Ref = o.Ref
	} else if s.ref != "" {
		id.Ref = s.ref
	}
	runner, runFrom := o.Runner, "--runner"
	if runner == "" && s.selfHosted {
		runner, runFrom = "self-hosted", "the publish job's `runs-on:`"
	}
	switch runner {
	case "", "github-hosted":
	case "self-hosted":
		id.RunnerEnvironment = runner
		s.Notes = append(s.Notes, "the publish job runs on a self-hosted runner (from "+runFrom+")")
	default:
		return diag.Usage(CodeModelFlag, "--runner %q: must be github-hosted or self-hosted", runner)
	}
	for _, v := range []struct{ flag, val string }{{"--owner-id", o.OwnerID}, {"--registered-owner-id", o.RegisteredOwnerID}} {
		if _, err := strconv.ParseInt(v.val, 10, 64); v.val != "" && err != nil {
			return diag.Usage(CodeModelFlag, "%s %q: must be a number (GitHub's numeric owner ID)", v.flag, v.val)
		}
	}
	if o.OwnerID != "" {
		id.RepositoryOwnerID = o.OwnerID
	}
	if o.RegisteredOwnerID != "" && o.RegisteredOwnerID != id.RepositoryOwnerID {
		s.Notes = append(s.Notes, fmt.Sprintf("the trusted publishers were registered with owner ID %s; the run's tokens carry %s (a repository deleted and recreated, or transferred)", o.RegisteredOwnerID, id.RepositoryOwnerID))
	}
	switch o.Sub {
	case "", "default":
	case "immutable":
		id.Sub = id.ImmutableSub()
	default:
		id.Sub = o.Sub
	}
	return nil
}

type trustFlag struct {
	owner, repo, workflow, environment string
}

// parseTrust reads --trust package=owner/repo:workflow.yml[:environment].
// CheckTrust validates --trust flags against cfg without starting anything,
// so a bad flag is a usage error even when there is nothing to rehearse.
func CheckTrust(flags []string, cfg *config.Config) error {
	_, err := parseTrust(flags, cfg)
	return err
}

func parseTrust(flags []string, cfg *config.Config) (map[string]trustFlag, error) {
	out := map[string]trustFlag{}
	for _, f := range flags {
		name, spec, ok := strings.Cut(f, "=")
		parts := strings.Split(spec, ":")
		bad := func(why string) error {
			return diag.Usage(CodeTrustFlag, "--trust %q: %s", f, why).
				WithHint("write --trust PACKAGE=OWNER/REPO:WORKFLOW.yml[:ENVIRONMENT], e.g. --trust core=acme/core:release.yml:release")
		}
		if !ok || len(parts) < 2 || len(parts) > 3 {
			return nil, bad("not PACKAGE=OWNER/REPO:WORKFLOW[:ENVIRONMENT]")
		}
		if cfg.Package(name) == nil {
			return nil, bad(fmt.Sprintf("no package %q in the config", name))
		}
		owner, repo, ok := strings.Cut(parts[0], "/")
		if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
			return nil, bad("the repository must be OWNER/REPO")
		}
		if !strings.HasSuffix(parts[1], ".yml") && !strings.HasSuffix(parts[1], ".yaml") || strings.Contains(parts[1], "/") {
			return nil, bad("the workflow must be a bare .yml or .yaml file name")
		}
		t := trustFlag{owner: owner, repo: repo, workflow: parts[1]}
		if len(parts) == 3 {
			t.environment = parts[2]
		}
		out[name] = t
	}
	return out, nil
}

// register gives each registry its trusted publishers and its existing
// packages: a package with a release tag exists at its last version; a first
// release does not (PyPI gets a pending publisher for it, as PyPI allows).
func (s *Session) register(o Options, flags map[string]trustFlag) error {
	idOwner, idRepo, _ := strings.Cut(s.Identity.Repository, "/")
	ownerID := s.Identity.RepositoryOwnerID
	if o.RegisteredOwnerID != "" {
		ownerID = o.RegisteredOwnerID
	}
	for i := range o.Config.Packages {
		p := &o.Config.Packages[i]
		rel := releaseOf(o.Plan, p.Name)
		exists := rel == nil || !rel.FirstRelease
		lastVersion := ""
		if rel != nil {
			lastVersion = rel.LastVersion
		}
		reg := Registration{Package: p.Name}
		t := trustFlag{owner: idOwner, repo: idRepo, workflow: s.Identity.WorkflowFile, environment: s.Identity.Environment}
		reg.Source = "workflow"
		if p.Kind == config.KindPyPI && s.Identity.JobWorkflowFile != "" {
			t.workflow = s.Identity.JobWorkflowFile // PyPI matches the called workflow
		}
		if tp := p.TrustPolicy; tp != nil {
			t = trustFlag{owner: idOwner, repo: idRepo, workflow: tp.Workflow, environment: tp.Environment}
			if o, r, ok := strings.Cut(tp.Repository, "/"); ok {
				t.owner, t.repo = o, r
			}
			reg.Source = "trust_policy"
		}
		if f, ok := flags[p.Name]; ok {
			t, reg.Source = f, "--trust"
		}
		reg.Repository, reg.Workflow, reg.Environment = t.owner+"/"+t.repo, t.workflow, t.environment
		name := p.RegistryName()
		var err error
		switch p.Kind {
		case config.KindCrates:
			reg.Registry = "crates.io"
			if exists {
				s.Crates.CreateCrate(name, maintainer)
				if lastVersion != "" {
					s.Crates.AddVersion(name, lastVersion)
				}
				id, _ := strconv.ParseInt(ownerID, 10, 64)
				s.Crates.AddGitHubConfig(name, crates.GitHubConfig{Owner: t.owner, Repo: t.repo, OwnerID: id, Workflow: t.workflow, Environment: t.environment})
			} else {
				reg.Workflow = "" // crates.io takes trusted publishers only for existing crates
			}
		case config.KindPyPI:
			reg.Registry = "PyPI"
			pub := pypiemu.Publisher{Owner: t.owner, Repo: t.repo, OwnerID: ownerID, Workflow: t.workflow, Environment: t.environment}
			if exists {
				if err = s.PyPI.CreateProject(name, maintainer); err == nil {
					err = s.PyPI.AddTrustedPublisher(name, pub)
				}
			} else {
				reg.Pending = true
				err = s.PyPI.AddPendingPublisher(name, pub)
			}
		case config.KindNPM:
			reg.Registry = "npm"
			if exists {
				v := lastVersion
				if v == "" {
					v = "0.0.0"
				}
				names := []string{name}
				// A family that was released before has its platform members too.
				if ms, merr := family.Members(p); merr == nil && (p.Build == config.BuildNapi || p.Build == config.BuildBundledCLI) {
					for _, m := range ms {
						names = append(names, m.Name)
					}
				}
				for _, n := range names {
					if err == nil {
						err = s.NPM.CreatePackageVersion(n, maintainer, v)
					}
					if err == nil {
						tp := npmemu.TrustedPublisher{Owner: t.owner, Repo: t.repo, Workflow: t.workflow, Environment: t.environment}
						if o.NPMStageOnly {
							tp.Permissions = []string{npmemu.PermCreateStagedPackage}
							reg.NPMActions = "stage publish only"
						}
						err = s.NPM.AddTrustedPublisher(n, tp)
					}
				}
			} else {
				reg.Workflow = "" // npm takes trusted publishers only for existing packages
			}
		}
		if err != nil {
			return diag.New(CodeSetup, "registering %s on the %s emulator", p.Name, reg.Registry).Wrap(err)
		}
		s.Registrations = append(s.Registrations, reg)
	}
	s.driftNote()
	return nil
}

// driftNote says what the rehearsal cannot see: it registers trusted
// publishers from the same identity it mints tokens for (the workflow) or
// from the declaration, never from what the registries really hold, so a
// registration that differs from both passes here and fails publish.
func (s *Session) driftNote() {
	var fromWorkflow, fromDecl []string
	for _, r := range s.Registrations {
		if r.Workflow == "" {
			continue
		}
		switch r.Source {
		case "workflow":
			fromWorkflow = append(fromWorkflow, r.Package)
		case "trust_policy":
			fromDecl = append(fromDecl, r.Package)
		}
	}
	if len(fromWorkflow) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("registration drift not checked for %s: with no [package.trust_policy] their trusted publishers were registered from the publish workflow, the same identity the rehearsal mints tokens for, so a registry that holds something else cannot be seen here; declare the registrations, pass --trust, or run `putitoutthere preflight` in the publish job (it performs the registries' exchanges)", strings.Join(fromWorkflow, ", ")))
	}
	if len(fromDecl) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%s: registered from [package.trust_policy]; a registration changed on the registry and not in the declaration is not visible here (`putitoutthere preflight` in the publish job asks the registries)", strings.Join(fromDecl, ", ")))
	}
}

func releaseOf(p *plan.Plan, name string) *plan.Release {
	if p == nil {
		return nil
	}
	return p.Release(name)
}

// buildEnv is the environment publish runs with: the emulators' URLs, the
// Actions variables of the publish job (OIDC only when the job would get it),
// and an emulator token for each fallback variable the user has set.
func (s *Session) buildEnv(o Options) {
	e := env.Env{}
	for _, k := range []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "CARGO_HOME", "RUSTUP_HOME", "SystemRoot", "ComSpec", "PATHEXT", "USERPROFILE", "APPDATA", "LOCALAPPDATA"} {
		if v, ok := o.Env.Get(k); ok {
			e[k] = v
		}
	}
	if s.OIDC {
		for k, v := range s.Set.OIDC.Env() {
			e[k] = v
		}
	} else {
		for k, v := range s.Set.OIDC.Env() {
			if !strings.HasPrefix(k, "ACTIONS_ID_TOKEN_REQUEST_") {
				e[k] = v
			}
		}
	}
	// Not "inside Actions": provenance needs Sigstore's public services, and
	// ::add-mask:: lines would only be noise on a terminal.
	delete(e, "GITHUB_ACTIONS")
	e["GITHUB_REPOSITORY"] = s.Identity.Repository
	e["GITHUB_SHA"] = s.Identity.SHA
	for k, v := range s.PyPI.Env() {
		e[k] = v
	}
	for k, v := range s.GitHub.Env() {
		e[k] = v
	}
	// PyPI attestations are signed by the Sigstore emulator and verified by
	// the PyPI emulator against its trust root.
	for k, v := range s.Sigstore.Env() {
		e[k] = v
	}
	e["PUTITOUTTHERE_CRATES_IO_URL"] = s.Crates.URL()
	e["PUTITOUTTHERE_NPM_REGISTRY"] = s.NPM.URL()
	s.GitHub.AddRepo(s.Identity.Repository)
	e["GITHUB_TOKEN"] = s.GitHub.IssueInstallationToken(s.Identity.Repository)

	// Fallback tokens: same variable names as the user's, emulator values.
	if !o.Env.Has("CARGO_REGISTRY_TOKEN") && s.leftoverCargoToken(o) {
		// The publish step passes CARGO_REGISTRY_TOKEN from a secret to
		// crates that publish with trusted publishing. On crates.io the token
		// wins over OIDC; the rehearsal cannot see the secret, so it models
		// the failure this line causes: a secret that is set and stale.
		tok := crates.NewAPITokenString()
		s.Crates.AddAPIToken(tok)
		s.Crates.RevokeAPIToken(tok)
		e["CARGO_REGISTRY_TOKEN"] = tok
	} else if o.Env.Has("CARGO_REGISTRY_TOKEN") {
		tok := crates.NewAPITokenString()
		s.Crates.AddAPIToken(tok)
		e["CARGO_REGISTRY_TOKEN"] = tok
		s.Notes = append(s.Notes, "CARGO_REGISTRY_TOKEN is set: the rehearsal uses an emulator token in its place")
	}
	if o.Env.Has("PYPI_API_TOKEN") {
		var projects []string
		for _, p := range o.Config.Packages {
			if p.Kind == config.KindPyPI {
				projects = append(projects, p.RegistryName())
			}
		}
		if tok, err := s.PyPI.APIToken(maintainer, projects...); err == nil {
			e["PYPI_API_TOKEN"] = tok
			s.Notes = append(s.Notes, "PYPI_API_TOKEN is set: the rehearsal uses an emulator token in its place")
		}
	}
	for _, name := range []string{"NODE_AUTH_TOKEN", "NPM_TOKEN"} {
		if o.Env.Has(name) {
			tok := npmemu.NewToken()
			s.NPM.AddUser(maintainer, tok)
			e[name] = tok
			s.Notes = append(s.Notes, name+" is set: the rehearsal uses an emulator token in its place")
		}
	}
	s.Env = e
}

// leftoverCargoToken reports whether the modelled publish step is given
// CARGO_REGISTRY_TOKEN from a secret while a crate that publishes with
// trusted publishing (not `auth = "token"`) is in the config, and notes it.
func (s *Session) leftoverCargoToken(o Options) bool {
	if s.target == nil || !s.OIDC {
		return false
	}
	val, file, line, ok := s.target.EnvSource("CARGO_REGISTRY_TOKEN")
	if !ok || !strings.Contains(val, "secrets.") {
		return false
	}
	for _, p := range o.Config.Packages {
		if p.Kind == config.KindCrates && !p.UsesToken() {
			s.Notes = append(s.Notes, fmt.Sprintf("%s:%d passes CARGO_REGISTRY_TOKEN (%s) to the publish step; on crates.io it wins over OIDC, so the rehearsal models that secret set and stale (remove the line, or mark the crate auth = \"token\" and set CARGO_REGISTRY_TOKEN to rehearse with a live one)", file, line, val))
			return true
		}
	}
	return false
}

// cloneInto clones root's HEAD and tags into dir, with a bare repository as
// its origin so tag pushes land somewhere harmless.
func cloneInto(ctx context.Context, root, dir, bare string) error {
	top, err := gitOut(ctx, root, "rev-parse", "--show-toplevel")
	if err != nil {
		return diag.New(CodeSetup, "%s is not a git repository", root).Wrap(err)
	}
	top = strings.TrimSpace(top)
	steps := [][]string{
		{"-C", filepath.Dir(dir), "clone", "--quiet", "--no-hardlinks", top, dir},
		{"-C", filepath.Dir(dir), "init", "--quiet", "--bare", bare},
		{"-C", dir, "remote", "set-url", "origin", bare},
	}
	for _, args := range steps {
		if out, err := exec.CommandContext(ctx, "git", args...).CombinedOutput(); err != nil {
			return diag.New(CodeSetup, "preparing the rehearsal clone: git %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out))).Wrap(err)
		}
	}
	// A detached HEAD clones as the default branch; check out the same commit.
	head, err := gitOut(ctx, root, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", dir, "checkout", "--quiet", "--detach", strings.TrimSpace(head)).CombinedOutput(); err != nil {
		return diag.New(CodeSetup, "preparing the rehearsal clone: %s", strings.TrimSpace(string(out))).Wrap(err)
	}
	return nil
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: exit %d", strings.Join(args, " "), ee.ExitCode())
		}
		return "", err
	}
	return string(out), nil
}

// declaredRepository is the one repository every trust_policy that names one
// agrees on, or "" when none names one or they disagree.
func declaredRepository(cfg *config.Config) string {
	repo := ""
	if cfg == nil {
		return ""
	}
	for _, p := range cfg.Packages {
		if p.TrustPolicy == nil || p.TrustPolicy.Repository == "" {
			continue
		}
		if repo == "" {
			repo = p.TrustPolicy.Repository
		} else if !strings.EqualFold(repo, p.TrustPolicy.Repository) {
			return ""
		}
	}
	return repo
}

// workflowEvent picks the event a release run of w is triggered by: push
// (with its first branch), then release, workflow_dispatch, schedule; a
// workflow triggered only otherwise (pull_request_target, workflow_run) is
// modelled as that event, not pretended a push.
func workflowEvent(w *workflow.Workflow) (event, ref string) {
	for _, pref := range []string{"push", "release", "workflow_dispatch", "schedule"} {
		if _, ok := w.HasEvent(pref); ok {
			return pref, ""
		}
	}
	for _, e := range w.Events {
		if e.Name != "workflow_call" {
			return e.Name, ""
		}
	}
	return "", ""
}

// ApproveStages approves every staged npm version on the maintainer's
// behalf, as `npm stage approve` would after 2FA, and returns the stages
// approved (package@version stage-id), oldest first: a family's members
// before its top-level package.
func (s *Session) ApproveStages() ([]string, error) {
	var out []string
	for _, st := range s.NPM.Stages() {
		if err := s.NPM.Approve(st.ID); err != nil {
			return out, err
		}
		out = append(out, st.PackageName+"@"+st.Version+" "+st.ID)
	}
	return out, nil
}
