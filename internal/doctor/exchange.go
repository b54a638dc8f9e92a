package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// ExchangeResult is one package's answer from publish's own preflight steps
// (token liveness, trust exchange, first-publish check), run by doctor in a
// job that has credentials.
type ExchangeResult struct {
	Package string
	Status  string // ready | already-published | failed | …
	Code    string
	Error   string
	Auth    string // oidc | token (ENV)
}

// Codes of a run that could not ask the registries (not a finding about
// the setup): the exchanges are skipped with the reason.
var exchangeEnvironmental = map[string]bool{
	"PIOT_SHALLOW_CLONE":         true,
	"PIOT_REGISTRY_CHECK_FAILED": true,
}

// exchangeChecks asks the registries themselves, with the very steps
// `publish --preflight-check` takes: the only way to see a registration that
// differs from the declaration or that nothing declares, a changed owner ID,
// and a package that does not exist yet.
func exchangeChecks(ctx context.Context, st *state, p *Phase) {
	e := st.opt.Env
	if st.opt.Exchanges == nil || !e.InActions() {
		return
	}
	haveCreds := e.OIDCAvailable()
	for i := range st.cfg.Packages {
		for _, v := range tokenVarsOf(st.cfg.Packages[i].Kind) {
			if e.Has(v) {
				haveCreds = true
			}
		}
	}
	if !haveCreds {
		return
	}
	res, err := st.opt.Exchanges(ctx)
	code := diag.CodeOf(err)
	if err != nil && (exchangeEnvironmental[code] || isSetupCode(code)) {
		p.add(Neutral, "registry exchanges skipped: "+secret.Redact(firstLine(err.Error())))
		return
	}
	for _, r := range res {
		if r.Status == "failed" || r.Error != "" {
			c := r.Code
			if c == "" {
				c = code
			}
			p.add(Fail, fmt.Sprintf("%s: the registry refused the preflight exchange", r.Package), Issue{Code: c, Severity: SevError,
				Message: fmt.Sprintf("package `%s`: %s", r.Package, secret.Redact(r.Error)),
				Hint:    "this is what publish would meet before its first upload; fix the registration (or token) it names"})
			continue
		}
		what := "the registry accepted this run's credentials (short-lived tokens are revoked where the registry allows)"
		if r.Status == "already-published" {
			what = "the planned version is already published; nothing to exchange"
		}
		p.add(Pass, fmt.Sprintf("%s: %s: %s", r.Package, r.Auth, what))
	}
	if err != nil {
		failedAlready := false
		for _, r := range res {
			if r.Error != "" {
				failedAlready = true
			}
		}
		if !failedAlready {
			de := diag.HintOf(err)
			p.add(Fail, "the preflight exchanges stopped", Issue{Code: code, Severity: SevError, Message: secret.Redact(err.Error()), Hint: de})
		}
	}
	if len(res) == 0 && err == nil {
		p.add(Neutral, "registry exchanges: nothing in the plan to publish")
	}
}

func tokenVarsOf(kind string) []string {
	switch kind {
	case config.KindCrates:
		return []string{"CARGO_REGISTRY_TOKEN"}
	case config.KindPyPI:
		return []string{"PYPI_API_TOKEN"}
	case config.KindNPM:
		return []string{"NODE_AUTH_TOKEN", "NPM_TOKEN"}
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// isSetupCode: a config or plan problem (reported by other phases and by
// plan itself), not an answer from a registry.
func isSetupCode(code string) bool {
	return strings.Contains(code, "_CONFIG_") || strings.Contains(code, "_PLAN_")
}
