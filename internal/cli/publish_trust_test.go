package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
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
