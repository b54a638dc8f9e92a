package doctor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes of the --artifacts and --deep phases.
const (
	CodeArtifactMissing = "PIOT_DOCTOR_ARTIFACT_MISSING"
	// CodeRegistryRule: an artifact breaks a registry upload rule.
	CodeRegistryRule = "PIOT_REGISTRY_RULE"
	CodePlanFailed   = "PIOT_DOCTOR_PLAN_FAILED"
	CodeTokenScope   = "PIOT_DOCTOR_TOKEN_SCOPE"
	CodeTokenInspect = "PIOT_DOCTOR_TOKEN_INSPECT_FAILED"
)

// artifactsPhase is phase 7: every row of the current plan has its artifact.
func artifactsPhase(ctx context.Context, st *state) *Phase {
	p := newPhase(PhaseArtifacts, "artifacts", "artifacts")
	defer p.finish()
	if st.opt.Plan == nil {
		p.add(Neutral, "skipped: the plan is not available in this build")
		return p
	}
	pl, err := st.opt.Plan(ctx, st.cfg)
	if err != nil {
		p.add(Fail, "plan", Issue{Code: CodePlanFailed, Severity: SevError, Message: "computing the plan: " + secret.Redact(err.Error()), Hint: "run `putitoutthere plan` to see the problem"})
		return p
	}
	if len(pl.Rows) == 0 {
		p.add(Neutral, "the plan is empty: nothing to check")
		return p
	}
	gaps := artifacts.Check(st.opt.Root, pl.Rows)
	byArtifact := map[string][]artifacts.Gap{}
	for _, g := range gaps {
		byArtifact[g.Artifact] = append(byArtifact[g.Artifact], g)
	}
	for _, row := range pl.Rows {
		gs := byArtifact[row.ArtifactName]
		if len(gs) == 0 {
			p.add(Pass, fmt.Sprintf("%s: %s/%s", row.Name, artifacts.Dir, row.ArtifactName))
			continue
		}
		var issues []Issue
		for _, g := range gs {
			issues = append(issues, Issue{Code: CodeArtifactMissing, Severity: SevError, File: artifacts.Dir + "/" + g.Artifact,
				Message: fmt.Sprintf("package `%s`: %s (expected %s)", g.Package, g.Problem, g.Expected),
				Hint:    "download every build job's artifact into artifacts/{artifact_name}/ before publish (actions/download-artifact with `path: artifacts`)"})
		}
		p.add(Fail, fmt.Sprintf("%s: %s/%s", row.Name, artifacts.Dir, row.ArtifactName), issues...)
	}
	// The registries' upload rules, on the same files publish would upload
	// (docs/registry-rules.md).
	planned := map[string]string{}
	for _, rel := range pl.Releases {
		if pkg := st.cfg.Package(rel.Name); pkg != nil && pkg.Kind == config.KindCrates {
			planned[pkg.RegistryName()] = rel.Version
		}
	}
	for _, rel := range pl.Releases {
		pkg := st.cfg.Package(rel.Name)
		if pkg == nil {
			continue
		}
		var rows []plan.Row
		for _, row := range pl.Rows {
			if row.Name == rel.Name {
				rows = append(rows, row)
			}
		}
		lines := artifacts.CheckRules(st.opt.Root, rows, artifacts.Want{Package: pkg.Name, Kind: pkg.Kind, Name: pkg.RegistryName(), Version: rel.Version, Crates: planned})
		if len(lines) == 0 {
			continue
		}
		var issues []Issue
		for _, l := range lines {
			file, msg, _ := strings.Cut(l, ": ")
			issues = append(issues, Issue{Code: CodeRegistryRule, Severity: SevError, File: file, Message: fmt.Sprintf("package `%s`: %s", pkg.Name, msg),
				Hint: "fix what the rule says and rebuild the artifact; publish would stop here before its first upload"})
		}
		p.add(Fail, fmt.Sprintf("%s: registry rules", rel.Name), issues...)
	}
	return p
}

