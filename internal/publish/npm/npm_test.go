package npm

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/family"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

type fakeClient struct{ exchangeErr error }

func (f *fakeClient) Registry() string { return "http://127.0.0.1:9/reg/" }
func (f *fakeClient) Audience() string { return "npm:127.0.0.1" }
func (f *fakeClient) VersionExists(context.Context, string, string) (bool, string, error) {
	return false, "", nil
}
func (f *fakeClient) Packument(context.Context, string) (*npmreg.Packument, error) {
	return &npmreg.Packument{DistTags: map[string]string{"latest": "1.9.0"}}, nil
}
func (f *fakeClient) PackageExists(context.Context, string) (bool, error) { return true, nil }
func (f *fakeClient) ExchangeOIDC(_ context.Context, name, idt string) (string, error) {
	if f.exchangeErr != nil {
		return "", f.exchangeErr
	}
	return "npm_minted_token_0123456789", nil
}

func setup(t *testing.T, e env.Env) (publish.Job, string) {
	root := t.TempDir()
	art := filepath.Join(root, "artifacts", "js-pkg")
	os.MkdirAll(art, 0o755)
	os.WriteFile(filepath.Join(art, "package.json"), []byte(`{"name":"@s/js","version":"0.0.0"}`), 0o644)
	pkg := &config.Package{Name: "js", Kind: "npm", NPM: "@s/js", Path: "js", Tag: "next"}
	j := publish.Job{Package: pkg, Release: plan.Release{Name: "js", Version: "2.0.0"}, Root: root, Env: e, Auth: auth.Resolve("npm", e),
		Rows: []plan.Row{{Name: "js", Kind: "npm", Target: "noarch", ArtifactName: "js-pkg"}}}
	return j, art
}

func TestOIDCPublishTokenInUserconfigOnly(t *testing.T) {
	e := env.Env{"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "http://x/?a=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "reqtok-abcdef",
		"GITHUB_TOKEN": "ghs_canary_canary", "GITHUB_REPOSITORY": "o/r", "NODE_AUTH_TOKEN": "npm_fallback_canary", "PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "aws-canary"}
	j, art := setup(t, e)
	var rcSeen, rcMode string
	fr := &run.Fake{Base: e, Handler: func(c run.Cmd) (run.Result, error) {
		for _, kv := range c.Env {
			if p, ok := strings.CutPrefix(kv, "NPM_CONFIG_USERCONFIG="); ok {
				b, _ := os.ReadFile(p)
				fi, _ := os.Stat(p)
				rcSeen, rcMode = string(b), fi.Mode().Perm().String()
			}
		}
		return run.Result{}, nil
	}}
	var written []string
	h := &Handler{Client: &fakeClient{}, Runner: fr, TempDir: t.TempDir(),
		IDToken:    func(context.Context, string) (string, error) { return "a.b.c", nil },
		SetVersion: func(kind, dir, v string) error { written = append(written, dir+"@"+v); return nil }}
	c, err := h.Authorize(t.Context(), j)
	if err != nil || c.Token != "npm_minted_token_0123456789" {
		t.Fatalf("c = %+v err = %v", c, err)
	}
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	call := fr.Calls()[0]
	want := []string{"publish", art, "--access", "public", "--tag", "next", "--registry", "http://127.0.0.1:9/reg/", "--fetch-retries=0", "--provenance"}
	if !slices.Equal(call.Args, want) {
		t.Errorf("args = %q", call.Args)
	}
	if rcSeen != "registry=http://127.0.0.1:9/reg/\n//127.0.0.1:9/reg/:_authToken=${PUTITOUTTHERE_NPM_AUTH_TOKEN}\n" || rcMode != "-rw-------" {
		t.Errorf("userconfig = %q %s", rcSeen, rcMode)
	}
	joined := strings.Join(call.Environ, "\n")
	// The minted token reaches npm only as PUTITOUTTHERE_NPM_AUTH_TOKEN (the userconfig
	// references it), never in argv or a file.
	if strings.Count(joined, "npm_minted") != 1 || !strings.Contains(joined, TokenEnv+"=npm_minted_token_0123456789") {
		t.Errorf("the minted token is not passed as %s only: %s", TokenEnv, joined)
	}
	if strings.Contains(strings.Join(call.Args, " "), "npm_minted") {
		t.Errorf("the minted token reached npm's argv")
	}
	for _, bad := range []string{"ghs_canary", "npm_fallback_canary", "aws-canary"} {
		if strings.Contains(joined, bad) || strings.Contains(strings.Join(call.Args, " "), bad) {
			t.Errorf("%s reached npm's argv/env", bad)
		}
	}
	if !strings.Contains(joined, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=reqtok-abcdef") || !strings.Contains(joined, "GITHUB_REPOSITORY=o/r") {
		t.Errorf("provenance variables missing: %s", joined)
	}
	for _, kv := range call.Env {
		if p, ok := strings.CutPrefix(kv, "NPM_CONFIG_USERCONFIG="); ok {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("userconfig %s left behind", p)
			}
		}
	}
	if !slices.Equal(written, []string{art + "@2.0.0"}) {
		t.Errorf("version written = %q", written)
	}
}

