package npm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

func fastHTTP() *httpx.Client {
	h := httpx.New()
	h.Policy = httpx.Policy{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, PerRequest: 5 * time.Second}
	h.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return h
}

func emulator(t *testing.T, opts npmemu.Options) *npmemu.Server {
	t.Helper()
	s, err := npmemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func client(t *testing.T, registry string) *Client {
	t.Helper()
	c, err := New(t.Context(), env.Env{RegistryEnv: registry}, fastHTTP())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRegistrySources(t *testing.T) {
	orig := lookupRegistry
	t.Cleanup(func() { lookupRegistry = orig })
	calls := 0
	lookupRegistry = func(ctx context.Context, e env.Env) (string, error) {
		calls++
		return "https://npm.example.test/sub", nil
	}
	e := env.Env{"HOME": "/home/unique-for-this-test"}
	c, err := New(t.Context(), e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry() != "https://npm.example.test/sub/" || c.Audience() != "npm:npm.example.test" {
		t.Errorf("Registry=%q Audience=%q", c.Registry(), c.Audience())
	}
	if _, err := New(t.Context(), e, nil); err != nil || calls != 1 {
		t.Errorf("npm config should be asked once per configuration, calls=%d err=%v", calls, err)
	}
	// The override wins and an empty override counts as unset.
	c, _ = New(t.Context(), env.Env{RegistryEnv: "http://127.0.0.1:4873", "HOME": "/home/unique-for-this-test"}, nil)
	if c.Registry() != "http://127.0.0.1:4873/" || c.Audience() != "npm:127.0.0.1" {
		t.Errorf("override: Registry=%q Audience=%q", c.Registry(), c.Audience())
	}

	lookupRegistry = func(ctx context.Context, e env.Env) (string, error) {
		return "", errors.New(`exec: "npm": executable file not found in $PATH`)
	}
	_, err = New(t.Context(), env.Env{"HOME": "/home/no-npm", RegistryEnv: ""}, nil)
	if diag.CodeOf(err) != CodeRegistryUnknown || !strings.Contains(diag.HintOf(err), RegistryEnv) {
		t.Fatalf("no npm: err=%v code=%s", err, diag.CodeOf(err))
	}
	_, err = New(t.Context(), env.Env{RegistryEnv: "registry.example"}, nil)
	if diag.CodeOf(err) != CodeRegistryUnknown {
		t.Fatalf("bad URL: err=%v", err)
	}
}

func TestReadsAgainstEmulator(t *testing.T) {
	srv := emulator(t, npmemu.Options{})
	if err := srv.CreatePackageVersion("left-pad", "alice", "1.3.0"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreatePackageVersion("@acme/cli", "alice", "2.0.0"); err != nil {
		t.Fatal(err)
	}
	c := client(t, srv.URL())
	ctx := t.Context()

	p, err := c.Packument(ctx, "left-pad")
	if err != nil || p == nil {
		t.Fatalf("Packument: %v %v", p, err)
	}
	if p.Name != "left-pad" || p.DistTags["latest"] != "1.3.0" || p.Versions["1.3.0"].Dist.Integrity != srv.Integrity("left-pad", "1.3.0") ||
		len(p.Maintainers) != 1 || p.Maintainers[0].Name != "alice" || p.Time["1.3.0"] == nil {
		t.Errorf("packument = %+v", p)
	}
	if !strings.HasPrefix(p.Versions["1.3.0"].Dist.Tarball, srv.URL()+"left-pad/-/left-pad-1.3.0.tgz") {
		t.Errorf("tarball URL = %s", p.Versions["1.3.0"].Dist.Tarball)
	}

	for _, tc := range []struct {
		name, version string
		exists        bool
	}{
		{"left-pad", "1.3.0", true},
		{"left-pad", "9.9.9", false},
		{"@acme/cli", "2.0.0", true},
		{"@acme/missing", "1.0.0", false},
		{"nope", "1.0.0", false},
	} {
		ok, integ, err := c.VersionExists(ctx, tc.name, tc.version)
		if err != nil || ok != tc.exists {
			t.Errorf("VersionExists(%s@%s) = %v, %v", tc.name, tc.version, ok, err)
		}
		if ok && integ != srv.Integrity(tc.name, tc.version) {
			t.Errorf("integrity of %s = %q", tc.name, integ)
		}
	}
	if ok, err := c.PackageExists(ctx, "nope"); ok || err != nil {
		t.Errorf("PackageExists(nope) = %v %v", ok, err)
	}
	if pub, err := c.Visibility(ctx, "@acme/cli"); !pub || err != nil {
		t.Errorf("Visibility = %v %v", pub, err)
	}
	srv.SetAccess("@acme/cli", "restricted")
	if ok, _ := c.PackageExists(ctx, "@acme/cli"); ok {
		t.Error("a restricted package must be invisible (404) without a maintainer token")
	}
	tok := npmemu.NewToken()
	srv.AddUser("alice", tok)
	c.ReadToken = tok
	if ok, _ := c.PackageExists(ctx, "@acme/cli"); !ok {
		t.Error("a maintainer's token must see the restricted package")
	}
	if pub, err := c.Visibility(ctx, "@acme/cli"); pub || err != nil {
		t.Errorf("Visibility(restricted) = %v %v", pub, err)
	}
}

func TestReadRetriesAndErrors(t *testing.T) {
	srv := emulator(t, npmemu.Options{})
	_ = srv.CreatePackageVersion("p", "alice", "1.0.0")
	c := client(t, srv.URL())

	srv.Faults.Add(fault.Rule{Method: "GET", PathPrefix: "/p", Status: 503, Count: 2})
	if ok, _, err := c.VersionExists(t.Context(), "p", "1.0.0"); !ok || err != nil {
		t.Fatalf("after two 503s: %v %v", ok, err)
	}
	srv.Faults.Add(fault.Rule{Method: "GET", PathPrefix: "/p", Status: 429, RetryAfter: "1"})
	if ok, _, err := c.VersionExists(t.Context(), "p", "1.0.0"); !ok || err != nil {
		t.Fatalf("after a 429: %v %v", ok, err)
	}
	srv.Faults.Add(fault.Rule{Method: "GET", PathPrefix: "/p", Status: 503, Count: 5})
	_, _, err := c.VersionExists(t.Context(), "p", "1.0.0")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 {
		t.Fatalf("persistent 503: %v", err)
	}
	srv.Faults.Clear()
	hits := srv.Faults.Hits()
	srv.Faults.Add(fault.Rule{Method: "GET", PathPrefix: "/p", Status: 403, Body: `{"error":"blocked"}`, Count: 3})
	_, _, err = c.VersionExists(t.Context(), "p", "1.0.0")
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Message != "blocked" || srv.Faults.Hits()-hits != 1 {
		t.Fatalf("403 must not be retried and must carry the registry's text: %v (hits %d)", err, srv.Faults.Hits()-hits)
	}
	srv.Faults.Clear()
	srv.Faults.Add(fault.Rule{Method: "GET", PathPrefix: "/p", Kind: fault.Drop, Count: 5})
	if _, _, err := c.VersionExists(t.Context(), "p", "1.0.0"); err == nil {
		t.Fatal("dropped connections must fail")
	}
	srv.Faults.Clear()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := c.VersionExists(ctx, "p", "1.0.0"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestWhoamiAndTokens(t *testing.T) {
	srv := emulator(t, npmemu.Options{TokensPerPage: 2})
	session := npmemu.NewToken()
	srv.AddUser("alice", session)
	var grans []string
	for i := 0; i < 5; i++ {
		g := npmemu.NewToken()
		grans = append(grans, g)
		srv.AddGranularToken(g, "alice", []string{"pkg-a"}, npmemu.PermReadWrite)
	}
	srv.AddGranularToken(npmemu.NewToken(), "bob", nil, "")
	c := client(t, srv.URL())
	ctx := t.Context()

	if u, err := c.Whoami(ctx, grans[0]); u != "alice" || err != nil {
		t.Errorf("Whoami = %q %v", u, err)
	}
	_, err := c.Whoami(ctx, "npm_unknownunknownunknownunknown000000")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Errorf("Whoami(unknown) = %v", err)
	}

	list, err := c.Tokens(ctx, session)
	if err != nil || len(list) != 5 {
		t.Fatalf("Tokens = %d entries, %v (want 5 over 3 pages)", len(list), err)
	}
	for _, g := range grans {
		n := 0
		for _, ti := range list {
			if ti.Matches(g) {
				n++
				if strings.Contains(ti.Token, g) || len(ti.Scopes) != 1 || ti.Scopes[0].Name != "pkg-a" || ti.Permissions[0].Action != "write" {
					t.Errorf("entry = %+v", ti)
				}
			}
		}
		if n != 1 {
			t.Errorf("token %s matched %d entries", npmemu.RedactToken(g), n)
		}
	}
	for _, ti := range list {
		if ti.Matches(session) {
			t.Error("session tokens are never listed")
		}
	}

	forbidden := emulator(t, npmemu.Options{TokenListForbidden: true})
	forbidden.AddUser("alice", session)
	_, err = client(t, forbidden.URL()).Tokens(ctx, session)
	if !errors.Is(err, ErrIntrospectionUnavailable) || !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("403 list = %v", err)
	}
	_, err = c.Tokens(ctx, "npm_unknownunknownunknownunknown000000")
	if !errors.Is(err, ErrIntrospectionUnavailable) {
		t.Errorf("401 list = %v", err)
	}
}

func TestTokensRefusesOffHostNext(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"objects":[],"total":3,"urls":{"next":"http://evil.example/-/npm/v1/tokens?page=1"}}`))
	}))
	t.Cleanup(ts.Close)
	_, err := client(t, ts.URL).Tokens(t.Context(), "npm_x")
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("err = %v", err)
	}
}

func TestExchangeOIDC(t *testing.T) {
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	srv := emulator(t, npmemu.Options{Verifier: iss})
	for _, n := range []string{"@acme/cli", "plain"} {
		_ = srv.CreatePackage(n, "alice")
		_ = srv.AddTrustedPublisher(n, npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml", Environment: "release"})
	}
	c := client(t, srv.URL())
	if c.Audience() != srv.Audience() {
		t.Fatalf("client audience %q != emulator %q", c.Audience(), srv.Audience())
	}
	t.Cleanup(secret.Reset)

	for _, name := range []string{"@acme/cli", "plain"} {
		id, _ := iss.Mint(c.Audience())
		tok, err := c.ExchangeOIDC(t.Context(), name, id)
		if err != nil || !strings.HasPrefix(tok, "npm_") || len(tok) != 40 {
			t.Fatalf("ExchangeOIDC(%s) = %q, %v", name, tok, err)
		}
		if secret.Redact(tok) != secret.Mask {
			t.Error("minted token not registered for redaction")
		}
		info, ok := srv.Token(tok)
		if !ok || info.Kind != npmemu.KindOIDC || len(info.Packages) != 1 || info.Packages[0] != name {
			t.Errorf("minted token = %+v", info)
		}
	}

	refusals := []struct {
		name   string
		pkg    string
		mutate func()
		status int
		msg    string
	}{
		{"renamed workflow", "plain", func() { id := oidc.DefaultIdentity(); id.WorkflowFile = "patch-release.yml"; iss.SetIdentity(id) }, 404, "OIDC token exchange error - package not found"},
		{"case differs", "plain", func() { id := oidc.DefaultIdentity(); id.Repository = "Octo-Org/octo-repo"; iss.SetIdentity(id) }, 404, "OIDC token exchange error - package not found"},
		{"environment differs", "plain", func() { id := oidc.DefaultIdentity(); id.Environment = "staging"; iss.SetIdentity(id) }, 404, "OIDC token exchange error - package not found"},
		{"unknown package", "never-published", func() { iss.SetIdentity(oidc.DefaultIdentity()) }, 404, "OIDC token exchange error - package not found"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			r.mutate()
			id, _ := iss.Mint(c.Audience())
			_, err := c.ExchangeOIDC(t.Context(), r.pkg, id)
			var ae *APIError
			if diag.CodeOf(err) != CodeTrustRefused || !errors.As(err, &ae) || ae.Status != r.status || ae.Message != r.msg {
				t.Fatalf("err = %v (code %s)", err, diag.CodeOf(err))
			}
			if strings.Contains(err.Error(), id) {
				t.Fatal("the ID token leaked into the error")
			}
		})
	}

	// The reusable-workflow rule: npm matches the caller (workflow_ref), so a
	// job in another repository's reusable workflow still matches.
	id := oidc.DefaultIdentity()
	id.JobWorkflowRepo, id.JobWorkflowFile = "acme/tools", "shared-release.yml"
	iss.SetIdentity(id)
	jwt, _ := iss.Mint(c.Audience())
	if _, err := c.ExchangeOIDC(t.Context(), "plain", jwt); err != nil {
		t.Errorf("reusable workflow called from release.yml: %v", err)
	}

	// Wrong audience → 401 unauthorized.
	wrongAud, _ := iss.Mint("npm:registry.example")
	_, err = c.ExchangeOIDC(t.Context(), "plain", wrongAud)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Message != "OIDC token exchange error - unauthorized" {
		t.Errorf("wrong audience: %v", err)
	}
}

// The exchange goes to /-/npm/v1/... at the registry's root, as npm's
// new URL('/-/…', registry) does, with npm's headers.
func TestExchangeRequestShape(t *testing.T) {
	var got *http.Request
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"token":"npm_abcdefghijklmnopqrstuvwxyz0123456789"}`))
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(secret.Reset)
	c, err := New(t.Context(), env.Env{RegistryEnv: ts.URL + "/some/prefix/", "GITHUB_ACTIONS": "true"}, fastHTTP())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExchangeOIDC(t.Context(), "@s/p", "header.payload.sig"); err != nil {
		t.Fatal(err)
	}
	if got.URL.EscapedPath() != "/-/npm/v1/oidc/token/exchange/package/@s%2fp" || got.Method != "POST" {
		t.Errorf("request = %s %s", got.Method, got.URL.EscapedPath())
	}
	ua := got.Header.Get("User-Agent")
	if !strings.HasPrefix(ua, "npm/") || !strings.Contains(ua, " node/v") || !strings.HasSuffix(ua, "workspaces/false ci/github-actions") {
		t.Errorf("User-Agent = %q", ua)
	}
	if got.Header.Get("Authorization") != "Bearer header.payload.sig" || got.Header.Get("npm-command") != "publish" || got.Header.Get("npm-session") == "" {
		t.Errorf("headers = %v", got.Header)
	}
	if got.ContentLength > 0 {
		t.Error("the exchange has no body")
	}
}

// Without the override the registry comes from npm's own configuration, so a
// user's .npmrc is respected.
func TestNewAsksNPM(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	home := t.TempDir()
	rc := filepath.Join(home, ".npmrc")
	if err := os.WriteFile(rc, []byte("registry=http://127.0.0.1:9/from-npmrc/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(t.Context(), env.Env{"HOME": home, "npm_config_userconfig": rc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry() != "http://127.0.0.1:9/from-npmrc/" {
		t.Errorf("Registry = %q", c.Registry())
	}
}
