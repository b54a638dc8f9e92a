package doctor

import (
	"context"
	"github.com/putitoutthere/putitoutthere/internal/ghactions"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"path/filepath"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// DefaultRegistryTimeout is the budget for each registry call doctor makes.
const DefaultRegistryTimeout = 5 * time.Second

// TokenInfo is what a token inspection found (phase 8, --deep).
type TokenInfo struct {
	// Covers reports whether the token may publish the package.
	Covers bool
	// Unknown: the registry cannot tell (e.g. a PyPI token's liveness).
	Unknown bool
	// Detail describes the token (scope, owner, expiry), never its value.
	Detail string
	// Dead: the registry does not accept the token at all (unknown,
	// revoked, expired).
	Dead bool
}

// Options are doctor's inputs. Everything that touches the outside world is
// a field, so tests drive every branch without a network or a real git.
type Options struct {
	Root       string // repository root
	ConfigFile string // path of putitoutthere.toml
	Env        env.Env

	Artifacts bool // phase 7
	Deep      bool // phase 8

	// HTTP is used for every registry and OIDC call; nil = httpx.New().
	HTTP *httpx.Client
	// RegistryTimeout bounds each registry call (default 5 s).
	RegistryTimeout time.Duration

	// Remote returns the `origin` remote URL ("" when there is none).
	// nil = `git remote get-url origin` in Root.
	Remote func(ctx context.Context) string
	// NPMRegistry returns npm's registry URL for the OIDC audience. nil =
	// PUTITOUTTHERE_NPM_REGISTRY, else `npm config get registry`.
	NPMRegistry func(ctx context.Context) string
	// Plan computes the current plan (phase 7); nil = unavailable.
	Plan func(ctx context.Context, cfg *config.Config) (*plan.Plan, error)
	// InspectToken inspects a token held in envName for pkg (phase 8); nil =
	// unavailable.
	InspectToken func(ctx context.Context, pkg *config.Package, envName string) (TokenInfo, error)
	// Exchanges runs publish's own preflight steps for the plan with only
	// the credential checks (token liveness, trust exchanges revoked after,
	// first publish); nil = not available. doctor calls it inside Actions
	// when this job has credentials.
	Exchanges func(ctx context.Context) ([]ExchangeResult, error)
	// PackageExists asks a registry whether a package exists (--deep);
	// nil = the built-in crates.io / npm lookups.
	PackageExists func(ctx context.Context, pkg *config.Package) (exists bool, err error)
	// NPMTrust reads an npm package's trusted-publisher permissions with a
	// maintainer's token (found: the package has a trusted publisher); nil =
	// GET /-/package/{name}/trust on npm's registry.
	NPMTrust func(ctx context.Context, name, token string) (perms []string, found bool, err error)
}

// state is what phases share.
type state struct {
	opt      Options
	cfg      *config.Config
	analysis *workflow.Analysis
	kinds    map[string]bool
	repo     string // owner/repo from origin ("" unknown)
	// configErr is the config load error, when there is one.
	configErr error
	remote    string

	ownerIDDone  bool
	ownerIDValue int64
	// exchanged: the registries answered publish's preflight exchanges.
	exchanged bool
}

// Run runs every phase and returns the report. It never returns an error:
// every problem is a finding in the report.
func Run(ctx context.Context, opt Options) *Report {
	if opt.RegistryTimeout <= 0 {
		opt.RegistryTimeout = DefaultRegistryTimeout
	}
	if opt.HTTP == nil {
		opt.HTTP = httpx.New()
	}
	if opt.Env == nil {
		opt.Env = env.Env{}
	}
	st := &state{opt: opt, kinds: map[string]bool{}}
	r := &Report{}

	cfgPhase, cfg := configPhase(st)
	st.cfg = cfg
	if cfg != nil {
		for _, p := range cfg.Packages {
			st.kinds[p.Kind] = true
			if p.Kind == "pypi" && !p.NoAttestations {
				st.kinds[kindPyPIAttested] = true
			}
		}
	}

	wfs, err := workflow.LoadDir(opt.Root)
	st.analysis = workflow.Analyze(wfs, workflow.Options{LocalAction: isLocalAction(opt.Root)})
	if len(st.analysis.Targets) == 0 && len(st.analysis.Dead) == 0 {
		// An organisation's shared release workflow, called from here: the
		// publish step is in the other repository.
		st.analysis.Targets = st.analysis.RemoteTargets()
	}
	local := localPhase(st.analysis, st.kinds)
	if err != nil {
		local.add(Fail, "workflows: "+err.Error())
		local.finish()
	}

	if cfg == nil {
		r.ConfigError = true
		r.ConfigErr = st.configErr
		r.Phases = append(r.Phases, cfgPhase)
		r.Phases = append(r.Phases, skipped(PhaseAuth, "auth", "auth"), local,
			skipped(PhaseDeclared, "trust policy (declared)", "trust-policy"),
			skipped(PhaseCratesIO, "trust policy (crates.io registry)", "trust-policy"),
			skipped(PhaseClaims, "trust policy (OIDC claims)", "trust-policy"))
		r.Note = seedNote
		return r
	}

	st.remote = st.originURL(ctx)
	if owner, name, ok := ParseRemote(st.remote); ok {
		st.repo = owner + "/" + name
	} else if r := opt.Env.Value("GITHUB_REPOSITORY"); validRepo(r) {
		st.repo = r // a checkout without an origin remote, inside Actions
	}
	npmRepoWarnings(st, cfgPhase)
	npmLifecycleChecks(st, cfgPhase)
	cfgPhase.finish()

	r.Phases = append(r.Phases, cfgPhase, authPhase(ctx, st), local, declaredPhase(st), cratesPhase(ctx, st), claimsPhase(ctx, st))
	if ph := npmStagingPhase(ctx, st); ph != nil {
		r.Phases = append(r.Phases, ph)
	}
	if opt.Artifacts {
		r.Phases = append(r.Phases, artifactsPhase(ctx, st))
	}
	if opt.Deep {
		r.Phases = append(r.Phases, deepPhase(ctx, st))
	}
	r.Note = note
	if !anyDeclared(cfg) {
		r.Note = seedNote
	}
	if st.exchanged {
		r.Note = exchangedNote
	}
	return r
}

// exchangedNote closes a report in which doctor asked the registries
// themselves (publish's preflight exchanges, in a job with credentials).
const exchangedNote = "`doctor` asked the registries themselves in this run (publish's preflight exchanges: token liveness, trust exchanges, first publish), so their registrations were compared as they stand. A rename made on a registry or in a workflow after this run is not seen until doctor runs again."

// seedNote closes a report when nothing is declared: then doctor indeed
// compares no names with any registry (the documented wording, verbatim).
const seedNote = "`doctor` does NOT diff workflow filename or environment name against each registry's trust policy. Renaming the workflow or environment will still break publish with HTTP 400 until the registry registration is updated."

// anyDeclared reports whether some package has a [package.trust_policy].
func anyDeclared(cfg *config.Config) bool {
	for _, p := range cfg.Packages {
		if p.TrustPolicy != nil {
			return true
		}
	}
	return false
}

// note is the closing line when trust policies are declared: what doctor
// compares, and what it still cannot see.
const note = "`doctor` compares your declared trust policies with the local workflows, with crates.io's registered configs (when CRATES_IO_DOCTOR_TOKEN is set) and, inside Actions, with the OIDC token's claims. It cannot read PyPI's or npm's trusted-publisher settings: for those registries the [package.trust_policy] block is what you say is registered, so after renaming a workflow or environment update the registry's trusted-publisher page too, or publish will still fail with HTTP 400."

func skipped(id, title, prefix string) *Phase {
	p := newPhase(id, title, prefix)
	p.add(Skip, "skipped: the config did not load")
	p.finish()
	return p
}

// isLocalAction reports whether the repository is itself the putitoutthere
// action, so `uses: ./` steps run it.
func isLocalAction(root string) bool {
	for _, n := range []string{"action.yml", "action.yaml"} {
		data, err := safefile.ReadFile(filepath.Join(root, n), safefile.MaxWorkflow)
		if err == nil && strings.Contains(strings.ToLower(string(data)), "putitoutthere") {
			return true
		}
	}
	return false
}

func validRepo(s string) bool {
	_, _, ok := ghactions.SplitRepository(s)
	return ok
}