func TestRefusalSaysWhyTokenNotUsed(t *testing.T) {
	e := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://x/?a=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "reqtok-abcdef", "NPM_TOKEN": "npm_tok_123456"}
	j, _ := setup(t, e)
	h := &Handler{Client: &fakeClient{exchangeErr: diag.New(npmreg.CodeTrustRefused, "npm refused the trusted-publishing token exchange for @s/js: HTTP 404: OIDC token exchange error - package not found")},
		Runner: &run.Fake{}, IDToken: func(context.Context, string) (string, error) { return "x.eyJyZXBvc2l0b3J5IjoibyJ9.y", nil }}
	_, err := h.Authorize(t.Context(), j)
	if diag.CodeOf(err) != npmreg.CodeTrustRefused {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"package not found", "presented repository: o", "NPM_TOKEN is set but not used", "npmjs.com/package/@s/js/access"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %s", want, err)
		}
	}
}

func TestPublishFailureParsed(t *testing.T) {
	e := env.Env{"NODE_AUTH_TOKEN": "npm_tok_123456"}
	j, _ := setup(t, e)
	fr := &run.Fake{Handler: func(c run.Cmd) (run.Result, error) {
		return run.Result{Stderr: "npm error code E403\nnpm error 403 403 Forbidden - PUT http://127.0.0.1:9/reg/@s%2fjs - You cannot publish over the previously published versions: 2.0.0.\n", ExitCode: 1}, nil
	}}
	h := &Handler{Client: &fakeClient{}, Runner: fr, TempDir: t.TempDir()}
	c, _ := h.Authorize(t.Context(), j)
	err := h.Publish(t.Context(), j, c)
	if diag.CodeOf(err) != npmreg.CodePublishOver {
		t.Errorf("err = %v (%s)", err, diag.CodeOf(err))
	}
	if slices.Contains(fr.Calls()[0].Args, "--provenance") {
		t.Error("provenance without OIDC")
	}
	if ps := h.DryRun(t.Context(), j); len(ps) != 1 || !strings.Contains(ps[0], "E403") {
		t.Errorf("dry run = %q", ps)
	}
}

