package doctor

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/registry/github"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes of the registries' own rules on the token's claims.
const (
	CodeClaimRefused  = "PIOT_DOCTOR_CLAIM_REFUSED"
	CodeSelfHostedNPM = "PIOT_DOCTOR_NPM_SELF_HOSTED"
	CodeSubCustomised = "PIOT_DOCTOR_SUB_CUSTOMISED"
)

// claimRule is one thing a registry refuses in a token, whatever its
// trusted-publisher registration says.
type claimRule struct {
	kinds  []string
	code   string
	refuse func(c map[string]any) string // "" = accepted; else what is refused
	hint   string
	source string
}

var claimRules = []claimRule{
	{kinds: []string{config.KindPyPI, config.KindCrates}, code: CodeClaimRefused,
		refuse: func(c map[string]any) string {
			if ev := auth.ClaimString(c, "event_name"); ev == "pull_request_target" {
				return "claim `event_name` is `pull_request_target`, which it refuses"
			}
			return ""
		},
		hint:   "publish from a `push`, `release` or `workflow_dispatch` run",
		source: "warehouse/oidc/models/github.py _check_event_name; crates.io trustpub token exchange"},
	{kinds: []string{config.KindCrates}, code: CodeClaimRefused,
		refuse: func(c map[string]any) string {
			if ev := auth.ClaimString(c, "event_name"); ev == "workflow_run" {
				return "claim `event_name` is `workflow_run`, which it refuses"
			}
			return ""
		},
		hint:   "publish from a `push`, `release` or `workflow_dispatch` run",
		source: "crates.io trustpub token exchange (protocols.md §0)"},
	{kinds: []string{config.KindPyPI}, code: CodeClaimRefused,
		refuse: func(c map[string]any) string {
			ref, sha := auth.ClaimString(c, "ref"), auth.ClaimString(c, "sha")
			if ref == "" && sha == "" {
				return "claims `ref` and `sha` are both empty"
			}
			jwr := auth.ClaimString(c, "job_workflow_ref")
			_, at, _ := strings.Cut(jwr, "@")
			if at != ref && at != sha {
				return fmt.Sprintf("claim `job_workflow_ref` is at `%s`, but the run is at `%s`: PyPI accepts a reusable workflow only at the caller's ref or sha", at, ref)
			}
			return ""
		},
		hint:   "call the reusable workflow from this repository at the same ref (`uses: ./.github/workflows/…`)",
		source: "warehouse/oidc/models/github.py _check_job_workflow_ref"},
	{kinds: []string{config.KindNPM}, code: CodeSelfHostedNPM,
		refuse: func(c map[string]any) string {
			if re := auth.ClaimString(c, "runner_environment"); re != "" && re != "github-hosted" {
				return fmt.Sprintf("claim `runner_environment` is `%s`: npm refuses trusted publishing and provenance from self-hosted runners (422 Unsupported GitHub Actions runner environment)", re)
			}
			return ""
		},
		hint:   "run the publish job on a GitHub-hosted runner (`runs-on: ubuntu-latest`), or publish the npm packages with a token (`auth = \"token\"`, NODE_AUTH_TOKEN)",
		source: "npm trusted publishing docs; protocols.md §4.2"},
	{kinds: []string{config.KindNPM}, code: CodeSubCustomised,
		refuse: func(c map[string]any) string {
			sub, repo := auth.ClaimString(c, "sub"), auth.ClaimString(c, "repository")
			if sub != "" && !strings.HasPrefix(sub, "repo:"+repo+":") {
				return fmt.Sprintf("claim `sub` is `%s`, not GitHub's default `repo:%s:…`: npm's exchange answers \"package not found\" for a customised or immutable-format subject", sub, repo)
			}
			return ""
		},
		hint:   "restore the default subject for this repository (PUT /repos/{owner}/{repo}/actions/oidc/customization/sub with {\"use_default\": true}), or publish the npm packages with a token",
		source: "npm/cli#9969; protocols.md §4.2"},
}

