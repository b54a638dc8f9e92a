package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// Codes of the trust checks.
const (
	CodeTokenNotLive  = "PIOT_TOKEN_NOT_LIVE"
	CodeNPMSelfHosted = "PIOT_NPM_SELF_HOSTED"
)

// TokenProof is what a registry said about a token publish would use.
type TokenProof struct {
	// Dead: the registry does not accept the token (unknown, revoked,
	// expired, malformed).
	Dead bool
	// NotCovering: the token is live but may not publish the package.
	NotCovering bool
	// Detail describes the token (kind, owner, scope), never its value.
	Detail string
	// Unknowable says what cannot be proven from here (PyPI has no
	// authenticated read an API token can make; its macaroon is read
	// offline instead).
	Unknowable string
}

// runningJobGrantsIDToken: the job this run is (GITHUB_WORKFLOW_REF and
// GITHUB_JOB name it in the repository's workflows) grants `id-token:
// write`. false when it cannot tell.
func (r *flow) runningJobGrantsIDToken() bool {
	if !r.o.Env.InActions() {
		return false
	}
	wfs, _ := workflow.LoadDir(r.o.Root)
	t := workflow.Analyze(wfs, workflow.Options{}).Running(r.o.Env.Value("GITHUB_WORKFLOW_REF"), r.o.Env.Value("GITHUB_JOB"))
	return t != nil && t.Check("id-token").OK
}

// missingAuthHint is the hint for packages with no way to authenticate: it
// does not tell to add `id-token: write` to a job that has it (a pull
// request from a fork, a Dependabot run).
func (r *flow) missingAuthHint() string {
	return auth.MissingOIDCHint(r.o.Env, r.runningJobGrantsIDToken())
}

