package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/publish"
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

// Whole-run refusals of the credential steps that are findings about the
// setup; any other error (no git checkout, a shallow clone, a registry that
// did not answer) means the registries could not be asked: skipped, with the
// reason.
var exchangeFindings = map[string]bool{
	publish.CodeFirstPublishNeedsTok: true,
	publish.CodeNPMSelfHosted:        true,
	publish.CodeTokenNotLive:         true,
	publish.CodeTrustRefusedGeneric:  true,
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
	perPackage := false
	for _, r := range res {
		if r.Error != "" {
			perPackage = true
		}
	}
	if err != nil && !ExchangeFinding(err, perPackage) {
		p.add(Neutral, "registry exchanges skipped: "+secret.Redact(firstLine(err.Error())))
		return
	}
	st.exchanged = len(res) > 0
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
		if !perPackage {
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

// ExchangeFinding reports whether err, from the credential steps of
// publish, is a finding about the setup (a refusal, a dead token, a first
// publish, an unsupported runner) rather than a run that could not ask the
// registries (no git checkout, a shallow clone, a registry that did not
// answer). perPackage: some package already carries its own refusal.
func ExchangeFinding(err error, perPackage bool) bool {
	return err != nil && (perPackage || exchangeFindings[diag.CodeOf(err)])
}
