package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes of the trust policy (crates.io registry) phase.
const (
	CodeCratesMismatch     = "PIOT_DOCTOR_CRATES_IO_MISMATCH"
	CodeCratesNoConfig     = "PIOT_DOCTOR_CRATES_IO_NO_PUBLISHER"
	CodeCratesUnauthorized = "PIOT_DOCTOR_CRATES_IO_UNAUTHORIZED"
	CodeCratesRefused      = "PIOT_DOCTOR_CRATES_IO_REFUSED"
	CodeNotOnRegistry      = "PIOT_DOCTOR_NOT_ON_REGISTRY"
)

// CratesDoctorTokenEnv holds a read-scoped crates.io API token for phase 5.
const CratesDoctorTokenEnv = "CRATES_IO_DOCTOR_TOKEN"

// GitHubConfig is one trusted publisher registered on crates.io (protocols §3.6).
type GitHubConfig = cratesio.GitHubConfig

func cratesBase(st *state) string {
	if u := st.opt.Env.Value(cratesio.EnvURL); u != "" {
		return strings.TrimRight(u, "/")
	}
	return cratesio.DefaultURL
}

// fetchGitHubConfigs lists crate's trusted publishers within the registry
// budget, with one try: a bad minute at crates.io is a skip, not a wait.
func fetchGitHubConfigs(ctx context.Context, st *state, token, crate string) ([]GitHubConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, st.opt.RegistryTimeout)
	defer cancel()
	c := *st.opt.HTTP
	c.Policy.Attempts = 1
	c.Policy.PerRequest = st.opt.RegistryTimeout
	return cratesio.New(st.opt.Env, &c).GitHubConfigs(ctx, token, crate)
}

// cratesDetail extracts crates.io's `{"errors":[{"detail":…}]}` text.
func cratesDetail(body string) string {
	var v struct {
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &v) == nil && len(v.Errors) > 0 {
		return v.Errors[0].Detail
	}
	return strings.TrimSpace(body)
}

func cratesPhase(ctx context.Context, st *state) *Phase {
	p := newPhase(PhaseCratesIO, "trust policy (crates.io registry)", "trust-policy")
	defer p.finish()
	token := st.opt.Env.Value(CratesDoctorTokenEnv)
	if token == "" {
		p.add(Skip, "skipped: "+CratesDoctorTokenEnv+" is not set")
		return p
	}
	secret.Register(token)
	any := false
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		if pkg.Kind != config.KindCrates {
			continue
		}
		tp := pkg.TrustPolicy
		if tp == nil {
			// Nothing declared: what crates.io has is compared with what
			// the local publish workflow will present.
			if len(st.analysis.Targets) == 0 || pkg.UsesToken() {
				continue
			}
			tp = &config.TrustPolicy{Workflow: st.analysis.Targets[0].WorkflowFor(config.KindCrates)}
		}
		any = true
		checkCrate(ctx, st, p, pkg, tp, token)
	}
	if !any {
		p.add(Neutral, "no crates package declares a trust policy or has a local publish workflow")
	}
	return p
}

