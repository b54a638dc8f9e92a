package doctor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// shadowWorkflow is the release workflow `init` used to write: the publish
// step passes every registry token from secrets next to id-token: write.
const shadowWorkflow = `name: release
on:
  push:
    branches: [main]
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: release
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - name: Validate trust-policy setup
        run: npx putitoutthere doctor
      - name: Publish
        run: npx putitoutthere publish
        env:
          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}
          CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}
          PYPI_API_TOKEN: ${{ secrets.PYPI_API_TOKEN }}
`

// TestStepTokenShadowsOIDC is miss 1: a leftover CARGO_REGISTRY_TOKEN on the
// publish step wins over OIDC on crates.io. doctor, running in a step that
// never sees that variable, reads it from the workflow and names the line.
func TestStepTokenShadowsOIDC(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": shadowWorkflow,
	})
	r := run(t, root, nil)
	if r.ExitCode() != 1 {
		t.Fatalf("exit %d\n%s", r.ExitCode(), text(r))
	}
	var found *Issue
	for _, is := range r.Phase(PhaseAuth).Issues() {
		if is.Code == CodeTokenShadowsOIDC {
			found = &is
		}
	}
	if found == nil || found.File != ".github/workflows/release.yml" || found.Line != 20 ||
		!strings.Contains(found.Message, "CARGO_REGISTRY_TOKEN") || !strings.Contains(found.Message, "${{ secrets.CARGO_REGISTRY_TOKEN }}") {
		t.Fatalf("issue = %+v\n%s", found, text(r))
	}

	// The same step for a package the config says uses a token: intended.
	root = writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml + "auth = \"token\"\n",
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": shadowWorkflow,
	})
	if r := run(t, root, nil); r.Phase(PhaseAuth).Status == Fail {
		t.Fatalf("auth = token still fails:\n%s", text(r))
	}

	// crates-io-auth-action's output is an exchanged token, not a leftover.
	wf := strings.Replace(shadowWorkflow, "${{ secrets.CARGO_REGISTRY_TOKEN }}", "${{ steps.auth.outputs.token }}", 1)
	root = writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": wf,
	})
	if r := run(t, root, nil); r.Phase(PhaseAuth).Status == Fail {
		t.Fatalf("exchange output fails:\n%s", text(r))
	}
}

// TestVisibleStaleToken: a token doctor can see (job-level env) is proven
// live; a dead one fails before the release starts.
func TestVisibleStaleToken(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml + "auth = \"token\"\n",
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	for _, c := range []struct {
		info TokenInfo
		fail bool
	}{
		{TokenInfo{Detail: "scoped, invalid", Dead: true}, true},
		{TokenInfo{Detail: "scoped, valid", Covers: true}, false},
	} {
		r := run(t, root, func(o *Options) {
			o.Env = env.Env{"CARGO_REGISTRY_TOKEN": "cio_stale"}
			o.InspectToken = func(context.Context, *config.Package, string) (TokenInfo, error) { return c.info, nil }
		})
		if got := r.Phase(PhaseAuth).Status == Fail; got != c.fail {
			t.Errorf("%+v: auth failed = %v\n%s", c.info, got, text(r))
		}
		if is := r.Phase(PhaseAuth).Issues(); c.fail && (len(is) == 0 || is[0].Code != CodeTokenNotLive) {
			t.Errorf("cause not named:\n%s", text(r))
		}
	}
}

// TestForkPullRequestIsNotOIDC is miss 2: in the publish job of a run
// triggered by a pull request from a fork there is no ID token, whatever the
// job grants. doctor must not say "oidc", and its hint must not tell to add
// the permission the job already has.
func TestForkPullRequestIsNotOIDC(t *testing.T) {
	wf := strings.Replace(initWorkflow, "on:\n  push:\n    branches: [main]\n", "on:\n  pull_request:\n  push:\n    branches: [main]\n", 1)
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": wf,
	})
	event := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(event, []byte(`{"pull_request":{"head":{"repo":{"full_name":"someone/my-repo","fork":true}},"base":{"repo":{"full_name":"my-org/my-repo"}}}}`), 0o644)
	actions := env.Env{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event,
		"GITHUB_WORKFLOW_REF": "my-org/my-repo/.github/workflows/release.yml@refs/pull/7/merge", "GITHUB_JOB": "publish"}
	r := run(t, root, func(o *Options) { o.Env = actions })
	out := text(r)
	if r.ExitCode() != 1 || strings.Contains(out, "oidc (in the publish job") {
		t.Fatalf("exit %d\n%s", r.ExitCode(), out)
	}
	is := r.Phase(PhaseAuth).Issues()
	if len(is) == 0 || is[0].Code != CodeAuthMissing || !strings.Contains(is[0].Message, "fork someone/my-repo") ||
		strings.Contains(is[0].Hint, "give the publish job `permissions: id-token: write`") {
		t.Fatalf("issues = %+v", is)
	}

	// The same event in a pull-request check job (not the publish job): the
	// publish job will have OIDC when it runs on push; that passes.
	check := env.Env{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event,
		"GITHUB_WORKFLOW_REF": "my-org/my-repo/.github/workflows/putitoutthere-check.yml@refs/pull/7/merge", "GITHUB_JOB": "check"}
	if r := run(t, root, func(o *Options) { o.Env = check }); r.Phase(PhaseAuth).Status != Pass {
		t.Fatalf("pull-request check:\n%s", text(r))
	}
}
