package crates

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestGitHubConfigsList(t *testing.T) {
	const tpScoped = "cioTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"
	const pubScoped = "cioPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP"
	const otherCrate = "cioQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	const stranger = "cioSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	e.s.AddAPIToken(tpScoped, "trusted-publishing", "crate:foo")
	e.s.AddAPIToken(pubScoped, "publish-update")
	e.s.AddAPIToken(otherCrate, "trusted-publishing", "crate:bar*")
	e.s.AddToken(&APIToken{Token: stranger, Owner: "mallory"})
	e.s.AddVersion("foo", "1.0.0")
	e.s.AddGitHubConfig("foo", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml", Environment: "release"})

	cases := []struct {
		name, query, token string
		status             int
		detail             string
	}{
		{"neither param", "", legacyTok, 400, "Must specify either `crate` or `user_id` query parameter"},
		{"both params", "?crate=foo&user_id=1", legacyTok, 400, "Cannot specify both `crate` and `user_id` query parameters"},
		{"no auth", "?crate=foo", "", 403, "this action requires authentication"},
		{"auth before crate lookup", "?crate=nope", "", 403, "this action requires authentication"},
		{"tp token is not an API token", "?crate=foo", "cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd", 403, "authentication failed"},
		{"not a crates.io token", "?crate=foo", "ghp_abc", 401, detailBadFormat},
		{"unknown crate", "?crate=nope", legacyTok, 404, "crate `nope` does not exist"},
		{"not an owner", "?crate=foo", stranger, 400, "You are not an owner of this crate"},
		{"scoped without trusted-publishing", "?crate=foo", pubScoped, 403, detailPermissions},
		{"scoped for another crate", "?crate=foo", otherCrate, 403, detailPermissions},
		{"scoped covers a missing crate", "?crate=barnone", otherCrate, 404, "crate `barnone` does not exist"},
		{"legacy token on user_id", "?user_id=1", legacyTok, 403, "This endpoint cannot be used with legacy API tokens. Use a scoped API token instead."},
		{"user_id of someone else", "?user_id=999", tpScoped, 403, "this action requires authentication as the specified user"},
		{"legacy ok", "?crate=foo", legacyTok, 200, ""},
		{"scoped ok", "?crate=foo", tpScoped, 200, ""},
		{"per_page too big", "?crate=foo&per_page=101", legacyTok, 400, "cannot request more than 100 items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.token != "" {
				h["Authorization"] = c.token
			}
			r := e.call("GET", "/api/v1/trusted_publishing/github_configs"+c.query, h, nil)
			if r.status != c.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatal("no Cache-Control: no-store")
			}
			if c.status != 200 {
				if r.detail() != c.detail {
					t.Fatalf("detail %q", r.detail())
				}
				return
			}
			var v struct {
				Configs []map[string]any `json:"github_configs"`
				Meta    struct {
					Total    int     `json:"total"`
					NextPage *string `json:"next_page"`
				} `json:"meta"`
			}
			if err := json.Unmarshal([]byte(r.body), &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Configs) != 1 || v.Meta.Total != 1 || v.Meta.NextPage != nil {
				t.Fatalf("%s", r.body)
			}
			cfg := v.Configs[0]
			if cfg["crate"] != "foo" || cfg["repository_owner"] != "octo-org" || cfg["repository_owner_id"].(float64) != 65 || cfg["repository_name"] != "octo-repo" || cfg["workflow_filename"] != "release.yml" || cfg["environment"] != "release" {
				t.Fatalf("cfg = %v", cfg)
			}
		})
	}
}