// deepPhase is phase 8: inspect fallback tokens, and ask crates.io and npm
// whether each package exists (trusted publishing cannot create one).
func deepPhase(ctx context.Context, st *state) *Phase {
	p := newPhase(PhaseDeep, "tokens and registries (--deep)", "deep")
	defer p.finish()
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		v := ResolveAuth(pkg, st.opt.Env, st.analysis)
		if v.Resolution.Method == auth.MethodToken {
			inspect(ctx, st, p, pkg, v.Resolution.EnvName)
		}
		if pkg.Kind == config.KindPyPI {
			continue // PyPI creates projects through pending publishers
		}
		exists, err := st.packageExists(ctx, pkg)
		switch {
		case err != nil:
			p.add(Neutral, fmt.Sprintf("%s: could not ask %s whether `%s` exists (%s)", label(pkg), registryLabel(pkg.Kind), pkg.RegistryName(), secret.Redact(err.Error())))
		case !exists && v.Resolution.Method != auth.MethodToken:
			p.add(Warn, fmt.Sprintf("%s: `%s` is not on %s yet", label(pkg), pkg.RegistryName(), registryLabel(pkg.Kind)), Issue{
				Code: CodeNotOnRegistry, Severity: SevWarning,
				Message: fmt.Sprintf("package `%s`: `%s` does not exist on %s, and trusted publishing cannot create it", pkg.Name, pkg.RegistryName(), registryLabel(pkg.Kind)),
				Hint:    fmt.Sprintf("publish the first version with a token (%s), then register the trusted publisher", strings.Join(auth.TokenVars(pkg.Kind), " or ")),
			})
		case !exists:
			p.add(Pass, fmt.Sprintf("%s: `%s` is not on %s yet; the first publish will use %s", label(pkg), pkg.RegistryName(), registryLabel(pkg.Kind), v.Resolution.EnvName))
		default:
			p.add(Pass, fmt.Sprintf("%s: `%s` exists on %s", label(pkg), pkg.RegistryName(), registryLabel(pkg.Kind)))
		}
	}
	if len(p.Checks) == 0 {
		p.add(Neutral, "nothing to check")
	}
	return p
}

func inspect(ctx context.Context, st *state, p *Phase, pkg *config.Package, envName string) {
	if st.opt.InspectToken == nil {
		p.add(Neutral, fmt.Sprintf("%s: token inspection unavailable (%s not inspected)", label(pkg), envName))
		return
	}
	info, err := st.opt.InspectToken(ctx, pkg, envName)
	switch {
	case err != nil:
		p.add(Neutral, fmt.Sprintf("%s: could not inspect %s", label(pkg), envName), Issue{Code: CodeTokenInspect, Severity: SevWarning,
			Message: fmt.Sprintf("package `%s`: inspecting %s: %s", pkg.Name, envName, secret.Redact(err.Error()))})
	case info.Unknown:
		p.add(Neutral, fmt.Sprintf("%s: %s: cannot tell whether it covers `%s` (%s)", label(pkg), envName, pkg.RegistryName(), secret.Redact(info.Detail)))
	case !info.Covers:
		p.add(Fail, fmt.Sprintf("%s: %s cannot publish `%s`", label(pkg), envName, pkg.RegistryName()), Issue{Code: CodeTokenScope, Severity: SevError,
			Message: fmt.Sprintf("package `%s`: %s (%s) does not cover `%s`", pkg.Name, envName, secret.Redact(info.Detail), pkg.RegistryName()),
			Hint:    "create a token scoped to this package (or use trusted publishing)"})
	default:
		p.add(Pass, fmt.Sprintf("%s: %s covers `%s` (%s)", label(pkg), envName, pkg.RegistryName(), secret.Redact(info.Detail)))
	}
}

// packageExists asks the registry whether pkg exists (404 = no).
func (st *state) packageExists(ctx context.Context, pkg *config.Package) (bool, error) {
	if st.opt.PackageExists != nil {
		return st.opt.PackageExists(ctx, pkg)
	}
	var u string
	switch pkg.Kind {
	case config.KindCrates:
		u = cratesBase(st) + "/api/v1/crates/" + url.PathEscape(pkg.RegistryName())
	case config.KindNPM:
		reg := st.opt.Env.Value("PUTITOUTTHERE_NPM_REGISTRY")
		if reg == "" && st.opt.NPMRegistry != nil {
			reg = st.opt.NPMRegistry(ctx)
		}
		if reg == "" {
			reg = npmConfigRegistry(ctx)
		}
		if reg == "" {
			return false, fmt.Errorf("npm's registry is unknown (no npm on PATH, PUTITOUTTHERE_NPM_REGISTRY unset)")
		}
		name := pkg.RegistryName()
		if strings.HasPrefix(name, "@") {
			name = strings.Replace(name, "/", "%2f", 1)
		}
		u = strings.TrimRight(reg, "/") + "/" + name
	default:
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, st.opt.RegistryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	c := *st.opt.HTTP
	c.Policy.Attempts = 1
	_, _, err = c.Do(ctx, req, nil)
	if httpx.StatusOf(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
