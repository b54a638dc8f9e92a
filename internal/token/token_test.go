package token

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/config"
	crates "github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/macaroon"
)

func init() {
	HTTPClient = func() *httpx.Client {
		c := httpx.New()
		c.Sleep = func(context.Context, time.Duration) error { return nil }
		return c
	}
}

func TestClassifyValue(t *testing.T) {
	for _, tc := range []struct{ v, reg string }{
		{"py" + "pi-AgEIcHlwaS5vcmc", PyPI},
		{"npm_" + strings.Repeat("a", 36), NPM},
		{"cio_tp_" + strings.Repeat("b", 32), Crates},
		{"cio" + strings.Repeat("c", 32), Crates},
		{"1f0e6d1c-3b5a-4c2d-9e8f-7a6b5c4d3e2f", NPM},
		{"ghp_abcdef", Unknown},
		{"", Unknown},
	} {
		if got := ClassifyValue(tc.v).Registry; got != tc.reg {
			t.Errorf("ClassifyValue(%.10q) = %s, want %s", tc.v, got, tc.reg)
		}
	}
	if ClassifyValue("cio_tp_"+strings.Repeat("b", 32)).Kind != "trusted-publishing token" {
		t.Error("cio_tp_ must be tested before cio")
	}
}

func TestFingerprint(t *testing.T) {
	// sha256("abc") = ba7816bf...
	if got := Fingerprint("abc"); got != "sha256:ba7816bf" {
		t.Fatalf("got %s", got)
	}
}

func TestScanEnv(t *testing.T) {
	e := env.Env{
		"CARGO_REGISTRY_TOKEN":  "cio" + strings.Repeat("x", 32),
		"PYPI_TOKEN":            "",
		"NPM_TOKEN":             "py" + "pi-" + strings.Repeat("A", 90), // wrong name: the value decides
		"CARGO_HOME":            "/home/u/.cargo",
		"CARGO_TERM_COLOR":      "always",
		"NPM_CONFIG_USERCONFIG": "/x/.npmrc",
		"TWINE_USERNAME":        "__token__",
		"PYPI_UPLOAD_PASSWORD":  "hunter2hunter2",
		"GITHUB_TOKEN":          "ghs_notaregistrytoken",
	}
	got := ScanEnv(e)
	var names []string
	for _, c := range got {
		names = append(names, c.Name+":"+c.Registry)
	}
	want := "CARGO_REGISTRY_TOKEN:crates NPM_TOKEN:pypi PYPI_TOKEN:pypi PYPI_UPLOAD_PASSWORD:pypi"
	if strings.Join(names, " ") != want {
		t.Fatalf("got %v, want %s", names, want)
	}
	for _, c := range got {
		switch c.Name {
		case "PYPI_TOKEN":
			if c.Set || c.Details != "unset (empty value)" || c.Fingerprint != "" {
				t.Errorf("empty var: %+v", c)
			}
		case "NPM_TOKEN":
			if !strings.Contains(c.Details, "value is a pypi token") {
				t.Errorf("mismatch not noted: %+v", c)
			}
		}
	}
}

func TestSecretRow(t *testing.T) {
	for name, want := range map[string]bool{"NPM_TOKEN": true, "PYPI_PROD": true, "CARGO_X": true, "TWINE_PASSWORD": true, "NODE_AUTH_TOKEN": true, "SLACK_WEBHOOK": false, "GH_PAT": false} {
		if _, ok := SecretRow(name, "o/r", ""); ok != want {
			t.Errorf("%s: %v", name, ok)
		}
	}
	c, _ := SecretRow("PYPI_API_TOKEN", "o/r", "production")
	if c.Source != SourceEnvSecret || c.Details != "environment secret (production)" {
		t.Fatalf("%+v", c)
	}
}

func pypiToken(caveats ...[]byte) string {
	return macaroon.New("pypi.org", []byte(`{"version": 1, "permissions": "user"}`), []byte("root-key-0123456789"), caveats...).Token()
}