func TestFamilyMembersFirstTopLevelLast(t *testing.T) {
	e := env.Env{"NPM_TOKEN": "npm_tok_123456"}
	j, art := setup(t, e)
	j.Package.Build = config.BuildBundledCLI
	j.Package.Targets = []config.Target{{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "aarch64-apple-darwin"}}
	members, err := family.Members(j.Package)
	if err != nil {
		t.Fatal(err)
	}
	j.Rows = nil
	for _, m := range members {
		dir := filepath.Join(j.Root, "artifacts", m.Artifact)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "js"), family.StandIn(m, config.BuildBundledCLI), 0o755)
		j.Rows = append(j.Rows, plan.Row{Name: "js", Kind: "npm", Target: m.Triple, ArtifactName: m.Artifact, Build: config.BuildBundledCLI})
	}
	j.Rows = append(j.Rows, plan.Row{Name: "js", Kind: "npm", Target: "main", ArtifactName: "js-pkg", Build: config.BuildBundledCLI})
	os.WriteFile(filepath.Join(art, "package.json"), []byte(`{"name":"@s/js","version":"0.0.0","bin":{"js":"bin/js.js"},"license":"MIT"}`), 0o644)
	if gaps := artifacts.Check(j.Root, j.Rows); len(gaps) != 0 {
		t.Fatalf("gaps = %v", gaps)
	}
	var order []string
	staged := map[string]string{}
	fr := &run.Fake{Handler: func(c run.Cmd) (run.Result, error) {
		b, _ := os.ReadFile(filepath.Join(c.Args[1], "package.json"))
		var pj map[string]any
		json.Unmarshal(b, &pj)
		order = append(order, pj["name"].(string))
		staged[pj["name"].(string)] = string(b)
		if !slices.Contains(c.Args, "--ignore-scripts") {
			t.Errorf("a family member or its top-level package was published with its lifecycle scripts: %v", c.Args)
		}
		return run.Result{}, nil
	}}
	h := &Handler{Client: &fakeClient{}, Runner: fr, TempDir: t.TempDir(),
		SetVersion: func(kind, dir, v string) error { _, err := manifest.SetVersion(kind, dir, v); return err }}
	c, err := h.Authorize(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	want := []string{"@s/js-x86_64-unknown-linux-gnu", "@s/js-aarch64-apple-darwin", "@s/js"}
	if !slices.Equal(order, want) {
		t.Errorf("order = %v", order)
	}
	if m := staged["@s/js-x86_64-unknown-linux-gnu"]; !strings.Contains(m, `"libc": [`) || !strings.Contains(m, `"license": "MIT"`) || !strings.Contains(m, `"version": "2.0.0"`) {
		t.Errorf("member = %s", m)
	}
	if top := staged["@s/js"]; !strings.Contains(top, `"@s/js-aarch64-apple-darwin": "2.0.0"`) || !strings.Contains(top, `"version":"2.0.0"`) {
		t.Errorf("top = %s", top)
	}
	if b, err := os.ReadFile(filepath.Join(art, "bin", "js.js")); err != nil || !strings.Contains(string(b), "linux-x64-gnu") {
		t.Errorf("launcher = %s %v", b, err)
	}
	// A wrong-platform payload is caught by the completeness check.
	os.WriteFile(filepath.Join(j.Root, "artifacts", members[0].Artifact, "js"), family.StandIn(members[1], config.BuildBundledCLI), 0o755)
	if gaps := artifacts.Check(j.Root, j.Rows); len(gaps) != 1 {
		t.Errorf("gaps = %v", gaps)
	}
}

func TestPrivateRepoPublishesWithoutProvenance(t *testing.T) {
	e := env.Env{"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "http://x/?a=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "reqtok-abcdef"}
	j, _ := setup(t, e)
	fr := &run.Fake{}
	// {"repository":"o/r","repository_visibility":"private"}
	idt := "h.eyJyZXBvc2l0b3J5Ijoiby9yIiwicmVwb3NpdG9yeV92aXNpYmlsaXR5IjoicHJpdmF0ZSJ9.s"
	h := &Handler{Client: &fakeClient{}, Runner: fr, TempDir: t.TempDir(), IDToken: func(context.Context, string) (string, error) { return idt, nil }}
	c, err := h.Authorize(t.Context(), j)
	if err != nil || !c.NoProvenance || !strings.Contains(c.Note, "private") {
		t.Fatalf("c = %+v, %v", c, err)
	}
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(fr.Calls()[0].Args, "--provenance") {
		t.Error("provenance requested for a private repository")
	}
}

func TestRetryableFailureRetriedUnlessLanded(t *testing.T) {
	j, _ := setup(t, env.Env{"NODE_AUTH_TOKEN": "npm_tok_123456"})
	calls := 0
	fr := &run.Fake{Handler: func(c run.Cmd) (run.Result, error) {
		calls++
		if calls == 1 {
			return run.Result{Stderr: "npm error code E503\nnpm error 503 Service Unavailable - PUT http://127.0.0.1:9/reg/@s%2fjs - unavailable\n", ExitCode: 1}, nil
		}
		return run.Result{}, nil
	}}
	var waits []time.Duration
	h := &Handler{Client: &fakeClient{}, Runner: fr, TempDir: t.TempDir(), Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	c, _ := h.Authorize(t.Context(), j)
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(waits) != 1 {
		t.Errorf("calls = %d waits = %v", calls, waits)
	}
	// A 4xx is never retried.
	calls = 0
	fr.Handler = func(c run.Cmd) (run.Result, error) {
		calls++
		return run.Result{Stderr: "npm error code E404\nnpm error 404 Not Found - PUT http://127.0.0.1:9/reg/@s%2fjs - Not found\n", ExitCode: 1}, nil
	}
	if err := h.Publish(t.Context(), j, c); err == nil || calls != 1 {
		t.Errorf("err = %v calls = %d", err, calls)
	}
}