func TestGitHubConfigsPaginationAndUserID(t *testing.T) {
	const scoped = "cioTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	e.s.AddAPIToken(scoped, "trusted-publishing")
	for i := 0; i < 25; i++ {
		e.s.AddGitHubConfig("foo", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: fmt.Sprintf("w%d.yml", i)})
	}
	seen := 0
	next := "?crate=foo"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := e.call("GET", "/api/v1/trusted_publishing/github_configs"+next, map[string]string{"Authorization": legacyTok}, nil)
		var v struct {
			Configs []map[string]any `json:"github_configs"`
			Meta    struct {
				Total    int     `json:"total"`
				NextPage *string `json:"next_page"`
			} `json:"meta"`
		}
		if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Meta.Total != 25 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, c := range v.Configs {
			if c["workflow_filename"] != fmt.Sprintf("w%d.yml", seen) {
				t.Fatalf("out of order: %v at %d", c["workflow_filename"], seen)
			}
			seen++
		}
		next = ""
		if v.Meta.NextPage != nil {
			next = *v.Meta.NextPage
		}
	}
	if seen != 25 {
		t.Fatalf("saw %d", seen)
	}
	// user_id with a scoped token lists every config of the user's crates
	e.s.mu.Lock()
	uid := e.s.users[DefaultUser].ID
	e.s.mu.Unlock()
	r := e.call("GET", "/api/v1/trusted_publishing/github_configs?per_page=100&user_id="+strconv.Itoa(uid), map[string]string{"Authorization": scoped}, nil)
	if r.status != 200 || !json.Valid([]byte(r.body)) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var v struct {
		Configs []any `json:"github_configs"`
	}
	_ = json.Unmarshal([]byte(r.body), &v)
	if len(v.Configs) != 25 {
		t.Fatalf("user_id list: %d configs", len(v.Configs))
	}
}

