package cratesio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

var issuer *oidc.Issuer

func TestMain(m *testing.M) {
	var err error
	if issuer, err = oidc.Start(); err != nil {
		panic(err)
	}
	m.Run()
	issuer.Close()
}

func setup(t *testing.T) (*crates.Server, *Client) {
	t.Helper()
	issuer.SetIdentity(oidc.DefaultIdentity())
	s, err := crates.Start(crates.Options{Verifier: issuer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	h := &httpx.Client{HTTP: &http.Client{}, Policy: httpx.Policy{Attempts: 3, BaseDelay: time.Millisecond, PerRequest: 5 * time.Second},
		Sleep: func(ctx context.Context, d time.Duration) error { return nil }}
	return s, New(env.Env{EnvURL: s.URL() + "/"}, h)
}

func TestDefaultsAndCargoContract(t *testing.T) {
	c := New(env.Env{EnvURL: ""}, nil)
	if c.BaseURL() != "https://crates.io" || c.Overridden() || c.IndexURL() != "sparse+https://index.crates.io/" {
		t.Fatalf("defaults: %s %v %s", c.BaseURL(), c.Overridden(), c.IndexURL())
	}
	if c.PublishArgs() != nil || !reflect.DeepEqual(c.PublishEnv("tok"), []string{"CARGO_REGISTRY_TOKEN=tok"}) {
		t.Fatalf("default contract: %v %v", c.PublishArgs(), c.PublishEnv("tok"))
	}
	o := New(env.Env{EnvURL: "http://127.0.0.1:9/"}, nil)
	if o.BaseURL() != "http://127.0.0.1:9" || !o.Overridden() || o.IndexURL() != "sparse+http://127.0.0.1:9/index/" {
		t.Fatalf("override: %s %s", o.BaseURL(), o.IndexURL())
	}
	if want := []string{"--registry", "piot", "--config", `source.crates-io.replace-with="piot"`}; !reflect.DeepEqual(o.PublishArgs(), want) {
		t.Fatalf("args %v", o.PublishArgs())
	}
	if want := []string{"CARGO_REGISTRIES_PIOT_INDEX=sparse+http://127.0.0.1:9/index/", "CARGO_REGISTRIES_PIOT_TOKEN=tok", "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS=cargo:token"}; !reflect.DeepEqual(o.CargoEnv("tok"), want) {
		t.Fatalf("env %v", o.CargoEnv("tok"))
	}
	for _, a := range o.PublishArgs() {
		if strings.Contains(a, "tok") {
			t.Fatal("token in argv")
		}
	}
}

func TestLookups(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.AddVersion("my-crate", "1.0.0")
	for _, tc := range []struct {
		name, version string
		want          bool
	}{{"my-crate", "1.0.0", true}, {"my_crate", "1.0.0", true}, {"my-crate", "1.0.1", false}, {"nope", "1.0.0", false}} {
		got, err := c.VersionExists(ctx, tc.name, tc.version)
		if err != nil || got != tc.want {
			t.Fatalf("VersionExists(%s,%s) = %v, %v", tc.name, tc.version, got, err)
		}
	}
	if ok, err := c.CrateExists(ctx, "MY_CRATE"); err != nil || !ok {
		t.Fatalf("CrateExists = %v %v", ok, err)
	}
	if ok, err := c.CrateExists(ctx, "nope"); err != nil || ok {
		t.Fatalf("CrateExists(nope) = %v %v", ok, err)
	}
	// 5xx is retried, then reported as unreachable
	s.Faults.Add(fault.Rule{PathPrefix: "/api/v1/crates/", Status: 502, Count: 1})
	if ok, err := c.VersionExists(ctx, "my-crate", "1.0.0"); err != nil || !ok {
		t.Fatalf("after one 502: %v %v", ok, err)
	}
	s.Faults.Add(fault.Rule{PathPrefix: "/api/v1/crates/", Status: 503, Count: 5})
	_, err := c.VersionExists(ctx, "my-crate", "1.0.0")
	if diag.CodeOf(err) != CodeUnreachable {
		t.Fatalf("persistent 503: %v (%s)", err, diag.CodeOf(err))
	}
	s.Faults.Clear()
	s.Faults.Add(fault.Rule{PathPrefix: "/api/v1/crates/", Status: 403, Body: `{"errors":[{"detail":"nope"}]}`})
	_, err = c.CrateExists(ctx, "my-crate")
	var ae *APIError
	if diag.CodeOf(err) != CodeAPI || !errors.As(err, &ae) || ae.Status != 403 || ae.Detail != "nope" {
		t.Fatalf("403: %v", err)
	}
}

func TestExchangeAndRevoke(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.AddVersion("foo", "1.0.0")
	s.AddGitHubConfig("foo", crates.GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml", Environment: "release"})
	first, _ := issuer.Mint(Audience)
	tok, err := c.ExchangeToken(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "cio_tp_") || KindOf(tok) != KindTrustedPublishing {
		t.Fatalf("token shape %d", len(tok))
	}
	if secret.Redact("x "+tok) != "x "+secret.Mask {
		t.Fatal("minted token not registered for redaction")
	}
	if err := c.RevokeToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if m := s.MintedTokens(); len(m) != 1 || !m[0].Revoked {
		t.Fatalf("%+v", m)
	}
	if err := c.RevokeToken(ctx, tok); err != nil {
		t.Fatalf("second revoke must also succeed (204): %v", err)
	}
	if err := c.RevokeToken(ctx, "not-a-token"); diag.CodeOf(err) != CodeAPI {
		t.Fatalf("revoke garbage: %v", err)
	}

	// refused: renamed workflow
	id := oidc.DefaultIdentity()
	id.WorkflowFile = "patch-release.yml"
	issuer.SetIdentity(id)
	jwt, _ := issuer.Mint(Audience)
	_, err = c.ExchangeToken(ctx, jwt)
	var d *diag.Error
	var ae *APIError
	if !errors.As(err, &d) || d.Code != CodeTrustRefused || !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("refusal: %v", err)
	}
	want := "does not match the workflow filename `patch-release.yml` in the JWT. Expected workflow filenames: `release.yml`"
	if !strings.Contains(d.Msg, want) || !strings.Contains(ae.Detail, want) {
		t.Fatalf("msg %q", d.Msg)
	}
	joined := strings.Join(d.Details, "\n")
	for _, w := range []string{"repository: octo-org/octo-repo", "workflow file (from workflow_ref, the top-level workflow): patch-release.yml", "environment: release", "ref: refs/heads/main"} {
		if !strings.Contains(joined, w) {
			t.Fatalf("details missing %q:\n%s", w, joined)
		}
	}
	if strings.Contains(err.Error(), jwt) || d.Hint == "" {
		t.Fatal("JWT leaked into the error or no hint")
	}
	// replay of a JWT that was already exchanged
	_, err = c.ExchangeToken(ctx, first)
	if !errors.As(err, &ae) || ae.Detail != "JWT has already been used" || !errors.Is(err, ErrJWTReused) || diag.CodeOf(err) != CodeTrustRefused {
		t.Fatalf("replay: %v", err)
	}
	// an answer lost after the exchange landed: the retry sees the JWT used
	issuer.SetIdentity(oidc.DefaultIdentity())
	s.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/api/v1/trusted_publishing/tokens", Kind: fault.LandThenFail, Status: 502})
	lost, _ := issuer.Mint(Audience)
	if _, err := c.ExchangeToken(ctx, lost); !errors.Is(err, ErrJWTReused) {
		t.Fatalf("lost answer: %v", err)
	}
	// server down
	s.Faults.Add(fault.Rule{Kind: fault.Drop, Count: 10})
	jwt, _ = issuer.Mint(Audience)
	if _, err := c.ExchangeToken(ctx, jwt); diag.CodeOf(err) != CodeUnreachable {
		t.Fatalf("dropped: %v", err)
	}
}

func TestGitHubConfigs(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	const tok = "cioAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	s.AddAPIToken(tok)
	s.AddVersion("foo", "1.0.0")
	for i := 0; i < 23; i++ {
		s.AddGitHubConfig("foo", crates.GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: fmt.Sprintf("w%d.yml", i), Environment: "release"})
	}
	got, err := c.GitHubConfigs(ctx, tok, "foo")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 23 || got[22].WorkflowFilename != "w22.yml" || got[0].Env() != "release" || got[0].RepositoryOwnerID != 65 {
		t.Fatalf("got %d configs: %+v", len(got), got[0])
	}
	for _, tc := range []struct {
		token, crate, code string
		status             int
	}{
		{"cioZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "foo", CodeTokenRejected, 403},
		{"bogus", "foo", CodeTokenRejected, 401},
		{tok, "nope", CodeAPI, 404},
	} {
		_, err := c.GitHubConfigs(ctx, tc.token, tc.crate)
		var ae *APIError
		if diag.CodeOf(err) != tc.code || !errors.As(err, &ae) || ae.Status != tc.status {
			t.Fatalf("%s/%s: %v", tc.token, tc.crate, err)
		}
	}
	// a hung server is bounded by the caller's deadline
	s.Faults.Add(fault.Rule{Kind: fault.Hang, Count: 10})
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.GitHubConfigs(dctx, tok, "foo"); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("hang: %v after %v", err, time.Since(start))
	}
	s.Faults.Clear()
}

func TestProbeToken(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	legacy := crates.NewAPITokenString()
	scoped := crates.NewAPITokenString()
	revoked := crates.NewAPITokenString()
	s.AddAPIToken(legacy)
	s.AddAPIToken(scoped, "trusted-publishing", "crate:foo*")
	s.AddAPIToken(revoked)
	s.RevokeAPIToken(revoked)
	s.AddVersion("foo", "1.0.0")
	cases := []struct {
		token                       string
		kind                        TokenKind
		live, known, legacy, scoped bool
	}{
		{legacy, KindAPI, true, true, true, false},
		{scoped, KindAPI, true, true, false, true},
		{revoked, KindAPI, false, true, false, false},
		{"ghp_notcrates", KindUnknown, false, false, false, false},
		{crates.NewTPToken(), KindTrustedPublishing, false, true, false, false},
	}
	for i, tc := range cases {
		p, err := c.ProbeToken(ctx, tc.token)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if p.Kind != tc.kind || p.Live != tc.live || p.Known != tc.known || p.Legacy != tc.legacy || p.Scoped != tc.scoped || p.Summary == "" {
			t.Fatalf("%d: %+v", i, p)
		}
		if strings.Contains(p.Summary, tc.token) {
			t.Fatal("token in summary")
		}
	}
	for crate, want := range map[string]bool{"foo": true, "foo-extra": true, "bar": false} {
		got, err := c.CoversTrustedPublishing(ctx, scoped, crate)
		if err != nil || got != want {
			t.Fatalf("covers(%s) = %v %v", crate, got, err)
		}
	}
	s.Faults.Add(fault.Rule{Status: 500, Count: 10})
	if _, err := c.ProbeToken(ctx, legacy); diag.CodeOf(err) != CodeUnreachable {
		t.Fatalf("500: %v", err)
	}
}

func TestDetail(t *testing.T) {
	if got := Detail([]byte(`{"errors":[{"detail":"x y"}]}`)); got != "x y" {
		t.Fatal(got)
	}
	if got := Detail([]byte("  plain text\n")); got != "plain text" {
		t.Fatal(got)
	}
}

func TestIndexHasVersionAndAlreadyUploaded(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.AddVersion("serde", "1.0.0")
	s.SetIndexPaused(true)
	s.AddVersion("serde", "1.0.1") // seeded versions are indexed at once
	for v, want := range map[string]bool{"1.0.0": true, "1.0.1": true, "2.0.0": false} {
		if got, err := c.IndexHasVersion(ctx, "Serde", v); err != nil || got != want {
			t.Fatalf("%s: %v %v", v, got, err)
		}
	}
	if got, err := c.IndexHasVersion(ctx, "nope", "1.0.0"); err != nil || got {
		t.Fatalf("missing crate: %v %v", got, err)
	}
	s.Faults.Add(fault.Rule{PathPrefix: "/index/", Status: 500, Count: 10})
	if _, err := c.IndexHasVersion(ctx, "serde", "1.0.0"); diag.CodeOf(err) != CodeUnreachable {
		t.Fatalf("500: %v", err)
	}
	for text, want := range map[string]bool{
		"crate version `1.0.0` is already uploaded":                        true,
		"error: crate piot-alpha@0.1.0 already exists on `piot` index":     true,
		"error: crate foo@1.0.0 already exists on crates.io index":         true,
		"the remote server responded with an error: authentication failed": false,
	} {
		if AlreadyUploaded(text) != want {
			t.Fatalf("AlreadyUploaded(%q) != %v", text, want)
		}
	}
	if IndexPath("ab") != "2/ab" || IndexPath("Serde") != "se/rd/serde" || IndexPath("a") != "1/a" || IndexPath("abc") != "3/a/abc" {
		t.Fatal("IndexPath")
	}
}

func TestKindOfAndURLs(t *testing.T) {
	for tok, want := range map[string]TokenKind{
		"cio_tp_gGK6jurSwKyl9V3Az19z7YEFQI9aoOOd": KindTrustedPublishing,
		"cio" + strings.Repeat("a", 32):           KindAPI,
		"cio" + strings.Repeat("a", 31):           KindUnknown,
		"cio" + strings.Repeat("-", 32):           KindUnknown,
		"pypi-AgEI":                               KindUnknown,
	} {
		if got := KindOf(tok); got != want {
			t.Fatalf("KindOf(%q) = %s, want %s", tok, got, want)
		}
	}
	c := New(env.Env{}, nil)
	if got := c.CrateURL("serde", "1.0.0"); got != "https://crates.io/crates/serde/1.0.0" {
		t.Fatal(got)
	}
	if got := c.CrateURL("serde", ""); got != "https://crates.io/crates/serde" {
		t.Fatal(got)
	}
}

func TestOwners(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.CreateCrate("owned", "alice")
	s.AddOwner("owned", "bob")
	got, err := c.Owners(ctx, "OWNED")
	if err != nil || strings.Join(got, ",") != "alice,bob" {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := c.Owners(ctx, "nope"); err != nil || got != nil {
		t.Fatalf("missing: %v %v", got, err)
	}
}
