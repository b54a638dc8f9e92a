package crates

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

type fakeClient struct {
	exchangeErr error
	revoked     []string
	gotJWT      string
}

func (f *fakeClient) VersionExists(context.Context, string, string) (bool, error) { return false, nil }
func (f *fakeClient) CrateExists(context.Context, string) (bool, error)           { return true, nil }
func (f *fakeClient) ExchangeToken(_ context.Context, jwt string) (string, error) {
	f.gotJWT = jwt
	if f.exchangeErr != nil {
		return "", f.exchangeErr
	}
	return "cio_tp_exchanged000000000000000000000", nil
}
func (f *fakeClient) RevokeToken(_ context.Context, tok string) error {
	f.revoked = append(f.revoked, tok)
	return nil
}
func (f *fakeClient) PublishArgs() []string { return []string{"--registry", "piot"} }
func (f *fakeClient) PublishEnv(tok string) []string {
	return []string{"CARGO_REGISTRIES_PIOT_INDEX=sparse+http://x/index/", "CARGO_REGISTRIES_PIOT_TOKEN=" + tok}
}
func (f *fakeClient) CrateURL(n, v string) string { return "http://x/crates/" + n + "/" + v }
func (f *fakeClient) BaseURL() string             { return "http://x" }

func job(e env.Env) publish.Job {
	pkg := &config.Package{Name: "core", Kind: "crates", Path: "crates/core", Features: []string{"a", "b"}, NoDefaultFeatures: true}
	return publish.Job{Package: pkg, Release: plan.Release{Name: "core", Version: "1.2.3"}, Root: "/repo", Auth: auth.Resolve("crates", e), Env: e}
}

