package crates

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
)

func TestTPChecksumMatchesKnownToken(t *testing.T) {
	if _, ok := parseTPToken("cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd"); !ok {
		t.Fatal("documented example token rejected")
	}
	if _, ok := parseTPToken("cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOe"); ok {
		t.Fatal("bad checksum accepted")
	}
	for i := 0; i < 50; i++ {
		tok := NewTPToken()
		if len(tok) != 39 {
			t.Fatalf("len %d", len(tok))
		}
		if _, ok := parseTPToken(tok); !ok {
			t.Fatalf("minted token %q fails its own checksum", tok)
		}
	}
}

func signed(t *testing.T, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExchange(t *testing.T) {
	defaultCfg := GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml", Environment: "release"}
	cases := []struct {
		name    string
		configs []GitHubConfig
		setup   func(e *env)
		jwt     func(e *env) string
		status  int
		detail  string
	}{
		{name: "ok", status: 200},
		{name: "case-insensitive repository and environment", configs: []GitHubConfig{{Owner: "Octo-Org", Repo: "OCTO-repo", OwnerID: 65, Workflow: "release.yml", Environment: "RELEASE"}}, status: 200},
		{name: "config without environment matches any", configs: []GitHubConfig{{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"}}, status: 200},
		{name: "reusable workflow: caller filename is matched", setup: func(e *env) {
			id := oidc.DefaultIdentity()
			id.JobWorkflowRepo, id.JobWorkflowFile = "octo-org/tools", "shared-release.yml"
			e.iss.SetIdentity(id)
		}, status: 200},
		{name: "not a JWT", jwt: func(*env) string { return "not-a-jwt" }, status: 400, detail: "Failed to decode JWT"},
		{name: "wrong audience", jwt: func(e *env) string { tok, _ := e.iss.Mint("pypi"); return tok }, status: 400, detail: "Failed to decode JWT"},
		{name: "expired", jwt: func(e *env) string {
			e.iss.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
			defer e.iss.SetClock(time.Now)
			return e.mint()
		}, status: 400, detail: "Failed to decode JWT"},
		{name: "iat in the future beyond leeway", jwt: func(e *env) string {
			e.iss.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
			defer e.iss.SetClock(time.Now)
			return e.mint()
		}, status: 400, detail: "Failed to decode JWT"},
		{name: "iat in the future within leeway", jwt: func(e *env) string {
			e.iss.SetClock(func() time.Time { return time.Now().Add(30 * time.Second) })
			defer e.iss.SetClock(time.Now)
			return e.mint()
		}, status: 200},
		{name: "foreign issuer", jwt: func(t *env) string {
			return signed(t.t, map[string]any{"kid": "x"}, jwt.MapClaims{"iss": "https://evil.example", "aud": "crates.io"})
		}, status: 400, detail: "Unsupported JWT issuer: https://evil.example"},
		{name: "missing kid", jwt: func(t *env) string {
			return signed(t.t, nil, jwt.MapClaims{"iss": oidc.GitHubIssuer, "aud": "crates.io"})
		}, status: 400, detail: "Missing JWT key ID"},
		{name: "unknown kid", jwt: func(t *env) string {
			return signed(t.t, map[string]any{"kid": "nope"}, jwt.MapClaims{"iss": oidc.GitHubIssuer, "aud": "crates.io"})
		}, status: 400, detail: "Invalid JWT key ID"},
		{name: "pull_request_target", setup: func(e *env) { e.iss.SetClaim("event_name", "pull_request_target") }, status: 400,
			detail: "Trusted Publishing does not support the `pull_request_target` event trigger due to security concerns. Please use a different trigger such as `push`, `release`, or `workflow_dispatch`."},
		{name: "workflow_run", setup: func(e *env) { e.iss.SetClaim("event_name", "workflow_run") }, status: 400,
			detail: "Trusted Publishing does not support the `workflow_run` event trigger due to security concerns. Please use a different trigger such as `push`, `release`, or `workflow_dispatch`."},
		{name: "numeric owner id claim", setup: func(e *env) { e.iss.SetClaim("repository_owner_id", 65) }, status: 400, detail: "Failed to decode JWT"},
		{name: "missing sha claim", setup: func(e *env) { e.iss.SetClaim("sha", nil) }, status: 400, detail: "Failed to decode JWT"},
		{name: "bad repository", setup: func(e *env) { e.iss.SetClaim("repository", "noslash") }, status: 400, detail: "Unexpected `repository` value"},
		{name: "bad workflow_ref", setup: func(e *env) { e.iss.SetClaim("workflow_ref", "octo-org/octo-repo/Makefile@refs/heads/main") }, status: 400, detail: "Unexpected `workflow_ref` value"},
		{name: "bad owner id", setup: func(e *env) { e.iss.SetClaim("repository_owner_id", "sixty") }, status: 400, detail: "Unexpected `repository_owner_id` value"},
		{name: "owner id beyond int32", setup: func(e *env) { e.iss.SetClaim("repository_owner_id", "4294967296") }, status: 400, detail: "Unexpected `repository_owner_id` value"},
		{name: "no config", setup: func(e *env) { e.iss.SetClaim("repository", "octo-org/other") }, status: 400,
			detail: "No Trusted Publishing config found for repository `octo-org/other`."},
		{name: "owner id mismatch (resurrected name)", configs: []GitHubConfig{{Owner: "octo-org", Repo: "octo-repo", OwnerID: 99, Workflow: "release.yml"}}, status: 400,
			detail: "The Trusted Publishing config for repository `octo-org/octo-repo` does not match the repository owner ID (65) in the JWT. Expected owner IDs: 99. Please recreate the Trusted Publishing config to update the repository owner ID."},
		{name: "workflow renamed", setup: func(e *env) {
			id := oidc.DefaultIdentity()
			id.WorkflowFile = "patch-release.yml"
			e.iss.SetIdentity(id)
		}, status: 400, detail: "The Trusted Publishing config for repository `octo-org/octo-repo` does not match the workflow filename `patch-release.yml` in the JWT. Expected workflow filenames: `release.yml`"},
		{name: "workflow filename is case-sensitive", configs: []GitHubConfig{{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "Release.yml"}, {Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "ci.yaml"}}, status: 400,
			detail: "The Trusted Publishing config for repository `octo-org/octo-repo` does not match the workflow filename `release.yml` in the JWT. Expected workflow filenames: `Release.yml`, `ci.yaml`"},
		{name: "environment mismatch", setup: func(e *env) { e.iss.SetClaim("environment", "staging") }, status: 400,
			detail: "The Trusted Publishing config for repository `octo-org/octo-repo` does not match the environment `staging` in the JWT. Expected environments: `release`"},
		{name: "environment missing", setup: func(e *env) { e.iss.SetClaim("environment", nil) }, status: 400,
			detail: "The Trusted Publishing config for repository `octo-org/octo-repo` requires an environment, but the JWT does not specify one. Expected environments: `release`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newFreshEnv(t, Options{})
			e.s.AddVersion("foo", "0.1.0")
			cfgs := c.configs
			if cfgs == nil {
				cfgs = []GitHubConfig{defaultCfg}
			}
			for _, cfg := range cfgs {
				e.s.AddGitHubConfig("foo", cfg)
			}
			if c.setup != nil {
				c.setup(e)
			}
			var tok string
			if c.jwt != nil {
				tok = c.jwt(e)
			} else {
				tok = e.mint()
			}
			r := e.exchange(tok)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status != 200 {
				if got := r.detail(); got != c.detail {
					t.Fatalf("detail\n got %q\nwant %q", got, c.detail)
				}
				if len(e.s.MintedTokens()) != 0 {
					t.Fatal("a refused exchange minted a token")
				}
				return
			}
			var v map[string]string
			if err := json.Unmarshal([]byte(r.body), &v); err != nil {
				t.Fatal(err)
			}
			if _, ok := parseTPToken(v["token"]); !ok {
				t.Fatalf("minted %q is not a valid cio_tp_ token", v["token"])
			}
			m := e.s.MintedTokens()
			if len(m) != 1 || m[0].Token != v["token"] || len(m[0].Crates) != 1 || m[0].Crates[0] != "foo" || m[0].Repository != "octo-org/octo-repo" {
				t.Fatalf("minted = %+v", m)
			}
			if d := time.Until(m[0].ExpiresAt); d < 29*time.Minute || d > 31*time.Minute {
				t.Fatalf("ttl %v", d)
			}
		})
	}
}

func TestExchangeJTISingleUse(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddGitHubConfig("foo", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	tok := e.mint()
	if r := e.exchange(tok); r.status != 200 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	r := e.exchange(tok)
	if r.status != 400 || r.detail() != "JWT has already been used" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
}

// A refused exchange rolls back the jti insert: after fixing the config the
// same JWT is accepted once.
func TestRefusedExchangeDoesNotBurnJTI(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddGitHubConfig("foo", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "other.yml"})
	tok := e.mint()
	if r := e.exchange(tok); r.status != 400 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	e.s.AddGitHubConfig("foo", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	if r := e.exchange(tok); r.status != 200 {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	if r := e.exchange(tok); r.status != 400 || r.detail() != "JWT has already been used" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
}

func TestExchangeCoversEveryMatchingCrate(t *testing.T) {
	e := newEnv(t, Options{})
	for _, c := range []string{"foo", "bar"} {
		e.s.AddGitHubConfig(c, GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	}
	e.s.AddGitHubConfig("baz", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "other.yml"})
	if r := e.exchange(e.mint()); r.status != 200 {
		t.Fatal(r.body)
	}
	got := e.s.MintedTokens()[0].Crates
	if strings.Join(got, ",") != "foo,bar" {
		t.Fatalf("crates = %v", got)
	}
}

func TestExchangeWithoutVerifier(t *testing.T) {
	s, _ := Start(Options{})
	t.Cleanup(s.Close)
	e := &env{t: t, s: s, iss: &fakeIssuer{identity: oidc.DefaultIdentity(), extra: map[string]any{}, now: time.Now}}
	r := e.exchange(e.mint())
	if r.status != 500 || r.detail() != "Failed to load OIDC key set" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, c := range []struct {
		ct, body string
		status   int
	}{
		{"application/json", `{"nojwt":1}`, 422},
		{"application/json", `{"jwt":5}`, 422},
		{"application/json", `{"jwt":`, 400},
		{"text/plain", `{"jwt":"x"}`, 415},
		{"", `{"jwt":"x"}`, 400}, // tolerated content type; "x" is no JWT
	} {
		r = e.call("POST", "/api/v1/trusted_publishing/tokens", map[string]string{"Content-Type": c.ct}, []byte(c.body))
		if r.status != c.status {
			t.Fatalf("%q %s: %d %s", c.ct, c.body, r.status, r.body)
		}
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tpToken("foo")
	cases := []struct {
		name, auth string
		status     int
		detail     string
	}{
		{"missing header", "", 401, "Missing `Authorization` header"},
		{"unexpected scheme", "Basic abc", 401, "Invalid `Authorization` header: Found unexpected authentication scheme `Basic`"},
		{"not a tp token", "Bearer " + legacyTok, 401, "Invalid `Authorization` header: Failed to parse token"},
		{"bad checksum", "cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOe", 401, "Invalid `Authorization` header: Failed to parse token"},
		{"unknown but well-formed", "cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd", 204, ""},
		{"minted, bearer lower-case", "bearer " + tok, 204, ""},
		{"already revoked", "  " + tok + "  ", 204, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("DELETE", "/api/v1/trusted_publishing/tokens", map[string]string{"Authorization": c.auth}, nil)
			if r.status != c.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if c.detail != "" && r.detail() != c.detail {
				t.Fatalf("detail %q", r.detail())
			}
		})
	}
	if !e.s.MintedTokens()[0].Revoked {
		t.Fatal("token not marked revoked")
	}
	r := e.publish(tok, publishBody(meta("foo", "0.2.0"), goodCrate("foo", "0.2.0")))
	if r.status != 403 || r.detail() != "Invalid authentication token" {
		t.Fatalf("publish with revoked token: %d %s", r.status, r.body)
	}
}

func TestTPTokenExpires(t *testing.T) {
	now := time.Now()
	e := newFreshEnv(t, Options{Now: func() time.Time { return now }})
	tok := e.tpToken("foo")
	now = now.Add(31 * time.Minute)
	r := e.publish(tok, publishBody(meta("foo", "0.2.0"), goodCrate("foo", "0.2.0")))
	if r.status != 403 || r.detail() != "Invalid authentication token" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// The real issuer's errors map to crates.io's texts too.
func TestExchangeWithRealIssuerErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddGitHubConfig("foo", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	if r := e.exchange(signed(t, map[string]any{"kid": "nope"}, jwt.MapClaims{"iss": oidc.GitHubIssuer, "aud": "crates.io"})); r.detail() != "Invalid JWT key ID" {
		t.Fatalf("unknown kid: %s", r.body)
	}
	tok, _ := e.iss.Mint("npm:registry.example")
	if r := e.exchange(tok); r.status != 400 || r.detail() != "Failed to decode JWT" {
		t.Fatalf("wrong audience: %s", r.body)
	}
}
