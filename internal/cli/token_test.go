package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/token"
)

func TestTokenListEnvOnly(t *testing.T) {
	f := newGHFixture(t)
	f.env["NPM_TOKEN"] = "npm_" + strings.Repeat("a", 36)
	f.env["PYPI_API_TOKEN"] = ""      // empty: unset, not a token
	f.env["CARGO_HOME"] = "/x/.cargo" // prefix match but not a credential
	f.env["TWINE_USERNAME"] = "__token__"
	out, errs, code := f.run(t, "token", "list")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	fp := token.Fingerprint(f.env["NPM_TOKEN"])
	want := "REGISTRY  SOURCE  ENV/NAME        DETAILS\n" +
		"npm       env     NPM_TOKEN       " + fp + "\n" +
		"pypi      env     PYPI_API_TOKEN  unset (empty value)\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestTokenListSecretsNotLoggedIn(t *testing.T) {
	f := newGHFixture(t)
	f.env["CARGO_REGISTRY_TOKEN"] = "cio" + strings.Repeat("b", 32)
	out, errs, code := f.run(t, "token", "list", "--secrets")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	if strings.TrimSpace(errs) != "run `putitoutthere auth login` to list repository secrets" {
		t.Fatalf("stderr %q", errs)
	}
	if !strings.Contains(out, "crates    env     CARGO_REGISTRY_TOKEN  sha256:") {
		t.Fatalf("stdout:\n%s", out)
	}
	out, _, code = f.run(t, "--json", "token", "list", "--secrets")
	var doc listResult
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("%v %d %s", err, code, out)
	}
	if doc.Secrets.Listed || doc.Secrets.Note != loginNote || len(doc.Credentials) != 1 {
		t.Fatalf("%+v", doc)
	}
}

func TestTokenListSecrets(t *testing.T) {
	f := newGHFixture(t)
	// 130 unrelated secrets first, so the registry ones sit on page 2.
	for i := 0; i < 130; i++ {
		f.s.AddSecret("owner/repo", fmt.Sprintf("DEPLOY_KEY_%03d", i))
	}
	f.s.AddSecret("owner/repo", "NPM_TOKEN")
	f.s.AddEnvironment("owner/repo", "production", "PYPI_API_TOKEN", "SLACK_WEBHOOK")
	f.s.AddEnvironment("owner/repo", "empty env")
	f.login(t)
	out, errs, code := f.run(t, "token", "list", "--secrets")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	want := "REGISTRY  SOURCE              ENV/NAME        DETAILS\n" +
		"npm       repo-secret         NPM_TOKEN       repo secret (owner/repo)\n" +
		"pypi      environment-secret  PYPI_API_TOKEN  environment secret (production)\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	pages := 0
	for _, r := range f.s.Requests() {
		if r.Path == "/repos/owner/repo/actions/secrets" {
			pages++
		}
	}
	if pages != 2 {
		t.Fatalf("secret pages fetched: %d", pages)
	}
}

func TestTokenListSecretsFromOriginRemote(t *testing.T) {
	f := newGHFixture(t)
	delete(f.env, "GITHUB_REPOSITORY")
	f.s.AddSecret("my-org/my-repo", "CARGO_REGISTRY_TOKEN")
	f.login(t)
	tokGitInit(t, f.home, "git@github.com:my-org/my-repo.git")
	out, errs, code := f.run(t, "token", "list", "--secrets")
	if code != 0 || !strings.Contains(out, "crates    repo-secret  CARGO_REGISTRY_TOKEN  repo secret (my-org/my-repo)") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

func TestTokenListSecretsInstallationMissing(t *testing.T) {
	f := newGHFixture(t)
	f.login(t)
	f.env["NPM_TOKEN"] = "npm_" + strings.Repeat("c", 36)
	// owner/repo does not exist for this user: GitHub answers 404.
	out, errs, code := f.run(t, "token", "list", "--secrets")
	if code != 1 || !strings.Contains(errs, CodeGitHubSecretsDenied) || !strings.Contains(out, "NPM_TOKEN") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	out, _, code = f.run(t, "--json", "token", "list", "--secrets")
	var doc map[string]any
	if code != 1 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("--json must stay one document: %d %s", code, out)
	}
}

func TestTokenListCrossCheck(t *testing.T) {
	f := newGHFixture(t)
	tokWriteFile(t, filepath.Join(f.home, "putitoutthere.toml"), `[putitoutthere]
version = 1

[[package]]
name = "my-crate"
kind = "crates"
path = "crates/my-crate"
paths = ["crates/my-crate/**"]

[[package]]
name = "my-py"
kind = "pypi"
path = "py"
paths = ["py/**"]
`)
	f.env["NPM_TOKEN"] = "npm_" + strings.Repeat("d", 36)
	f.env["TWINE_PASSWORD"] = "pypi-" + strings.Repeat("e", 90)
	out, errs, code := f.run(t, "token", "list")
	if code != 0 {
		t.Fatalf("exit %d %s %s", code, out, errs)
	}
	for _, want := range []string{
		"note: my-crate (crates): no credential in the environment or in secrets; it publishes only through OIDC trusted publishing (needs CARGO_REGISTRY_TOKEN or OIDC)",
		"note: NPM_TOKEN (env): a npm credential, but putitoutthere.toml has no npm package",
		"note: TWINE_PASSWORD (env): putitoutthere does not read this variable; pypi publishes read PYPI_API_TOKEN",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "my-py (pypi): no credential") {
		t.Error("my-py is covered by TWINE_PASSWORD")
	}
}

func tokWriteFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tokGitInit(t *testing.T, dir, origin string) {
	t.Helper()
	for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "origin", origin}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
}

func TestTokenListSecretsRateLimited(t *testing.T) {
	f := newGHFixture(t)
	f.s.AddSecret("owner/repo", "NPM_TOKEN")
	f.login(t)
	f.s.Faults.Add(fault.Rule{PathPrefix: "/repos/owner/repo/actions/secrets", Status: 403,
		Body: `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest"}`})
	_, errs, code := f.run(t, "token", "list", "--secrets")
	if code != 1 || !strings.Contains(errs, "["+CodeGitHubRateLimited+"]") || strings.Contains(errs, CodeGitHubSecretsDenied) {
		t.Fatalf("exit %d\n%s", code, errs)
	}
}