// checkTokens proves every token publish would use live for its package
// before the first upload, with each registry's cheapest authenticated read
// (crates.io: the token probe of `token inspect`; npm: whoami and the
// package's access; PyPI has none an API token can make, so its macaroon's
// expiry and project scope are read offline). A stale CARGO_REGISTRY_TOKEN
// next to working OIDC wins on crates.io and would fail `cargo publish`
// after the packages before it shipped.
func (r *flow) checkTokens(ctx context.Context) error {
	if r.o.ProveToken == nil {
		return nil
	}
	var bad []string
	for i, j := range r.jobs {
		if r.published[j.Package.Name] || j.Auth.Method != auth.MethodToken {
			continue
		}
		p, err := r.o.ProveToken(ctx, j)
		switch {
		case err != nil:
			r.warn("%s: %s could not be checked (%v); publishing will tell", j.Package.Name, j.Auth.EnvName, err)
		case p.Dead || p.NotCovering:
			what := "is not accepted by " + registryName(j.Package.Kind)
			if !p.Dead {
				what = "cannot publish " + j.Name()
			}
			line := fmt.Sprintf("%s: %s %s (%s)", j.Package.Name, j.Auth.EnvName, what, p.Detail)
			if j.Auth.OIDCIgnored {
				line += "; it is used instead of OIDC, which this job has: on crates.io whatever is in CARGO_REGISTRY_TOKEN wins"
			}
			bad = append(bad, line)
			r.rep.Packages[i].Error = line
		case p.Unknowable != "":
			note := fmt.Sprintf("%s: %s", j.Auth.EnvName, p.Unknowable)
			r.rep.Packages[i].Notes = append(r.rep.Packages[i].Notes, note)
			r.logf("%s: %s", j.Package.Name, note)
		default:
			r.logf("%s: %s is live (%s)", j.Package.Name, j.Auth.EnvName, p.Detail)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	if r.o.DryRun {
		r.problems = append(r.problems, bad...)
		return nil
	}
	e := diag.New(CodeTokenNotLive, "%d registry token(s) would be refused; nothing was published", len(bad))
	e.Details = bad
	return e.WithHint("replace the secret with a live token for the package, or remove it from the publish step so trusted publishing is used (a package that publishes with OIDC needs no token)")
}

func registryName(kind string) string {
	switch kind {
	case config.KindCrates:
		return "crates.io"
	case config.KindPyPI:
		return "PyPI"
	case config.KindNPM:
		return "npm"
	}
	return kind
}

// checkRunner: npm refuses trusted publishing and provenance from
// self-hosted runners (422 "Unsupported GitHub Actions runner environment",
// protocols.md §4.2). An npm package with a token fallback publishes with it,
// without provenance; one without stops the run before the first upload,
// not after the crates and wheels shipped.
func (r *flow) checkRunner(ctx context.Context) error {
	re := r.o.Env.Value("RUNNER_ENVIRONMENT")
	if !r.o.Env.InActions() || re == "" || re == "github-hosted" {
		return nil
	}
	var blocked []string
	for i, j := range r.jobs {
		if j.Package.Kind != config.KindNPM || j.Auth.Method != auth.MethodOIDC {
			continue
		}
		if j.Auth.Fallback != "" {
			r.jobs[i].Auth = auth.Resolution{Kind: j.Auth.Kind, Method: auth.MethodToken, EnvName: j.Auth.Fallback}
			r.rep.Packages[i].Auth = r.jobs[i].Auth.String()
			note := fmt.Sprintf("this runner is %s, and npm refuses trusted publishing from one: using %s, without provenance", re, j.Auth.Fallback)
			r.rep.Packages[i].Notes = append(r.rep.Packages[i].Notes, note)
			r.logf("%s: %s", j.Package.Name, note)
			continue
		}
		blocked = append(blocked, fmt.Sprintf("%s: npm refuses trusted publishing and provenance from a %s runner (RUNNER_ENVIRONMENT)", j.Package.Name, re))
	}
	if len(blocked) == 0 {
		return nil
	}
	if r.o.DryRun {
		for _, b := range blocked {
			r.warn("%s (a real publish would stop here)", b)
		}
		return nil
	}
	e := diag.New(CodeNPMSelfHosted, "npm packages cannot be published with trusted publishing from this runner; nothing was published")
	e.Details = blocked
	return e.WithHint("run the publish job on a GitHub-hosted runner (runs-on: ubuntu-latest), or give the npm packages a token (NODE_AUTH_TOKEN) and mark them auth = \"token\"")
}

// provenance reports whether npm will sign provenance for j: only with
// OIDC, inside Actions, for a public repository. A private repository's
// publish skips provenance, so its `repository.url` is not required.
func (r *flow) provenance(ctx context.Context, j Job) bool {
	if j.Package.Kind != config.KindNPM || j.Auth.Method != auth.MethodOIDC || !r.o.Env.InActions() {
		return false
	}
	if r.visibility == "" {
		r.visibility = r.repoVisibility(ctx)
	}
	return r.visibility == "public"
}

// repoVisibility is the repository's visibility as the run's ID token will
// say it (repository_visibility, what npm reads to turn provenance on), or
// the event payload's when no token can be had; "public" when unknown.
func (r *flow) repoVisibility(ctx context.Context) string {
	if path := r.o.Env.Value("GITHUB_EVENT_PATH"); path != "" {
		if data, err := os.ReadFile(path); err == nil {
			var ev struct {
				Repository *struct {
					Private    *bool  `json:"private"`
					Visibility string `json:"visibility"`
				} `json:"repository"`
			}
			if json.Unmarshal(data, &ev) == nil && ev.Repository != nil {
				if v := strings.ToLower(ev.Repository.Visibility); v != "" {
					return v
				}
				if ev.Repository.Private != nil && *ev.Repository.Private {
					return "private"
				}
			}
		}
	}
	if r.o.Env.OIDCAvailable() {
		if tok, err := auth.FetchIDToken(ctx, nil, r.o.Env, "putitoutthere-preflight"); err == nil {
			if claims, err := auth.DecodeClaims(tok); err == nil {
				if v := auth.ClaimString(claims, "repository_visibility"); v != "" {
					return v
				}
			}
		}
	}
	return "public"
}