func checkCrate(ctx context.Context, st *state, p *Phase, pkg *config.Package, tp *config.TrustPolicy, token string) {
	name := pkg.RegistryName()
	lbl := label(pkg)
	configs, err := fetchGitHubConfigs(ctx, st, token, name)
	if err != nil {
		var he *httpx.Error
		status := httpx.StatusOf(err)
		switch {
		case errors.As(err, &he) && (status == http.StatusUnauthorized || status == http.StatusForbidden && badAuth(he.Body)):
			// The token is bad (crates.io says 401, or 403 "authentication
			// failed" for a token it does not know): the phase fails.
			p.add(Fail, lbl+": crates.io refused "+CratesDoctorTokenEnv, Issue{Code: CodeCratesUnauthorized, Severity: SevError,
				Message: fmt.Sprintf("crates.io answered HTTP %d for `%s`: %s", status, name, secret.Redact(cratesDetail(he.Body))),
				Hint:    CratesDoctorTokenEnv + " is not a valid crates.io API token; create one under Account settings → API tokens and store it as a repository secret"})
		case status == http.StatusNotFound:
			p.add(Neutral, fmt.Sprintf("%s: `%s` does not exist on crates.io yet", lbl, name), Issue{Code: CodeNotOnRegistry, Severity: SevWarning,
				Message: fmt.Sprintf("crate `%s` does not exist on crates.io: %s", name, secret.Redact(cratesDetail(he.Body))),
				Hint:    "trusted publishing cannot create a crate: publish the first version with a CARGO_REGISTRY_TOKEN, then add the trusted publisher"})
		case status >= 400 && status < 500:
			p.add(Fail, fmt.Sprintf("%s: crates.io refused the read (HTTP %d)", lbl, status), Issue{Code: CodeCratesRefused, Severity: SevError,
				Message: fmt.Sprintf("crates.io answered HTTP %d for `%s`: %s", status, name, secret.Redact(cratesDetail(he.Body))),
				Hint:    "the token's owner must own the crate, and a scoped token needs the `trusted-publishing` endpoint scope for it"})
		default:
			reason := secret.Redact(err.Error())
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, httpx.ErrIdle) || strings.Contains(reason, "deadline exceeded") || strings.Contains(reason, "Client.Timeout") {
				reason = fmt.Sprintf("no answer within %s", st.opt.RegistryTimeout)
			} else if status >= 500 {
				reason = fmt.Sprintf("HTTP %d", status)
			}
			p.add(Neutral, fmt.Sprintf("%s: skipped, crates.io unreachable (%s)", lbl, reason))
		}
		return
	}
	repo := tp.Repository
	if repo == "" {
		repo = st.repo
	}
	// Without a declared environment, the job's own environment is what the
	// token will carry, so that is what a registered config must accept.
	wantEnv, envFrom := tp.Environment, "declared"
	if pkg.TrustPolicy == nil {
		envFrom = "the publish job's"
	}
	if wantEnv == "" {
		for _, t := range st.analysis.Targets {
			if t.WorkflowFor(pkg.Kind) == tp.Workflow && t.Environment() != nil && !t.Environment().Expression {
				wantEnv, envFrom = t.Environment().Name, "the publish job's"
				break
			}
		}
	}
	if len(configs) == 0 {
		p.add(Fail, fmt.Sprintf("%s: crates.io has no trusted publisher for `%s`", lbl, name), Issue{Code: CodeCratesNoConfig, Severity: SevError,
			Message: fmt.Sprintf("crates.io has no trusted publisher registered for `%s`", name),
			Hint:    fmt.Sprintf("add one at https://crates.io/crates/%s/settings: repository %s, workflow %s, environment %s", name, orPlaceholder(repo), tp.Workflow, orNone(wantEnv))})
		return
	}
	var best []string
	for _, c := range configs {
		var diffs []string
		if c.WorkflowFilename != tp.Workflow {
			diffs = append(diffs, fmt.Sprintf("workflow filename: crates.io has `%s`, declared `%s`", c.WorkflowFilename, tp.Workflow))
		}
		// The declaration must mirror the registration exactly; without one,
		// a config with no environment accepts the job's.
		if (envFrom == "declared" || c.Env() != "") && !strings.EqualFold(c.Env(), wantEnv) {
			diffs = append(diffs, fmt.Sprintf("environment: crates.io has %s, %s %s", quoteOrNone(c.Env()), envFrom, quoteOrNone(wantEnv)))
		}
		if got := c.RepositoryOwner + "/" + c.RepositoryName; repo != "" && !strings.EqualFold(got, repo) {
			diffs = append(diffs, fmt.Sprintf("repository: crates.io has `%s`, declared `%s`", got, repo))
		}
		// crates.io compares the token's repository_owner_id with the one
		// stored at registration (crates_io_trustpub, protocols.md §0).
		if id := st.ownerID(ctx); id != 0 && c.RepositoryOwnerID != 0 && c.RepositoryOwnerID != id {
			diffs = append(diffs, fmt.Sprintf("repository owner ID: crates.io registered %d, GitHub says %s now has %d (the repository or its owner was deleted and recreated, or transferred): the exchange is refused", c.RepositoryOwnerID, c.RepositoryOwner, id))
		}
		if len(diffs) == 0 {
			p.add(Pass, fmt.Sprintf("%s: crates.io's trusted publisher matches (%s/%s, %s, environment %s)", lbl, c.RepositoryOwner, c.RepositoryName, c.WorkflowFilename, quoteOrNone(c.Env())))
			return
		}
		if best == nil || len(diffs) < len(best) {
			best = diffs
		}
	}
	var issues []Issue
	for _, d := range best {
		issues = append(issues, Issue{Code: CodeCratesMismatch, Severity: SevError,
			Message: fmt.Sprintf("crate `%s`: %s", name, d),
			Hint:    fmt.Sprintf("publish will fail with HTTP 400 at the token exchange; make crates.io's trusted publisher (https://crates.io/crates/%s/settings) and the declaration agree", name)})
	}
	p.add(Fail, fmt.Sprintf("%s: no crates.io trusted publisher matches the declaration", lbl), issues...)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return "`" + s + "`"
}

// badAuth reports whether a 403 body says the token itself was not accepted
// (as opposed to a valid token lacking rights).
func badAuth(body string) bool {
	d := strings.ToLower(cratesDetail(body))
	return strings.Contains(d, "authentication failed") || strings.Contains(d, "requires authentication") && !strings.Contains(d, "specified user")
}
