package auth

import (
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

func TestResolvePrecedence(t *testing.T) {
	oidc := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://x/?a=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req"}
	with := func(base env.Env, kv ...string) env.Env {
		e := env.Env{}
		for k, v := range base {
			e[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	cases := []struct {
		name     string
		kind     string
		e        env.Env
		want     string
		fallback string
	}{
		{"crates token beats oidc", config.KindCrates, with(oidc, "CARGO_REGISTRY_TOKEN", "cio123456"), "token (CARGO_REGISTRY_TOKEN)", ""},
		{"crates oidc when token empty", config.KindCrates, with(oidc, "CARGO_REGISTRY_TOKEN", ""), "oidc", ""},
		{"crates missing", config.KindCrates, env.Env{}, "missing", ""},
		{"pypi oidc beats token", config.KindPyPI, with(oidc, "PYPI_API_TOKEN", "pypi-abcdef"), "oidc", "PYPI_API_TOKEN"},
		{"pypi token without oidc", config.KindPyPI, env.Env{"PYPI_API_TOKEN": "pypi-abcdef"}, "token (PYPI_API_TOKEN)", ""},
		{"pypi empty token is unset", config.KindPyPI, env.Env{"PYPI_API_TOKEN": ""}, "missing", ""},
		{"npm oidc beats NODE_AUTH_TOKEN", config.KindNPM, with(oidc, "NODE_AUTH_TOKEN", "npm_abcdef"), "oidc", "NODE_AUTH_TOKEN"},
		{"npm NPM_TOKEN accepted", config.KindNPM, env.Env{"NPM_TOKEN": "npm_abcdef"}, "token (NPM_TOKEN)", ""},
		{"npm NODE_AUTH_TOKEN before NPM_TOKEN", config.KindNPM, env.Env{"NPM_TOKEN": "npm_a12345", "NODE_AUTH_TOKEN": "npm_b12345"}, "token (NODE_AUTH_TOKEN)", ""},
		{"half oidc is no oidc", config.KindNPM, env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ""}, "missing", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Resolve(c.kind, c.e)
			if r.String() != c.want || r.Fallback != c.fallback {
				t.Fatalf("Resolve = %s (fallback %q), want %s (fallback %q)", r, r.Fallback, c.want, c.fallback)
			}
			if r.Method == MethodMissing && r.Needs == "" {
				t.Fatal("missing resolution must say what it needs")
			}
		})
	}
	if got := Resolve(config.KindCrates, env.Env{}).Needs; got != "CARGO_REGISTRY_TOKEN or OIDC" {
		t.Fatalf("Needs = %q", got)
	}
}
