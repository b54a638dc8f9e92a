package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes of the trust policy (OIDC claims) phase.
const (
	CodeClaimMismatch     = "PIOT_DOCTOR_CLAIM_MISMATCH"
	CodeClaimsUnavailable = "PIOT_DOCTOR_CLAIMS_UNAVAILABLE"
)

// genericAudience is used when a registry's own audience cannot be learnt:
// the claims doctor compares do not depend on the audience, and the token is
// never sent anywhere.
const genericAudience = "putitoutthere-doctor"

// audienceFor returns the audience registry kind asks GitHub for.
func audienceFor(ctx context.Context, st *state, kind string) string {
	switch kind {
	case config.KindCrates:
		return "crates.io"
	case config.KindPyPI:
		return pypiAudience(ctx, st)
	case config.KindNPM:
		reg := ""
		if st.opt.NPMRegistry != nil {
			reg = st.opt.NPMRegistry(ctx)
		} else if v := st.opt.Env.Value("PUTITOUTTHERE_NPM_REGISTRY"); v != "" {
			reg = v
		} else {
			reg = npmConfigRegistry(ctx)
		}
		if u, err := url.Parse(strings.TrimSpace(reg)); err == nil && u.Host != "" {
			return "npm:" + u.Hostname()
		}
	}
	return genericAudience
}

func pypiAudience(ctx context.Context, st *state) string {
	base := "https://pypi.org"
	if u := st.opt.Env.Value("PUTITOUTTHERE_PYPI_URL"); u != "" {
		base = strings.TrimRight(u, "/")
	}
	ctx, cancel := context.WithTimeout(ctx, st.opt.RegistryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_/oidc/audience", nil)
	if err != nil {
		return "pypi"
	}
	c := *st.opt.HTTP
	c.Policy.Attempts = 1
	_, body, err := c.Do(ctx, req, nil)
	if err != nil {
		return "pypi"
	}
	var v struct {
		Audience string `json:"audience"`
	}
	if json.Unmarshal(body, &v) != nil || v.Audience == "" {
		return "pypi"
	}
	return v.Audience
}

func npmConfigRegistry(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "config", "get", "registry").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func claimsPhase(ctx context.Context, st *state) *Phase {
	p := newPhase(PhaseClaims, "trust policy (OIDC claims)", "trust-policy")
	defer p.finish()
	e := st.opt.Env
	// What needs no token: the runner the publish job gets, and GitHub's
	// subject template (with a GitHub token).
	if is := runnerIssues(st); len(is) > 0 {
		p.add(Fail, "npm: the publish job's runner is self-hosted", is...)
	}
	if is, note := subIssues(ctx, st); len(is) > 0 {
		p.add(Fail, "OIDC subject: customised for "+st.repo, is...)
	} else if note != "" && !e.OIDCAvailable() {
		p.add(Neutral, "OIDC subject: "+note)
	}
	if !e.InActions() {
		p.add(Neutral, "runs only inside GitHub Actions")
		return p
	}
	// Last: the registries' own answers (publish's preflight steps).
	defer exchangeChecks(ctx, st, p)
	var pkgs []*config.Package
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		if pkg.TrustPolicy != nil || usesOIDC(pkg, e) {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		p.add(Neutral, "no package publishes with trusted publishing or declares a trust policy")
		return p
	}
	if !e.OIDCAvailable() {
		p.add(Neutral, "skipped: this job cannot request an OIDC token (it needs `permissions: id-token: write`)")
		return p
	}
	byAudience := map[string]map[string]any{}
	for _, pkg := range pkgs {
		aud := audienceFor(ctx, st, pkg.Kind)
		claims, ok := byAudience[aud]
		if !ok {
			var err error
			claims, err = mintClaims(ctx, st, aud)
			if err != nil {
				p.add(Neutral, fmt.Sprintf("%s: skipped, no OIDC token", label(pkg)), Issue{Code: CodeClaimsUnavailable, Severity: SevWarning,
					Message: secret.Redact(err.Error()), Hint: diag.HintOf(err)})
				continue
			}
			byAudience[aud] = claims
		}
		var issues []Issue
		if usesOIDC(pkg, e) {
			issues = ruleIssues(pkg, claims)
		}
		if pkg.TrustPolicy != nil {
			diffClaims(p, pkg, claims, issues)
			continue
		}
		if len(issues) > 0 {
			p.add(Fail, fmt.Sprintf("%s: %s would refuse this run's OIDC token", label(pkg), registryLabel(pkg.Kind)), issues...)
			continue
		}
		p.add(Pass, fmt.Sprintf("%s: nothing in the claims that %s refuses (event `%s`, runner %s; the registration itself is checked by the exchange)", label(pkg), registryLabel(pkg.Kind),
			auth.ClaimString(claims, "event_name"), orNone(auth.ClaimString(claims, "runner_environment"))))
	}
	return p
}

// mintClaims fetches an ID token for aud and returns its claims. The token
// itself is registered as a secret by FetchIDToken and goes nowhere.
func mintClaims(ctx context.Context, st *state, aud string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, st.opt.RegistryTimeout)
	defer cancel()
	tok, err := auth.FetchIDToken(ctx, st.opt.HTTP.HTTP, st.opt.Env, aud)
	if err != nil {
		return nil, err
	}
	claims, err := auth.DecodeClaims(tok)
	if err != nil {
		return nil, fmt.Errorf("reading the OIDC token's claims: %w", err)
	}
	return claims, nil
}

func diffClaims(p *Phase, pkg *config.Package, claims map[string]any, rules []Issue) {
	tp := pkg.TrustPolicy
	reg := registryLabel(pkg.Kind)
	issues := append([]Issue(nil), rules...)
	mismatch := func(claim, got, want, hint string) {
		g := "`" + got + "`"
		if got == "" {
			g = "nothing (absent)"
		}
		issues = append(issues, Issue{Code: CodeClaimMismatch, Severity: SevError,
			Message: fmt.Sprintf("package `%s` (%s): claim `%s` is %s, declared `%s`", pkg.Name, reg, claim, g, want),
			Hint:    hint})
	}
	repo := auth.ClaimString(claims, "repository")
	if tp.Repository != "" && !equalFor(pkg.Kind, repo, tp.Repository) {
		mismatch("repository", repo, tp.Repository, reg+" matches the repository the run happens in; fix the declaration and the registry's trusted publisher")
	}
	wclaim := claimFor(pkg.Kind)
	wfile := auth.WorkflowFile(auth.ClaimString(claims, wclaim))
	if wfile != tp.Workflow {
		hint := fmt.Sprintf("%s reads the workflow from `%s`", reg, wclaim)
		if pkg.Kind == config.KindPyPI {
			hint += " (the file that defines the job, the called file for a reusable workflow)"
		} else {
			hint += " (the top-level workflow, the caller for a reusable workflow)"
		}
		mismatch(wclaim, wfile, tp.Workflow, hint+"; register that file, or publish from the declared one")
	}
	envClaim := auth.ClaimString(claims, "environment")
	if tp.Environment != "" && !equalFor(pkg.Kind, envClaim, tp.Environment) {
		mismatch("environment", envClaim, tp.Environment, "the claim comes from the job's `environment:`; set it to the registered environment")
	}
	if len(issues) > 0 {
		p.add(Fail, fmt.Sprintf("%s: the OIDC token does not match the declared trust policy", label(pkg)), issues...)
		return
	}
	envText := envClaim
	if envText == "" {
		envText = "none"
	}
	p.add(Pass, fmt.Sprintf("%s: claims match (repository `%s`, %s → `%s`, environment `%s`)", label(pkg), repo, wclaim, wfile, envText))
}