func TestTokenPublishArgvAndEnv(t *testing.T) {
	fc := &fakeClient{}
	fr := &run.Fake{Base: env.Env{"PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "canary"}}
	h := &Handler{Client: fc, Runner: fr}
	e := env.Env{"CARGO_REGISTRY_TOKEN": "cio-user-token-0001", "ACTIONS_ID_TOKEN_REQUEST_URL": "x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "y"}
	j := job(e)
	c, err := h.Authorize(t.Context(), j)
	if err != nil || c.Token != "cio-user-token-0001" || c.Revoke != nil {
		t.Fatalf("c = %+v, %v", c, err)
	}
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	call := fr.Calls()[0]
	wantArgs := []string{"publish", "--allow-dirty", "--color", "never", "--features", "a,b", "--no-default-features", "--registry", "piot"}
	if call.Name != "cargo" || call.Dir != "/repo/crates/core" || !slices.Equal(call.Args, wantArgs) {
		t.Errorf("call = %+v", call.Cmd)
	}
	wantEnv := []string{"CARGO_REGISTRIES_PIOT_INDEX=sparse+http://x/index/", "CARGO_REGISTRIES_PIOT_TOKEN=cio-user-token-0001", "CARGO_TERM_COLOR=never", "PATH=/bin"}
	if !slices.Equal(call.Environ, wantEnv) {
		t.Errorf("environ = %q", call.Environ)
	}
	if strings.Contains(strings.Join(call.Args, " "), "cio-user-token") {
		t.Error("token in argv")
	}
}

func TestOIDCExchangeAndRefusal(t *testing.T) {
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	e := env.Env(is.Env())
	fc := &fakeClient{}
	var masked []string
	h := &Handler{Client: fc, Runner: &run.Fake{}, IDToken: func(ctx context.Context, aud string) (string, error) {
		return auth.FetchIDToken(ctx, nil, e, aud)
	}, Mask: func(s string) { masked = append(masked, s) }}
	j := job(e)
	if j.Auth.Method != auth.MethodOIDC {
		t.Fatalf("auth = %v", j.Auth)
	}
	c, err := h.Authorize(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "cio_tp_exchanged000000000000000000000" || len(masked) != 2 {
		t.Errorf("c = %+v masked = %d", c, len(masked))
	}
	claims, _ := auth.DecodeClaims(fc.gotJWT)
	if claims["aud"] != "crates.io" {
		t.Errorf("aud = %v", claims["aud"])
	}
	if err := c.Revoke(t.Context()); err != nil || len(fc.revoked) != 1 {
		t.Errorf("revoke: %v %v", err, fc.revoked)
	}

	fc.exchangeErr = diag.New(cratesio.CodeTrustRefused, "crates.io refused the trusted-publishing token exchange (HTTP 400): The Trusted Publishing config for repository `octo-org/octo-repo` does not match the workflow filename `release.yml` in the JWT. Expected workflow filenames: `patch-release.yml`").
		WithHint("compare the claims above with the crate's trusted publisher at http://x/crates/<name>/settings (repository, …)")
	_, err = h.Authorize(t.Context(), j)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != cratesio.CodeTrustRefused {
		t.Fatalf("err = %v", err)
	}
	if h := diag.HintOf(err); !strings.Contains(h, "http://x/crates/core/settings") {
		t.Errorf("hint does not name the crate's page: %q", h)
	}
	all := err.Error()
	for _, want := range []string{"Expected workflow filenames", "presented repository: octo-org/octo-repo", "workflow file (from workflow_ref): release.yml", "presented environment: release", "compare with: http://x/crates/core/settings", "token fallback: CARGO_REGISTRY_TOKEN is not set"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
}

func TestPublishFailureKeepsCargoWords(t *testing.T) {
	fr := &run.Fake{Handler: func(c run.Cmd) (run.Result, error) {
		return run.Result{Stderr: "error: failed to publish to registry\nCaused by: the remote server responded with an error (status 403 Forbidden): Trusted Publishing tokens do not support creating new crates. Publish the crate manually, first", ExitCode: 101}, nil
	}}
	h := &Handler{Client: &fakeClient{}, Runner: fr}
	j := job(env.Env{"CARGO_REGISTRY_TOKEN": "tok-abcdef"})
	err := h.Publish(t.Context(), j, &publish.Credential{Token: "tok-abcdef"})
	if diag.CodeOf(err) != CodePublishFailed || !strings.Contains(err.Error(), "do not support creating new crates") || !strings.Contains(diag.HintOf(err), "publish it once") {
		t.Errorf("err = %v / %s", err, diag.HintOf(err))
	}
	if ps := h.DryRun(t.Context(), j); len(ps) != 1 {
		t.Errorf("dry run problems = %q", ps)
	}
	last := fr.Calls()[1]
	if !slices.Contains(last.Args, "--dry-run") || slices.ContainsFunc(last.Environ, func(s string) bool { return strings.HasSuffix(s, "_TOKEN=") }) {
		t.Errorf("dry run call = %+v", last)
	}
}

func TestRateLimitPaced(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	calls := 0
	fr := &run.Fake{Handler: func(c run.Cmd) (run.Result, error) {
		calls++
		if calls == 1 {
			return run.Result{Stderr: "error: failed to publish to registry at http://x\n\nCaused by:\n  the remote server responded with an error (status 429 Too Many Requests): You have published too many new crates in a short period of time. Please try again after Sun, 29 Nov 2026 12:03:00 GMT and see https://crates.io/docs/rate-limits for more details.", ExitCode: 101}, nil
		}
		return run.Result{}, nil
	}}
	var waited time.Duration
	h := &Handler{Client: &fakeClient{}, Runner: fr, Now: func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { waited += d; return nil }}
	j := job(env.Env{"CARGO_REGISTRY_TOKEN": "tok-abcdef"})
	if err := h.Publish(t.Context(), j, &publish.Credential{Token: "tok-abcdef"}); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || waited != 3*time.Minute {
		t.Errorf("calls = %d waited = %s", calls, waited)
	}
	// A wait beyond the cap fails with cargo's words instead of hanging.
	calls = 0
	h.MaxRateWait = time.Minute
	if err := h.Publish(t.Context(), j, &publish.Credential{Token: "tok-abcdef"}); err == nil || !strings.Contains(diag.HintOf(err), "rate-limited") {
		t.Errorf("err = %v", err)
	}
}

func (f *fakeClient) Upload(context.Context, string, []byte) ([]string, error) { return nil, nil }

func (f *fakeClient) IndexHasVersion(context.Context, string, string) (bool, error) { return true, nil }