func TestInspectPyPI(t *testing.T) {
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	Now = func() time.Time { return now }
	defer func() { Now = time.Now }()
	ctx := context.Background()
	pkgs := []string{"my_lib", "other"}

	scoped := pypiToken(macaroon.ProjectNames("my-lib"), macaroon.Expiration(now.Add(time.Hour).Unix(), now.Add(-time.Hour).Unix()))
	r, err := InspectValue(ctx, env.Env{}, scoped, "", pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != macaroon.KindProjectScoped || r.State != StateValid || r.ExpiresAt == nil {
		t.Fatalf("%+v", r)
	}
	if r.Packages[0].CanPublish != Yes || r.Packages[1].CanPublish != No {
		t.Fatalf("verdicts %+v", r.Packages)
	}

	expired := pypiToken(macaroon.ProjectNames("my-lib"), macaroon.Expiration(now.Add(-time.Minute).Unix(), now.Add(-time.Hour).Unix()))
	r, _ = InspectValue(ctx, env.Env{}, expired, "", pkgs)
	if r.State != StateInvalid || r.Packages[0].CanPublish != No || !strings.Contains(r.Packages[0].Why, "expired") {
		t.Fatalf("expired: %+v", r)
	}

	user := pypiToken(macaroon.RequestUser("7c2f7a6e-6a57-4b4c-a7d9-1f0e6d1c3b5a"))
	r, _ = InspectValue(ctx, env.Env{}, user, "", pkgs)
	if r.Kind != macaroon.KindUserWide || r.Packages[0].CanPublish != Undecided {
		t.Fatalf("user-wide: %+v", r)
	}

	r, _ = InspectValue(ctx, env.Env{}, "py"+"pi-!!!notbase64", "", pkgs)
	if r.State != StateInvalid || r.Packages[0].CanPublish != No {
		t.Fatalf("malformed: %+v", r)
	}
	for _, tok := range []string{scoped, expired, user} {
		if strings.Contains(strings.Join(r.Summary, " "), tok) {
			t.Fatal("token in report")
		}
	}
}

func TestInspectUnknownRegistry(t *testing.T) {
	if _, err := InspectValue(context.Background(), env.Env{}, "ghp_whatever", "", nil); !errors.Is(err, ErrUnknownRegistry) {
		t.Fatalf("err = %v", err)
	}
}

func TestInspectNPM(t *testing.T) {
	s, err := npmemu.Start(npmemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := env.Env{"PUTITOUTTHERE_NPM_REGISTRY": s.URL()}
	ctx := context.Background()
	if err := s.CreatePackage("my-pkg", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePackage("bobs-pkg", "bob"); err != nil {
		t.Fatal(err)
	}
	tok := "npm_" + strings.Repeat("Q", 32) + "abcd"
	s.AddGranularToken(tok, "alice", []string{"my-pkg"}, "")
	r, err := InspectValue(ctx, e, tok, "", []string{"my-pkg", "bobs-pkg", "new-pkg"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateValid || r.Owner != "alice" || r.Kind != "granular" {
		t.Fatalf("%+v", r)
	}
	got := map[string]string{}
	for _, p := range r.Packages {
		got[p.Package] = p.CanPublish
	}
	if got["my-pkg"] != Yes || got["bobs-pkg"] != No || got["new-pkg"] != No {
		t.Fatalf("verdicts %+v", r.Packages)
	}

	s.RevokeToken(tok)
	r, err = InspectValue(ctx, e, tok, "", []string{"my-pkg"})
	if err != nil || r.State != StateInvalid || r.Packages[0].CanPublish != No {
		t.Fatalf("revoked: %+v %v", r, err)
	}
}

func TestInspectNPMSessionTokenUnlisted(t *testing.T) {
	s, _ := npmemu.Start(npmemu.Options{TokenListForbidden: true})
	defer s.Close()
	e := env.Env{"PUTITOUTTHERE_NPM_REGISTRY": s.URL()}
	_ = s.CreatePackage("my-pkg", "alice")
	s.AddUser("alice", "npm_"+strings.Repeat("S", 36))
	r, err := InspectValue(context.Background(), e, "npm_"+strings.Repeat("S", 36), "", []string{"my-pkg"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Packages[0].CanPublish != Undecided || !strings.Contains(strings.Join(r.Unknowable, "\n"), "would not list") {
		t.Fatalf("%+v", r)
	}
}

func TestInspectCrates(t *testing.T) {
	s, err := crates.Start(crates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := env.Env{"PUTITOUTTHERE_CRATES_IO_URL": s.URL()}
	ctx := context.Background()
	legacy := "cio" + strings.Repeat("L", 32)
	scoped := "cio" + strings.Repeat("S", 32)
	s.AddAPIToken(legacy)
	s.AddAPIToken(scoped, "publish-update", "trusted-publishing", "crate:my-*")
	s.CreateCrate("my-crate", crates.DefaultUser)

	r, err := InspectValue(ctx, e, legacy, "", []string{"my-crate"})
	if err != nil || r.State != StateValid || r.Kind != "legacy" || r.Packages[0].CanPublish != Undecided {
		t.Fatalf("legacy: %+v %v", r, err)
	}
	r, err = InspectValue(ctx, e, scoped, "", []string{"my-crate", "other"})
	if err != nil || r.Kind != "scoped" {
		t.Fatalf("scoped: %+v %v", r, err)
	}
	if !strings.Contains(r.Packages[0].Why, "covers my-crate") || !strings.Contains(r.Packages[1].Why, "lacks") {
		t.Fatalf("scope probes: %+v", r.Packages)
	}
	s.RevokeAPIToken(legacy)
	r, err = InspectValue(ctx, e, legacy, "", []string{"my-crate"})
	if err != nil || r.State != StateInvalid || r.Packages[0].CanPublish != No {
		t.Fatalf("revoked: %+v %v", r, err)
	}
	// Unreachable registry: an error, not a verdict.
	s.Close()
	if _, err := InspectValue(ctx, e, scoped, "", nil); err == nil {
		t.Fatal("no error with crates.io down")
	}
}

func TestCheck(t *testing.T) {
	cfg := &config.Config{Packages: []config.Package{{Name: "a", Kind: "crates"}, {Name: "b", Kind: "npm"}}}
	creds := []Credential{{Registry: NPM, Source: SourceRepoSecret, Name: "NPM_TOKEN", Set: true}, {Registry: PyPI, Source: SourceEnv, Name: "PYPI_API_TOKEN", Set: true}}
	cc := Check(cfg, creds, env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "y"})
	if cc.Packages[0].Covered || !cc.Packages[1].Covered || len(cc.Unused) != 1 || !strings.Contains(cc.Packages[0].Note, "OIDC is available here") {
		t.Fatalf("%+v", cc)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		640686*time.Hour + 50*time.Minute: "26695 days",
		49 * time.Hour:                    "2 days",
		5*time.Hour + 7*time.Minute:       "5h07m",
		42 * time.Minute:                  "42m",
		9 * time.Second:                   "9s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
