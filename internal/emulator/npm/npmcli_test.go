package npm_test

// Conformance of the emulator with the real npm CLI: if npm can publish,
// view, install and fail against it the way it does against the real
// registry, the emulator speaks the real protocol.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
)

// wantParsed checks that our reading of npm's output gives code.
func wantParsed(t *testing.T, stderr, code string) {
	t.Helper()
	if got := npmreg.ParseError(stderr); got.Code != code {
		t.Errorf("ParseError = %s (%s), want %s, from\n%s", got.Code, got.Message, code, stderr)
	}
}

// npmCLI runs the real npm with a private HOME, cache and .npmrc, and an
// environment built from scratch so nothing from the host (a CI's
// GITHUB_ACTIONS, a user's token) leaks in.
type npmCLI struct {
	t    *testing.T
	bin  string
	home string
	env  []string
}

func newNPM(t *testing.T, npmrc string, extraEnv map[string]string) *npmCLI {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the real npm CLI")
	}
	bin, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed; the real-client conformance tests need npm ≥ 11.5")
	}
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".npmrc"), []byte(npmrc), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"npm_config_userconfig=" + filepath.Join(home, ".npmrc"),
		"npm_config_cache=" + filepath.Join(home, ".npm"),
		"npm_config_update_notifier=false",
		"npm_config_audit=false",
		"npm_config_fund=false",
		"npm_config_loglevel=notice",
		"npm_config_fetch_retries=0",
	}
	for k, v := range extraEnv {
		env = append(env, k+"="+v)
	}
	return &npmCLI{t: t, bin: bin, home: home, env: env}
}

