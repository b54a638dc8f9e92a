// Package auth decides how each registry is authenticated (SPEC §5). Resolve is
// the one function doctor, preflight and publish all use.
package auth

import (
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// Method is how a package will authenticate.
type Method string

const (
	MethodOIDC    Method = "oidc"
	MethodToken   Method = "token"
	MethodMissing Method = "missing"
)

// Token fallback variables per kind, in precedence order.
var tokenVars = map[string][]string{
	config.KindCrates: {"CARGO_REGISTRY_TOKEN"},
	config.KindPyPI:   {"PYPI_API_TOKEN"},
	config.KindNPM:    {"NODE_AUTH_TOKEN", "NPM_TOKEN"},
}

// TokenVars returns the fallback variables for kind, in precedence order.
func TokenVars(kind string) []string { return tokenVars[kind] }

// Resolution is the decision for one registry kind.
type Resolution struct {
	Kind   string `json:"kind"`
	Method Method `json:"method"`
	// EnvName is the variable that supplies the token (MethodToken).
	EnvName string `json:"env,omitempty"`
	// Fallback is a token variable that is set but not used because OIDC wins
	// (pypi, npm); empty when none. For crates it is never set: the token wins.
	Fallback string `json:"fallback,omitempty"`
	// OIDCIgnored is true when OIDC is available but a token takes precedence
	// (crates with CARGO_REGISTRY_TOKEN set).
	OIDCIgnored bool `json:"oidc_ignored,omitempty"`
	// Needs says what would satisfy a missing resolution, e.g.
	// "CARGO_REGISTRY_TOKEN or OIDC".
	Needs string `json:"needs,omitempty"`
}

// String renders the resolution as doctor prints it: `oidc`,
// `token (ENV_NAME)` or `missing`.
func (r Resolution) String() string {
	switch r.Method {
	case MethodOIDC:
		return "oidc"
	case MethodToken:
		return "token (" + r.EnvName + ")"
	}
	return "missing"
}

// Resolve applies SPEC §5's precedence for kind with the environment e.
// Empty variables are unset (env.Env.Get).
func Resolve(kind string, e env.Env) Resolution {
	r := Resolution{Kind: kind}
	vars := tokenVars[kind]
	firstToken := ""
	for _, v := range vars {
		if e.Has(v) {
			firstToken = v
			break
		}
	}
	oidc := e.OIDCAvailable()
	switch kind {
	case config.KindCrates:
		// Whatever is in CARGO_REGISTRY_TOKEN wins (the workflow decides, e.g. via
		// crates-io-auth-action); the native exchange runs only when it is unset.
		if firstToken != "" {
			r.Method, r.EnvName, r.OIDCIgnored = MethodToken, firstToken, oidc
		} else if oidc {
			r.Method = MethodOIDC
		}
	default:
		// OIDC wins for PyPI and npm.
		if oidc {
			r.Method, r.Fallback = MethodOIDC, firstToken
		} else if firstToken != "" {
			r.Method, r.EnvName = MethodToken, firstToken
		}
	}
	if r.Method == "" {
		r.Method = MethodMissing
		r.Needs = needs(vars)
	}
	return r
}

func needs(vars []string) string {
	s := ""
	for i, v := range vars {
		if i > 0 {
			s += " or "
		}
		s += v
	}
	return s + " or OIDC"
}
