package doctor

import (
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// Codes of the auth phase.
const (
	CodeAuthMissing = "PIOT_DOCTOR_AUTH_MISSING"
	CodeAuthBoth    = "PIOT_DOCTOR_AUTH_TOKEN_AND_OIDC"
)

// AuthVerdict is the auth decision for one package as doctor and preflight
// report it.
type AuthVerdict struct {
	Package    *config.Package
	Resolution auth.Resolution
	// FromWorkflow: OIDC is not available here, but the local publish job
	// grants `id-token: write`, so it will be there when publish runs.
	FromWorkflow bool
}

// Text is the verdict as printed: `oidc`, `token (ENV)`, `missing — needs …`.
func (v AuthVerdict) Text() string {
	if v.FromWorkflow {
		return "oidc (in the publish job, from `id-token: write`)"
	}
	if v.Resolution.Method == auth.MethodMissing {
		return "missing — needs " + v.Resolution.Needs
	}
	return v.Resolution.String()
}

// OK reports whether the package can authenticate.
func (v AuthVerdict) OK() bool { return v.FromWorkflow || v.Resolution.Method != auth.MethodMissing }

// ResolveAuth applies auth.Resolve to pkg. When it finds nothing and a publish
// job in the analysis grants `id-token: write` (doctor running outside that
// job, e.g. on a laptop), OIDC is judged available there.
func ResolveAuth(pkg *config.Package, e env.Env, a *workflow.Analysis) AuthVerdict {
	v := AuthVerdict{Package: pkg, Resolution: auth.Resolve(pkg.Kind, e)}
	if v.Resolution.Method == auth.MethodMissing && a != nil {
		for _, t := range a.Targets {
			if t.Check("id-token").OK {
				v.FromWorkflow = true
				break
			}
		}
	}
	return v
}

// AuthIssues returns the finding for a verdict: a failure when missing, a
// warning when a token and OIDC are both configured.
func AuthIssues(v AuthVerdict) []Issue {
	r := v.Resolution
	name := v.Package.Name
	switch {
	case !v.OK():
		return []Issue{{
			Code: CodeAuthMissing, Severity: SevError,
			Message: fmt.Sprintf("package `%s` (%s): no credentials: needs %s", name, v.Package.Kind, r.Needs),
			Hint: fmt.Sprintf("give the publish job `permissions: id-token: write` and register a trusted publisher on the registry, or set %s",
				strings.Join(auth.TokenVars(v.Package.Kind), " or ")),
		}}
	case r.OIDCIgnored:
		return []Issue{{
			Code: CodeAuthBoth, Severity: SevWarning,
			Message: fmt.Sprintf("package `%s` (crates): both %s and OIDC are available; %s will be used and the native OIDC exchange will not run", name, r.EnvName, r.EnvName),
			Hint:    "on crates.io whatever is in CARGO_REGISTRY_TOKEN wins (the workflow decides, e.g. rust-lang/crates-io-auth-action); unset it to use the native exchange",
		}}
	case r.Method == auth.MethodOIDC && r.Fallback != "":
		why := "PyPI uses the token only when OIDC is unavailable"
		if v.Package.Kind == config.KindNPM {
			why = "npm bypasses " + r.Fallback + " when OIDC is available"
		}
		return []Issue{{
			Code: CodeAuthBoth, Severity: SevWarning,
			Message: fmt.Sprintf("package `%s` (%s): both %s and OIDC are available; OIDC will be used", name, v.Package.Kind, r.Fallback),
			Hint:    why + "; remove the token once trusted publishing works, so a stale token cannot hide a broken setup",
		}}
	}
	return nil
}

func authPhase(st *state) *Phase {
	p := newPhase(PhaseAuth, "auth", "auth")
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		v := ResolveAuth(pkg, st.opt.Env, st.analysis)
		issues := AuthIssues(v)
		status := Pass
		if !v.OK() {
			status = Fail
		} else if len(issues) > 0 {
			status = Warn
		}
		p.add(status, fmt.Sprintf("%s: %s", label(pkg), v.Text()), issues...)
	}
	if len(st.cfg.Packages) == 0 {
		p.add(Neutral, "no packages")
	}
	p.finish()
	return p
}
