package doctor

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes of the token checks of the auth phase.
const (
	CodeTokenShadowsOIDC = "PIOT_DOCTOR_TOKEN_SHADOWS_OIDC"
	CodeTokenUnused      = "PIOT_DOCTOR_TOKEN_BESIDE_OIDC"
	CodeTokenNotLive     = "PIOT_DOCTOR_TOKEN_NOT_LIVE"
)

var secretRef = regexp.MustCompile(`secrets\.([A-Za-z_][A-Za-z0-9_]*)`)

// stepTokens reports the registry token variables the publish step is given
// in the workflow file (its own `env:`, its job's, its workflow's), which a
// doctor step beside it never sees in its own environment. On crates.io a
// token wins over OIDC: a leftover `${{ secrets.CARGO_REGISTRY_TOKEN }}` is
// used whenever that secret exists, and a stale one fails `cargo publish`
// after the packages before it shipped. A package the config marks
// `auth = "token"` is meant to use it.
func stepTokens(st *state, pkg *config.Package) []Issue {
	var out []Issue
	seen := map[string]bool{}
	for _, t := range st.analysis.Targets {
		if t.Remote != "" {
			continue // the step is in the other repository
		}
		oidcIntended := t.Check("id-token").OK && !pkg.UsesToken()
		for _, name := range auth.TokenVars(pkg.Kind) {
			val, file, line, ok := t.EnvSource(name)
			val = strings.TrimSpace(val)
			if !ok || val == "" || seen[file+name] {
				continue
			}
			seen[file+name] = true
			where := fmt.Sprintf("%s sets %s", fileBase(file), name)
			if t.Step != nil && t.Step.Env[name] != "" {
				where = fmt.Sprintf("%s: the publish step (job `%s`) sets %s", fileBase(file), t.Job().ID, name)
			}
			from := "`" + val + "`"
			if !strings.Contains(val, "${{") {
				from = "a literal value" // never print it
				secret.Register(val)
			}
			switch {
			case !oidcIntended:
				// The token is how this package publishes; its liveness is
				// checked where its value is visible (publish, and doctor
				// when the job's environment holds it).
			case isExchangeOutput(val):
				// crates-io-auth-action's output: an OIDC-exchanged token.
			case pkg.Kind == config.KindCrates:
				out = append(out, Issue{Code: CodeTokenShadowsOIDC, Severity: SevError, File: file, Line: line,
					Message: fmt.Sprintf("package `%s` (crates.io): %s from %s; on crates.io a token wins over OIDC, so whenever it is set cargo publishes with it and the trusted publisher is never used (a stale one fails after the packages before it shipped)", pkg.Name, where, from),
					Hint:    fmt.Sprintf("delete the line (the package uses trusted publishing), or mark the package `auth = \"token\"` in %s to keep the token on purpose; publish proves a token live before the first upload", st.rel(st.opt.ConfigFile))})
			default:
				why := "PyPI uses it only when OIDC is unavailable"
				if pkg.Kind == config.KindNPM {
					why = "npm uses it when its OIDC exchange fails, and then a stale token fails the upload"
				}
				out = append(out, Issue{Code: CodeTokenUnused, Severity: SevWarning, File: file, Line: line,
					Message: fmt.Sprintf("package `%s` (%s): %s from %s beside trusted publishing; %s", pkg.Name, registryLabel(pkg.Kind), where, from, why),
					Hint:    fmt.Sprintf("delete the line once trusted publishing works, or mark the package `auth = \"token\"` in %s", st.rel(st.opt.ConfigFile))})
			}
		}
	}
	return out
}

// isExchangeOutput: the value comes from a step's output (e.g.
// rust-lang/crates-io-auth-action's `token`), not from a stored secret.
func isExchangeOutput(v string) bool {
	return strings.Contains(v, "steps.") && !secretRef.MatchString(v)
}

func fileBase(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// liveness proves a token doctor can see is accepted by its registry for
// the package (each registry's cheapest authenticated read; PyPI has none,
// so its macaroon is read offline). nil when it is, or cannot be told; live
// says the registry confirmed it covers the package.
func liveness(ctx context.Context, st *state, pkg *config.Package, envName string) (*Issue, string, bool) {
	if st.opt.InspectToken == nil {
		return nil, "", false
	}
	info, err := st.opt.InspectToken(ctx, pkg, envName)
	switch {
	case err != nil:
		return nil, "not checked: " + secret.Redact(err.Error()), false
	case info.Dead || !info.Covers && !info.Unknown:
		return &Issue{Code: CodeTokenNotLive, Severity: SevError,
			Message: fmt.Sprintf("package `%s` (%s): %s is not usable for `%s`: %s", pkg.Name, registryLabel(pkg.Kind), envName, pkg.RegistryName(), secret.Redact(info.Detail)),
			Hint:    fmt.Sprintf("replace the %s secret with a live token that may publish `%s`, or remove it so trusted publishing is used", envName, pkg.RegistryName())}, "", false
	}
	return nil, secret.Redact(info.Detail), info.Covers && !info.Dead
}
