package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
)

// nothingUploaded: no registry received an upload.
func (w *world) nothingUploaded(t *testing.T) {
	t.Helper()
	if a := w.crates.Attempts(); len(a) != 0 {
		t.Errorf("crates.io received %d upload(s)", len(a))
	}
	if f := w.pypi.Files("py-core", "0.1.0"); len(f) != 0 {
		t.Errorf("PyPI received %v", f)
	}
	if a := w.npm.Attempts(); len(a) != 0 {
		t.Errorf("npm received %d upload(s)", len(a))
	}
}

// TestPublishStaleCargoTokenStopsFirst is miss 1: a stale
// CARGO_REGISTRY_TOKEN next to working OIDC. On crates.io the token wins;
// publish proves it live before the first upload instead of shipping the
// wheel and failing at cargo publish.
func TestPublishStaleCargoTokenStopsFirst(t *testing.T) {
	w := newWorld(t)
	w.env["CARGO_REGISTRY_TOKEN"] = crates.NewAPITokenString() // unknown to crates.io
	doc, stderr, code := w.publishJSON()
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_TOKEN_NOT_LIVE" || !strings.Contains(doc.Error.Message, "CARGO_REGISTRY_TOKEN") {
		t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
	}
	w.nothingUploaded(t)
	// A live token is used, as the workflow decided.
	live := crates.NewAPITokenString()
	w.crates.AddAPIToken(live)
	w.env["CARGO_REGISTRY_TOKEN"] = live
	if doc, stderr, code := w.publishJSON(); code != 0 {
		t.Fatalf("live token: exit %d %+v\n%s", code, doc.Error, stderr)
	}
}

// TestPublishSelfHostedNPMStopsFirst is miss 5: npm refuses trusted
// publishing from self-hosted runners; crates.io and PyPI must not ship
// first.
func TestPublishSelfHostedNPMStopsFirst(t *testing.T) {
	w := newWorld(t)
	w.env["RUNNER_ENVIRONMENT"] = "self-hosted"
	doc, stderr, code := w.publishJSON()
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_NPM_SELF_HOSTED" {
		t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
	}
	w.nothingUploaded(t)
}

// TestPublishPrivateRepoSkipsProvenance is false alarm 11: in a private
// repository npm publishes without provenance, so a package.json without
// repository.url is not refused "for provenance".
func TestPublishPrivateRepoSkipsProvenance(t *testing.T) {
	w := newWorld(t)
	id := oidc.DefaultIdentity()
	id.Visibility = "private"
	w.is.SetIdentity(id)
	writeFile(t, filepath.Join(w.dir, "artifacts", "js-core-pkg", "package.json"), "{\"name\":\"js-core\",\"version\":\"0.0.0\",\"main\":\"index.js\"}\n")
	doc, stderr, code := w.publishJSON()
	if code != 0 {
		t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
	}
	// In a public repository the same package is refused before the first
	// upload (npm answers 422 to provenance without it).
	w2 := newWorld(t)
	writeFile(t, filepath.Join(w2.dir, "artifacts", "js-core-pkg", "package.json"), "{\"name\":\"js-core\",\"version\":\"0.0.0\",\"main\":\"index.js\"}\n")
	if doc, _, code := w2.publishJSON(); code != 1 || doc.Error == nil || !strings.Contains(doc.Error.Message, "repository.url") {
		t.Fatalf("public: exit %d %+v", code, doc.Error)
	}
	w2.nothingUploaded(t)
}

// TestPublishForkHint is miss 2's second half: the publish job of a fork's
// pull request has `id-token: write` and still no ID token; the hint must
// say why, not tell to add the permission.
func TestPublishForkHint(t *testing.T) {
	w := newWorld(t)
	writeFile(t, filepath.Join(w.dir, ".github/workflows/release.yml"), `name: release
on: [pull_request, push]
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - run: npx putitoutthere publish
`)
	gitRun(t, w.dir, w.env, "add", ".github")
	gitRun(t, w.dir, w.env, "commit", "-q", "-m", "ci: release workflow")
	event := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(event, []byte(`{"pull_request":{"head":{"repo":{"full_name":"someone/octo-repo","fork":true}},"base":{"repo":{"full_name":"octo-org/octo-repo"}}}}`), 0o644)
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	w.env["GITHUB_EVENT_NAME"], w.env["GITHUB_EVENT_PATH"], w.env["GITHUB_JOB"] = "pull_request", event, "publish"
	doc, stderr, code := w.publishJSON()
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_AUTH_MISSING" {
		t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
	}
	if !strings.Contains(doc.Error.Hint, "fork someone/octo-repo") || strings.Contains(doc.Error.Hint, "give the publishing job `permissions: id-token: write`") {
		t.Errorf("hint = %q", doc.Error.Hint)
	}
}

// TestPreflightExchanges is miss 8: preflight performs the registries'
// exchanges through publish's own preflight steps, so a registration that
// does not match (here npm's, for another repository), a changed owner ID
// or a stale token fails it; crates.io's short-lived token is revoked.
func TestPreflightExchanges(t *testing.T) {
	w := newWorld(t)
	out, errOut, code := w.cli("preflight", "--json")
	if code != 0 || !strings.Contains(out, `"exchange": "ready"`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if m := w.crates.MintedTokens(); len(m) != 1 || !m[0].Revoked {
		t.Errorf("crates.io tokens: %+v", m)
	}
	w.nothingUploaded(t)

	w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "other", Workflow: "release.yml"})
	out, errOut, code = w.cli("preflight", "--json")
	if code != 1 || !strings.Contains(out, "PIOT_NPM_TRUST_REFUSED") {
		t.Fatalf("refused exchange: exit %d\n%s\n%s", code, out, errOut)
	}
	w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml"})

	// The repository was recreated: a new owner ID in every token.
	id := oidc.DefaultIdentity()
	id.RepositoryOwnerID = "99"
	w.is.SetIdentity(id)
	out, errOut, code = w.cli("preflight")
	if code != 1 || !strings.Contains(out, "piot-core") && !strings.Contains(out, "core") {
		t.Fatalf("owner id: exit %d\n%s\n%s", code, out, errOut)
	}
	w.nothingUploaded(t)
}

// TestDoctorExchangesInPublishJob: doctor in the publish job, which can
// request an ID token, asks the registries through publish's preflight
// steps: a registration nothing declares that does not match is found
// before the release (miss 6), with the registry's words.
func TestDoctorExchangesInPublishJob(t *testing.T) {
	w := newWorld(t)
	writeFile(t, filepath.Join(w.dir, ".github/workflows/release.yml"), `name: release
on:
  push:
    branches: [main]
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - run: npx putitoutthere doctor
      - run: npx putitoutthere publish
`)
	gitRun(t, w.dir, w.env, "add", ".github")
	gitRun(t, w.dir, w.env, "commit", "-q", "-m", "ci: release workflow")
	w.env["GITHUB_JOB"] = "publish"
	out, errOut, code := w.cli("doctor")
	if code != 0 || !strings.Contains(out, "the registry accepted this run's credentials") || !strings.Contains(out, "asked the registries themselves") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// The npm registration drifted (another repository); nothing declares it.
	w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "other", Workflow: "release.yml"})
	out, errOut, code = w.cli("doctor")
	if code != 1 || !strings.Contains(out, "js-core: the registry refused the preflight exchange") {
		t.Fatalf("drift: exit %d\n%s\n%s", code, out, errOut)
	}
	w.nothingUploaded(t)
	if m := w.crates.MintedTokens(); len(m) == 0 || !m[len(m)-1].Revoked {
		t.Errorf("crates.io tokens: %+v", m)
	}
}
