package doctor

import (
	"context"
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
	// InPublishJob: this run is the publish job itself (inside Actions), so
	// what this environment holds is what publish will have: no ID token
	// here means none for publish, whatever the workflow file grants.
	InPublishJob bool
	// JobGrants: the publish job grants `id-token: write`.
	JobGrants bool
	// Why explains a missing ID token in the publish job (fork pull
	// request, Dependabot); "" when there is no particular reason.
	Why string
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
//
// Inside the publish job itself it does not: a run without the ID-token
// request variables (a pull request from a fork, Dependabot) has no OIDC,
// and saying "oidc" there would pass a run that publish then fails.
func ResolveAuth(pkg *config.Package, e env.Env, a *workflow.Analysis) AuthVerdict {
	v := AuthVerdict{Package: pkg, Resolution: auth.Resolve(pkg.Kind, e)}
	if a == nil {
		return v
	}
	if e.InActions() {
		if t := a.Running(e.Value("GITHUB_WORKFLOW_REF"), e.Value("GITHUB_JOB")); t != nil {
			v.InPublishJob, v.JobGrants = true, t.Check("id-token").OK
			if !e.OIDCAvailable() {
				v.Why = auth.NoIDTokenReason(e)
			}
			return v
		}
	}
	if v.Resolution.Method == auth.MethodMissing {
		for _, t := range a.Targets {
			if t.Check("id-token").OK {
				v.FromWorkflow, v.JobGrants = true, true
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
	case !v.OK() && v.InPublishJob:
		msg := fmt.Sprintf("package `%s` (%s): no credentials in this publish job: needs %s", name, v.Package.Kind, r.Needs)
		if v.Why != "" {
			msg += "; " + v.Why
		}
		hint := fmt.Sprintf("give the publish job `permissions: id-token: write` and register a trusted publisher on the registry, or set %s",
			strings.Join(auth.TokenVars(v.Package.Kind), " or "))
		if v.JobGrants || v.Why != "" {
			hint = fmt.Sprintf("the job already grants `id-token: write`; GitHub gives no ID token to pull requests from forks or to Dependabot runs: publish from a `push`, `release` or `workflow_dispatch` run of this repository, or set %s",
				strings.Join(auth.TokenVars(v.Package.Kind), " or "))
		}
		return []Issue{{Code: CodeAuthMissing, Severity: SevError, Message: msg, Hint: hint}}
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

func authPhase(ctx context.Context, st *state) *Phase {
	p := newPhase(PhaseAuth, "auth", "auth")
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		v := ResolveAuth(pkg, st.opt.Env, st.analysis)
		issues := AuthIssues(v)
		issues = append(issues, stepTokens(st, pkg)...)
		text := fmt.Sprintf("%s: %s", label(pkg), v.Text())
		if v.Resolution.Method == auth.MethodToken {
			// The token publish would use: prove it live now.
			if is, detail, live := liveness(ctx, st, pkg, v.Resolution.EnvName); is != nil {
				issues = append(issues, *is)
			} else if detail != "" {
				text += " [" + detail + "]"
				if live {
					// The token that shadows OIDC was proven live for this
					// package: the release works with it, so the leftover is
					// worth a warning, not a failed check.
					for k := range issues {
						if issues[k].Code == CodeTokenShadowsOIDC {
							issues[k].Severity = SevWarning
							issues[k].Message += "; the token doctor sees is live for this package, so this release would use it"
						}
					}
				}
			}
		}
		status := Pass
		for _, is := range issues {
			if is.Severity == SevError {
				status = Fail
			} else if status == Pass && is.Severity == SevWarning {
				status = Warn
			}
		}
		if !v.OK() {
			status = Fail
		}
		p.add(status, text, issues...)
	}
	if len(st.cfg.Packages) == 0 {
		p.add(Neutral, "no packages")
	}
	p.finish()
	return p
}