func TestGitHubConfigsCreate(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	e.s.AddVersion("foo", "1.0.0")
	e.s.SetGitHubOwnerID("octo-org", 65)
	post := func(body string) resp {
		return e.call("POST", "/api/v1/trusted_publishing/github_configs", map[string]string{"Authorization": legacyTok, "Content-Type": "application/json"}, []byte(body))
	}
	r := post(`{"github_config":{"crate":"foo","repository_owner":"octo-org","repository_name":"octo-repo","workflow_filename":"release.yml","environment":null}}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := e.s.GitHubConfigs("foo")
	if len(got) != 1 || got[0].OwnerID != 65 || got[0].Environment != "" {
		t.Fatalf("%+v", got)
	}
	for body, want := range map[string]string{
		`{"github_config":{"crate":"nope","repository_owner":"octo-org","repository_name":"r","workflow_filename":"release.yml"}}`: "crate `nope` does not exist",
		`{"github_config":{"crate":"foo","repository_owner":"octo-org","repository_name":"r","workflow_filename":"release"}}`:      "Workflow filename must end with `.yml` or `.yaml`",
	} {
		if r := post(body); r.status/100 != 4 || r.detail() != want {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
	}
	// the new config is live for the exchange
	if r := e.exchange(e.mint()); r.status != 200 {
		t.Fatalf("exchange after POST: %s", r.body)
	}
}

func TestTokenProbeEndpoints(t *testing.T) {
	const scoped = "cioTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"
	const expired = "cioXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	const revoked = "cioRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR"
	e := newEnv(t, Options{})
	legacyID := e.s.AddAPIToken(legacyTok)
	e.s.AddAPIToken(scoped, "publish-update", "crate:foo")
	past := time.Now().Add(-time.Hour)
	e.s.AddToken(&APIToken{Token: expired, ExpiredAt: &past})
	e.s.AddAPIToken(revoked)
	e.s.RevokeAPIToken(revoked)
	cases := []struct {
		name, path, token, origin string
		status                    int
		detail                    string
	}{
		{"me without auth", "/api/v1/me", "", "", 403, "this action requires authentication"},
		{"me live legacy", "/api/v1/me", legacyTok, "", 403, "this action can only be performed on the crates.io website"},
		{"me live scoped", "/api/v1/me", "Bearer " + scoped, "", 403, "this action can only be performed on the crates.io website"},
		{"me expired", "/api/v1/me", expired, "", 403, "authentication failed"},
		{"me revoked", "/api/v1/me", revoked, "", 403, "authentication failed"},
		{"me unknown", "/api/v1/me", "cioNOPENOPENOPENOPENOPENOPENOPENOPE", "", 403, "authentication failed"},
		{"me tp token", "/api/v1/me", "cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd", "", 403, "authentication failed"},
		{"me not crates.io", "/api/v1/me", "npm_abcdef", "", 401, detailBadFormat},
		{"me bad origin", "/api/v1/me", legacyTok, "https://evil.example", 403, "invalid origin header"},
		{"me non-ascii", "/api/v1/me", "cio\xe9", "", 401, "Invalid `Authorization` header: Found unexpected non-ASCII characters"},
		{"tokens list is cookie-only", "/api/v1/me/tokens", legacyTok, "", 403, "this action can only be performed on the crates.io website"},
		{"token 0 legacy", "/api/v1/me/tokens/0", legacyTok, "", 404, "Not Found"},
		{"token 0 scoped", "/api/v1/me/tokens/0", scoped, "", 403, detailPermissions},
		{"own token legacy", "/api/v1/me/tokens/" + strconv.Itoa(legacyID), legacyTok, "", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.token != "" {
				h["Authorization"] = c.token
			}
			if c.origin != "" {
				h["Origin"] = c.origin
			}
			r := e.call("GET", c.path, h, nil)
			if r.status != c.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if c.status == 200 {
				var v struct {
					Tok map[string]any `json:"api_token"`
				}
				_ = json.Unmarshal([]byte(r.body), &v)
				if v.Tok["id"].(float64) != float64(legacyID) || v.Tok["endpoint_scopes"] != nil || v.Tok["last_used_at"] == nil {
					t.Fatalf("%s", r.body)
				}
				return
			}
			if r.detail() != c.detail {
				t.Fatalf("detail %q", r.detail())
			}
		})
	}
}

func TestAccountStateAndTokenCreation(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	const lockedTok = "cioLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
	const foreverTok = "cioFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
	const unverifiedTok = "cioUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU"
	e.s.AddToken(&APIToken{Token: lockedTok, Owner: "locked"})
	e.s.AddToken(&APIToken{Token: foreverTok, Owner: "forever"})
	e.s.AddToken(&APIToken{Token: unverifiedTok, Owner: "noemail"})
	until := time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
	e.s.LockUser("locked", &until, "spam")
	e.s.LockUser("forever", nil, "abuse")
	e.s.SetEmailVerified("noemail", false)
	for _, c := range []struct {
		method, path, token string
		status              int
		detail              string
	}{
		{"GET", "/api/v1/me", lockedTok, 403, "This account is locked until 2099-01-02 at 03:04:05 UTC. Reason: spam"},
		{"GET", "/api/v1/me", foreverTok, 403, "This account is indefinitely locked. Reason: abuse"},
		{"PUT", "/api/v1/me/tokens", legacyTok, 400, "cannot use an API token to create a new API token"},
		{"PUT", "/api/v1/me/tokens", "", 403, "this action requires authentication"},
	} {
		h := map[string]string{}
		if c.token != "" {
			h["Authorization"] = c.token
		}
		r := e.call(c.method, c.path, h, nil)
		if r.status != c.status || r.detail() != c.detail {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	r := e.publish(unverifiedTok, publishBody(meta("mail", "0.1.0"), goodCrate("mail", "0.1.0")))
	if r.status != 400 || r.detail() != "A verified email address is required to publish crates to crates.io. Visit https://crates.io/settings/profile to set and verify your email address." {
		t.Fatalf("unverified: %d %s", r.status, r.body)
	}
}

func TestIndexPaused(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	e.s.SetIndexPaused(true)
	if r := e.publish(legacyTok, publishBody(meta("lag1", "0.1.0"), goodCrate("lag1", "0.1.0"))); r.status != 200 {
		t.Fatal(r.body)
	}
	if r := e.call("GET", "/index/la/g1/lag1", nil, nil); r.status != 404 {
		t.Fatalf("paused index served the version: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/crates/lag1/0.1.0", nil, nil); r.status != 200 {
		t.Fatalf("API must see the version at once: %d", r.status)
	}
	e.s.SetIndexPaused(false)
	if r := e.call("GET", "/index/la/g1/lag1", nil, nil); r.status != 200 {
		t.Fatalf("after resume: %d", r.status)
	}
}

func TestYank(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddAPIToken(legacyTok)
	const noYank = "cioNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN"
	e.s.AddAPIToken(noYank, "publish-update")
	e.s.AddVersion("foo", "1.0.0")
	h := map[string]string{"Authorization": legacyTok}
	if r := e.call("DELETE", "/api/v1/crates/foo/1.0.0/yank", map[string]string{"Authorization": noYank}, nil); r.status != 403 || r.detail() != detailPermissions {
		t.Fatalf("scoped: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", "/api/v1/crates/foo/9.9.9/yank", h, nil); r.status != 404 {
		t.Fatalf("missing version: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", "/api/v1/crates/foo/1.0.0/yank", h, nil); r.status != 200 || r.body != "{\"ok\":true}\n" {
		t.Fatalf("yank: %d %q", r.status, r.body)
	}
	if r := e.call("GET", "/index/3/f/foo", nil, nil); !strings.Contains(r.body, `"yanked":true`) {
		t.Fatalf("index: %s", r.body)
	}
	if r := e.call("GET", "/api/v1/crates/foo/1.0.0", nil, nil); !strings.Contains(r.body, `"yanked":true`) {
		t.Fatalf("version: %s", r.body)
	}
	if r := e.call("PUT", "/api/v1/crates/foo/1.0.0/unyank", h, nil); r.status != 200 {
		t.Fatalf("unyank: %d", r.status)
	}
	if r := e.call("GET", "/index/3/f/foo", nil, nil); !strings.Contains(r.body, `"yanked":false`) {
		t.Fatalf("index after unyank: %s", r.body)
	}
}

func TestSessionEndpoints(t *testing.T) {
	now := time.Now()
	e := newEnv(t, Options{Now: func() time.Time { return now }})
	e.s.AddVersion("mine", "1.0.0")
	old := now.Add(-48 * time.Hour)
	e.s.AddToken(&APIToken{Token: NewAPITokenString(), Name: "old-expired", ExpiredAt: &old})
	e.s.AddToken(&APIToken{Token: NewAPITokenString(), Name: "scoped", EndpointScopes: []string{"publish-update"}, CrateScopes: []string{"mine"}})
	revoked := NewAPITokenString()
	e.s.AddToken(&APIToken{Token: revoked, Name: "revoked"})
	e.s.RevokeAPIToken(revoked)
	cookie := e.s.NewSession(DefaultUser)
	h := map[string]string{"Cookie": cookie.String()}

	r := e.call("GET", "/api/v1/me", h, nil)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" || !strings.Contains(r.body, `"login":"octocat"`) || !strings.Contains(r.body, `"name":"mine"`) {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	names := func(q string) []string {
		r := e.call("GET", "/api/v1/me/tokens"+q, h, nil)
		var v struct {
			Tokens []struct {
				Name string `json:"name"`
			} `json:"api_tokens"`
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &v) != nil {
			t.Fatalf("tokens: %d %s", r.status, r.body)
		}
		var out []string
		for _, tk := range v.Tokens {
			out = append(out, tk.Name)
		}
		return out
	}
	if got := strings.Join(names(""), ","); got != "scoped" {
		t.Fatalf("tokens = %s", got)
	}
	if got := strings.Join(names("?expired_days=3"), ","); got != "scoped,old-expired" {
		t.Fatalf("tokens with expired_days = %s", got)
	}
	r = e.call("PUT", "/api/v1/me/tokens", map[string]string{"Cookie": cookie.String(), "Content-Type": "application/json"},
		[]byte(`{"api_token":{"name":"ci","endpoint_scopes":["publish-update"],"crate_scopes":["mine"]}}`))
	var created struct {
		Tok map[string]any `json:"api_token"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &created) != nil || !strings.HasPrefix(created.Tok["token"].(string), "cio") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	// the new token is live and scoped
	tok := created.Tok["token"].(string)
	if r := e.call("GET", "/api/v1/me/tokens/0", map[string]string{"Authorization": tok}, nil); r.status != 403 || r.detail() != detailPermissions {
		t.Fatalf("new token: %d %s", r.status, r.body)
	}
	e.s.AddGitHubConfig("mine", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	e.s.mu.Lock()
	uid := e.s.users[DefaultUser].ID
	e.s.mu.Unlock()
	for _, q := range []string{"?crate=mine", "?user_id=" + strconv.Itoa(uid)} {
		if r := e.call("GET", "/api/v1/trusted_publishing/github_configs"+q, h, nil); r.status != 200 || !strings.Contains(r.body, `"workflow_filename":"release.yml"`) {
			t.Fatalf("github_configs%s with a session: %d %s", q, r.status, r.body)
		}
	}
	if r := e.call("GET", "/api/v1/me", map[string]string{"Cookie": "cargo_session=bogus"}, nil); r.status != 403 || r.detail() != "this action requires authentication" {
		t.Fatalf("bogus session: %d %s", r.status, r.body)
	}
}