func (n *npmCLI) run(dir string, args ...string) (stdout, stderr string, err error) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.bin, args...)
	cmd.Dir = dir
	cmd.Env = n.env
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func writePackage(t *testing.T, manifest map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.MarshalIndent(manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startNPM(t *testing.T, opts npmemu.Options) *npmemu.Server {
	t.Helper()
	srv, err := npmemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestRealNPMTokenPublishViewInstall(t *testing.T) {
	t.Parallel()
	srv := startNPM(t, npmemu.Options{})
	tok := npmemu.NewToken()
	srv.AddGranularToken(tok, "alice", nil, npmemu.PermReadWrite)
	cli := newNPM(t, srv.NpmrcAuthLine(tok)+"\n", nil)
	reg := "--registry=" + srv.URL()

	pkgDir := writePackage(t, map[string]any{"name": "piot-conformance", "version": "1.0.0", "description": "x", "main": "index.js", "license": "MIT"})
	if _, stderr, err := cli.run(pkgDir, "publish", reg); err != nil {
		t.Fatalf("npm publish: %v\n%s", err, stderr)
	}
	if got := srv.Versions("piot-conformance"); len(got) != 1 || got[0] != "1.0.0" {
		t.Fatalf("versions after publish = %v", got)
	}
	att := srv.Attempts()
	if len(att) != 1 || att[0].Status != 200 || att[0].User != "alice" || att[0].Tag != "latest" {
		t.Fatalf("attempts = %+v", att)
	}

	out, stderr, err := cli.run(t.TempDir(), "view", "piot-conformance@1.0.0", "version", reg)
	if err != nil || strings.TrimSpace(out) != "1.0.0" {
		t.Fatalf("npm view = %q, %v\n%s", out, err, stderr)
	}

	consumer := writePackage(t, map[string]any{"name": "consumer", "version": "0.0.0", "private": true})
	if _, stderr, err := cli.run(consumer, "install", "piot-conformance", reg); err != nil {
		t.Fatalf("npm install: %v\n%s", err, stderr)
	}
	installed, err := os.ReadFile(filepath.Join(consumer, "node_modules", "piot-conformance", "index.js"))
	if err != nil || !strings.Contains(string(installed), "42") {
		t.Fatalf("installed package content = %q, %v", installed, err)
	}
	lock, _ := os.ReadFile(filepath.Join(consumer, "package-lock.json"))
	if !strings.Contains(string(lock), srv.Integrity("piot-conformance", "1.0.0")) {
		t.Errorf("package-lock.json does not carry the registry's integrity")
	}

	// npm ≥ 11 refuses a re-publish itself after reading the packument; with
	// --force the PUT reaches the registry, which answers 403.
	_, stderr, err = cli.run(pkgDir, "publish", reg)
	if err == nil || !strings.Contains(stderr, "You cannot publish over the previously published versions: 1.0.0.") {
		t.Fatalf("re-publish: err=%v\n%s", err, stderr)
	}
	wantParsed(t, stderr, npmreg.CodePublishOver)
	_, stderr, err = cli.run(pkgDir, "publish", "--force", reg)
	if err == nil || !strings.Contains(stderr, "code E403") ||
		!strings.Contains(stderr, "403 Forbidden - PUT "+srv.URL()+"piot-conformance - You cannot publish over the previously published versions: 1.0.0.") {
		t.Fatalf("forced re-publish: err=%v\n%s", err, stderr)
	}
	wantParsed(t, stderr, npmreg.CodePublishOver)

	bad := newNPM(t, srv.NpmrcAuthLine("npm_"+strings.Repeat("x", 36))+"\n", nil)
	pkg2 := writePackage(t, map[string]any{"name": "piot-other", "version": "1.0.0"})
	_, stderr, err = bad.run(pkg2, "publish", reg)
	if err == nil || !strings.Contains(stderr, "code E404") || !strings.Contains(stderr, "404 Not Found - PUT "+srv.URL()+"piot-other - Not found") {
		t.Fatalf("publish with a bad token: err=%v\n%s", err, stderr)
	}
	wantParsed(t, stderr, npmreg.CodeE404Unauthorized)
}

func TestRealNPMScopedFirstPublishNeedsAccessPublic(t *testing.T) {
	t.Parallel()
	srv := startNPM(t, npmemu.Options{})
	tok := npmemu.NewToken()
	srv.AddUser("alice", tok)
	cli := newNPM(t, srv.NpmrcAuthLine(tok)+"\n", nil)
	reg := "--registry=" + srv.URL()
	dir := writePackage(t, map[string]any{"name": "@piot/scoped", "version": "0.1.0"})

	_, stderr, err := cli.run(dir, "publish", reg)
	if err == nil || !strings.Contains(stderr, "code E402") || !strings.Contains(stderr, "402 Payment Required - PUT "+srv.URL()+"@piot%2fscoped - You must sign up for private packages") {
		t.Fatalf("scoped publish without --access public: err=%v\n%s", err, stderr)
	}
	wantParsed(t, stderr, npmreg.CodePaymentRequired)
	if _, stderr, err := cli.run(dir, "publish", "--access", "public", reg); err != nil {
		t.Fatalf("scoped publish with --access public: %v\n%s", err, stderr)
	}
	out, stderr, err := cli.run(t.TempDir(), "view", "@piot/scoped", "version", reg)
	if err != nil || strings.TrimSpace(out) != "0.1.0" {
		t.Fatalf("npm view scoped = %q, %v\n%s", out, err, stderr)
	}
	// The scoped tarball URL (@piot/scoped/-/scoped-0.1.0.tgz) resolves.
	consumer := writePackage(t, map[string]any{"name": "consumer", "version": "0.0.0", "private": true})
	if _, stderr, err := cli.run(consumer, "install", "@piot/scoped", reg); err != nil {
		t.Fatalf("npm install scoped: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(consumer, "node_modules", "@piot", "scoped", "index.js")); err != nil {
		t.Fatalf("scoped package not installed: %v", err)
	}
}

// TestRealNPMTrustedPublishing drives npm's own OIDC path (lib/utils/oidc.js):
// inside "GitHub Actions" it requests an ID token with aud npm:<registry
// hostname>, exchanges it at the emulator and publishes with the minted
// token. --provenance=false because npm would otherwise turn provenance on
// for a public repo and package and call Fulcio and Rekor, which are not
// reachable here.
func TestRealNPMTrustedPublishing(t *testing.T) {
	t.Parallel()
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	srv := startNPM(t, npmemu.Options{Verifier: iss})
	if err := srv.CreatePackage("piot-tp", "alice"); err != nil {
		t.Fatal(err)
	}
	id := iss.Identity()
	owner, repo, _ := strings.Cut(id.Repository, "/")
	if err := srv.AddTrustedPublisher("piot-tp", npmemu.TrustedPublisher{Owner: owner, Repo: repo, Workflow: id.WorkflowFile, Environment: id.Environment}); err != nil {
		t.Fatal(err)
	}
	// No token in .npmrc: success can only come from the exchange.
	cli := newNPM(t, "", iss.Env())
	reg := "--registry=" + srv.URL()
	dir := writePackage(t, map[string]any{"name": "piot-tp", "version": "1.0.0", "repository": map[string]any{"type": "git", "url": "git+https://github.com/" + id.Repository + ".git"}})

	if _, stderr, err := cli.run(dir, "publish", "--provenance=false", reg); err != nil {
		t.Fatalf("npm publish via OIDC: %v\n%s", err, stderr)
	}
	if got := iss.Minted(); len(got) == 0 || got[len(got)-1] != "npm:127.0.0.1" {
		t.Errorf("audiences requested by npm = %v, want npm:127.0.0.1 (hostname, no port)", got)
	}
	ex := srv.Exchanges()
	if len(ex) != 1 || ex[0].Status != 201 || ex[0].Package != "piot-tp" {
		t.Fatalf("exchanges = %+v", ex)
	}
	att := srv.Attempts()
	if len(att) != 1 || att[0].Status != 200 || att[0].TokenKind != npmemu.KindOIDC {
		t.Fatalf("attempts = %+v", att)
	}

	// A workflow that is not the trusted publisher: npm logs the refusal and
	// falls back to the (absent) configured token, so it reports ENEEDAUTH.
	other := id
	other.WorkflowFile = "patch-release.yml"
	iss.SetIdentity(other)
	dir2 := writePackage(t, map[string]any{"name": "piot-tp", "version": "1.0.1"})
	_, stderr, err := cli.run(dir2, "publish", "--provenance=false", reg)
	if err == nil || !strings.Contains(stderr, "ENEEDAUTH") {
		t.Fatalf("publish from a renamed workflow: err=%v\n%s", err, stderr)
	}
	wantParsed(t, stderr, npmreg.CodeNeedAuth)
	ex = srv.Exchanges()
	if last := ex[len(ex)-1]; last.Status != 404 || last.Message != "OIDC token exchange error - package not found" {
		t.Fatalf("refused exchange = %+v", last)
	}
}

// npm whoami and npm token list read the emulator's /-/whoami and the paged
// /-/npm/v1/tokens envelope (npm follows urls.next).
func TestRealNPMWhoamiAndTokenList(t *testing.T) {
	t.Parallel()
	srv := startNPM(t, npmemu.Options{TokensPerPage: 1})
	session := npmemu.NewToken()
	srv.AddUser("alice", session)
	g1, g2 := npmemu.NewToken(), npmemu.NewToken()
	srv.AddGranularToken(g1, "alice", []string{"pkg-a"}, npmemu.PermReadWrite)
	srv.AddGranularToken(g2, "alice", nil, npmemu.PermReadOnly)
	cli := newNPM(t, srv.NpmrcAuthLine(session)+"\n", nil)
	reg := "--registry=" + srv.URL()

	out, stderr, err := cli.run(t.TempDir(), "whoami", reg)
	if err != nil || strings.TrimSpace(out) != "alice" {
		t.Fatalf("npm whoami = %q, %v\n%s", out, err, stderr)
	}
	out, stderr, err = cli.run(t.TempDir(), "token", "list", "--json", reg)
	if err != nil {
		t.Fatalf("npm token list: %v\n%s", err, stderr)
	}
	var list []struct {
		Token       string `json:"token"`
		Permissions []struct {
			Action string `json:"action"`
		} `json:"permissions"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("npm token list --json = %q (%v); want both granular tokens across two pages", out, err)
	}
	if list[0].Token != npmemu.RedactToken(g1) || list[1].Token != npmemu.RedactToken(g2) || list[1].Permissions[0].Action != "read" {
		t.Errorf("token list = %+v", list)
	}
	if strings.Contains(out, session) || strings.Contains(out, g1) {
		t.Error("a full token appeared in the list")
	}
}

// An account with 2FA: npm reports EOTP from the 401 + WWW-Authenticate: OTP,
// and --otp sends npm-otp.
func TestRealNPMOTP(t *testing.T) {
	t.Parallel()
	srv := startNPM(t, npmemu.Options{})
	tok := npmemu.NewToken()
	srv.AddUser("carol", tok)
	srv.SetOTP("carol", "246810")
	cli := newNPM(t, srv.NpmrcAuthLine(tok)+"\n", nil)
	reg := "--registry=" + srv.URL()
	dir := writePackage(t, map[string]any{"name": "piot-otp", "version": "1.0.0"})

	_, stderr, err := cli.run(dir, "publish", reg)
	if err == nil || !strings.Contains(stderr, "code EOTP") {
		t.Fatalf("publish without an OTP: err=%v\n%s", err, stderr)
	}
	wantParsed(t, stderr, npmreg.CodeOTPRequired)
	if _, stderr, err := cli.run(dir, "publish", "--otp=246810", reg); err != nil {
		t.Fatalf("publish with --otp: %v\n%s", err, stderr)
	}
	if v := srv.Versions("piot-otp"); len(v) != 1 {
		t.Fatalf("versions = %v", v)
	}
}