func (r claimRule) applies(kind string) bool {
	for _, k := range r.kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// usesOIDC: the package will publish with trusted publishing.
func usesOIDC(pkg *config.Package, e interface{ Has(string) bool }) bool {
	if pkg.UsesToken() {
		return false
	}
	if pkg.Kind == config.KindCrates {
		for _, v := range auth.TokenVars(pkg.Kind) {
			if e.Has(v) {
				return false
			}
		}
	}
	return true
}

// ruleIssues applies every registry rule to pkg's claims.
func ruleIssues(pkg *config.Package, claims map[string]any) []Issue {
	var out []Issue
	for _, r := range claimRules {
		if !r.applies(pkg.Kind) {
			continue
		}
		if why := r.refuse(claims); why != "" {
			out = append(out, Issue{Code: r.code, Severity: SevError,
				Message: fmt.Sprintf("package `%s` (%s): %s", pkg.Name, registryLabel(pkg.Kind), why),
				Hint:    r.hint})
		}
	}
	return out
}

// runnerIssues: npm refuses trusted publishing from self-hosted runners;
// inside Actions the runner says what it is without a token
// (RUNNER_ENVIRONMENT), outside the publish job's `runs-on:` does.
func runnerIssues(st *state) []Issue {
	var out []Issue
	re := st.opt.Env.Value("RUNNER_ENVIRONMENT")
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		if pkg.Kind != config.KindNPM || !usesOIDC(pkg, st.opt.Env) {
			continue
		}
		if st.opt.Env.InActions() && re != "" {
			if re != "github-hosted" && st.inPublishJob() {
				out = append(out, Issue{Code: CodeSelfHostedNPM, Severity: SevError,
					Message: fmt.Sprintf("package `%s` (npm): this publish job runs on a %s runner (RUNNER_ENVIRONMENT); npm refuses trusted publishing and provenance from self-hosted runners (422 Unsupported GitHub Actions runner environment)", pkg.Name, re),
					Hint:    claimRules[3].hint})
			}
			continue
		}
		for _, t := range st.analysis.Targets {
			if j := t.Job(); j.SelfHosted() {
				out = append(out, Issue{Code: CodeSelfHostedNPM, Severity: SevError, File: t.Defining().Path, Line: j.RunsOnLine,
					Message: fmt.Sprintf("package `%s` (npm): job `%s` runs on a self-hosted runner (`runs-on: %s`); npm refuses trusted publishing and provenance from self-hosted runners (422 Unsupported GitHub Actions runner environment)", pkg.Name, j.ID, strings.Join(j.RunsOn, ", ")),
					Hint:    claimRules[3].hint})
			}
		}
	}
	return out
}

// inPublishJob: this run is the publish job (inside Actions).
func (st *state) inPublishJob() bool {
	return st.analysis.Running(st.opt.Env.Value("GITHUB_WORKFLOW_REF"), st.opt.Env.Value("GITHUB_JOB")) != nil
}

// ownerID is the repository owner's numeric ID as GitHub knows it now: the
// runner's GITHUB_REPOSITORY_OWNER_ID inside Actions, else GitHub's API when
// a token is available. 0 when unknown. crates.io and PyPI store the ID a
// trusted publisher was registered with and refuse a token carrying another
// one (a repository deleted and recreated, or transferred away and back).
func (st *state) ownerID(ctx context.Context) int64 {
	if st.ownerIDDone {
		return st.ownerIDValue
	}
	st.ownerIDDone = true
	if v, err := strconv.ParseInt(st.opt.Env.Value("GITHUB_REPOSITORY_OWNER_ID"), 10, 64); err == nil && v > 0 {
		st.ownerIDValue = v
		return v
	}
	if info := st.githubRepo(ctx); info != nil {
		st.ownerIDValue = info.Owner.ID
	}
	return st.ownerIDValue
}

// githubToken is a token for GitHub's API: GITHUB_TOKEN (GH_TOKEN).
func (st *state) githubToken() string {
	for _, n := range []string{"GITHUB_TOKEN", "GH_TOKEN"} {
		if v := st.opt.Env.Value(n); v != "" {
			secret.Register(v)
			return v
		}
	}
	return ""
}

func (st *state) githubRepo(ctx context.Context) *github.RepoInfo {
	tok := st.githubToken()
	owner, name, ok := strings.Cut(st.repo, "/")
	if tok == "" || !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, st.opt.RegistryTimeout)
	defer cancel()
	info, err := github.New(st.opt.Env).Repo(ctx, tok, owner, name)
	if err != nil {
		return nil
	}
	return info
}

// subIssues asks GitHub whether the repository customises its OIDC subject
// (GET /repos/{owner}/{repo}/actions/oidc/customization/sub), which npm's
// exchange does not accept. Needs a GitHub token; nil when it cannot tell.
func subIssues(ctx context.Context, st *state) ([]Issue, string) {
	npm := false
	for i := range st.cfg.Packages {
		if p := &st.cfg.Packages[i]; p.Kind == config.KindNPM && usesOIDC(p, st.opt.Env) {
			npm = true
		}
	}
	tok := st.githubToken()
	owner, name, ok := strings.Cut(st.repo, "/")
	if !npm || tok == "" || !ok {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(ctx, st.opt.RegistryTimeout)
	defer cancel()
	sc, err := github.New(st.opt.Env).OIDCSub(ctx, tok, owner, name)
	if err != nil {
		return nil, "the OIDC subject template was not readable: " + secret.Redact(err.Error())
	}
	if sc.UseDefault {
		return nil, "GitHub's default OIDC subject"
	}
	return []Issue{{Code: CodeSubCustomised, Severity: SevError,
		Message: fmt.Sprintf("%s customises its OIDC subject (include_claim_keys %v); npm's trusted-publishing exchange answers \"package not found\" for a subject not of the default shape `repo:%s:…` (npm/cli#9969)", st.repo, sc.IncludeClaimKeys, st.repo),
		Hint:    claimRules[4].hint}}, ""
}
