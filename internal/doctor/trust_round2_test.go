package doctor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	ghemu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
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

const npmToml = `[putitoutthere]
version = 1

[[package]]
name = "js"
kind = "npm"
path = "js"
paths = ["js/**"]
`

const npmManifest = `{"name":"js","version":"1.0.0","repository":{"type":"git","url":"git+https://github.com/my-org/my-repo.git"}}`

// actionsEnv is the publish job's environment with the OIDC emulator.
func actionsEnv(is *oidc.Issuer) env.Env {
	e := env.Env{"GITHUB_JOB": "publish"}
	for k, v := range is.Env() {
		e[k] = v
	}
	return e
}

// TestSelfHostedNPM is miss 5: npm refuses trusted publishing from
// self-hosted runners; PyPI and crates.io had already shipped.
func TestSelfHostedNPM(t *testing.T) {
	wf := strings.Replace(initWorkflow, "runs-on: ubuntu-latest", "runs-on: [self-hosted, linux]", 1)
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            npmToml,
		"js/package.json":               npmManifest,
		".github/workflows/release.yml": wf,
	})
	// Locally: from `runs-on:`, with its line.
	r := run(t, root, nil)
	is := r.Phase(PhaseClaims).Issues()
	if r.ExitCode() != 1 || len(is) == 0 || is[0].Code != CodeSelfHostedNPM || is[0].Line != 7 {
		t.Fatalf("local: exit %d %+v\n%s", r.ExitCode(), is, text(r))
	}
	// Inside Actions: from the runner and the token's runner_environment.
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	id := oidc.DefaultIdentity()
	id.Repository, id.RunnerEnvironment = "my-org/my-repo", "self-hosted"
	iss.SetIdentity(id)
	root = writeRepo(t, map[string]string{
		"putitoutthere.toml":            npmToml,
		"js/package.json":               npmManifest,
		".github/workflows/release.yml": strings.Replace(initWorkflow, "runs-on: ubuntu-latest", "runs-on: ${{ matrix.os }}", 1),
	})
	r = run(t, root, func(o *Options) { o.Env = actionsEnv(iss) })
	if r.ExitCode() != 1 || !strings.Contains(text(r), "self-hosted") {
		t.Fatalf("actions: exit %d\n%s", r.ExitCode(), text(r))
	}
	// A GitHub-hosted runner passes.
	id.RunnerEnvironment = ""
	iss.SetIdentity(id)
	if r := run(t, root, func(o *Options) { o.Env = actionsEnv(iss) }); r.ExitCode() != 0 {
		t.Fatalf("github-hosted: exit %d\n%s", r.ExitCode(), text(r))
	}
}

// TestCustomisedSubNPM is miss 4: a customised (or immutable-format) OIDC
// subject; npm's exchange answers "package not found" (npm/cli#9969).
func TestCustomisedSubNPM(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            npmToml,
		"js/package.json":               npmManifest,
		".github/workflows/release.yml": initWorkflow,
	})
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	id := oidc.DefaultIdentity()
	id.Repository = "my-org/my-repo"
	id.Sub = id.ImmutableSub()
	iss.SetIdentity(id)
	r := run(t, root, func(o *Options) { o.Env = actionsEnv(iss) })
	if r.ExitCode() != 1 || !hasCode(r, CodeSubCustomised) {
		t.Fatalf("immutable sub in Actions: exit %d\n%s", r.ExitCode(), text(r))
	}

	// Locally, GitHub's API tells (GET …/actions/oidc/customization/sub).
	gh, err := ghemu.Start(ghemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	gh.AddRepo("my-org/my-repo")
	gh.AddUser("octocat", "ghp_doctor_test_token")
	local := func() *Report {
		return run(t, root, func(o *Options) {
			o.Env = env.Env{"GITHUB_TOKEN": "ghp_doctor_test_token"}
			for k, v := range gh.Env() {
				o.Env[k] = v
			}
		})
	}
	if r := local(); r.ExitCode() != 0 {
		t.Fatalf("default sub: exit %d\n%s", r.ExitCode(), text(r))
	}
	gh.SetSubClaimKeys("my-org/my-repo", []string{"repository_owner", "context"})
	if r := local(); r.ExitCode() != 1 || !hasCode(r, CodeSubCustomised) {
		t.Fatalf("customised sub: exit %d\n%s", r.ExitCode(), text(r))
	}
}

// TestOwnerIDChanged is miss 3: the repository was deleted and recreated
// (or transferred back): crates.io's registration holds the old owner ID.
func TestOwnerIDChanged(t *testing.T) {
	srv, err := crates.Start(crates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tok := crates.NewAPITokenString()
	srv.AddAPIToken(tok, "trusted-publishing", "crate:my-crate")
	srv.AddGitHubConfig("my-crate", crates.GitHubConfig{Owner: "my-org", Repo: "my-repo", OwnerID: 7, Workflow: "release.yml", Environment: "release"})
	// No declaration: the readback is compared with the local workflow.
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	check := func(ownerID string) *Report {
		return run(t, root, func(o *Options) {
			o.Env = env.Env{"CRATES_IO_DOCTOR_TOKEN": tok, "PUTITOUTTHERE_CRATES_IO_URL": srv.URL(), "GITHUB_REPOSITORY_OWNER_ID": ownerID}
		})
	}
	if r := check("7"); r.Phase(PhaseCratesIO).Status != Pass {
		t.Fatalf("same owner:\n%s", text(r))
	}
	r := check("99")
	if r.Phase(PhaseCratesIO).Status != Fail || !strings.Contains(text(r), "repository owner ID: crates.io registered 7") {
		t.Fatalf("changed owner:\n%s", text(r))
	}
}

// TestEventRefusedWithoutDeclaration is miss 7: a `pull_request_target` run
// is refused by PyPI and crates.io whether or not a trust policy is
// declared.
func TestEventRefusedWithoutDeclaration(t *testing.T) {
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	id := oidc.DefaultIdentity()
	id.Repository, id.EventName = "my-org/my-repo", "pull_request_target"
	iss.SetIdentity(id)
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": strings.Replace(initWorkflow, "  push:\n    branches: [main]\n", "  pull_request_target:\n", 1),
	})
	r := run(t, root, func(o *Options) { o.Env = actionsEnv(iss) })
	if r.ExitCode() != 1 || !hasCode(r, CodeClaimRefused) {
		t.Fatalf("exit %d\n%s", r.ExitCode(), text(r))
	}
}

func hasCode(r *Report, code string) bool {
	for _, p := range r.Phases {
		for _, is := range p.Issues() {
			if is.Code == code {
				return true
			}
		}
	}
	return false
}

// TestShadowingTokenProvenLive: when doctor itself holds the token that
// shadows OIDC and the registry confirms it may publish the crate, the
// release works with it: a warning, not a failure. Unproven, it stays a
// failure.
func TestShadowingTokenProvenLive(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": shadowWorkflow,
	})
	for _, c := range []struct {
		info TokenInfo
		fail bool
	}{
		{TokenInfo{Detail: "scoped, valid", Covers: true}, false},
		{TokenInfo{Detail: "cannot tell", Unknown: true}, true},
	} {
		r := run(t, root, func(o *Options) {
			o.Env = env.Env{"CARGO_REGISTRY_TOKEN": "cio_visible"}
			o.InspectToken = func(context.Context, *config.Package, string) (TokenInfo, error) { return c.info, nil }
		})
		if got := r.Phase(PhaseAuth).Status == Fail; got != c.fail {
			t.Errorf("%+v: auth failed = %v\n%s", c.info, got, text(r))
		}
		found := false
		for _, is := range r.Phase(PhaseAuth).Issues() {
			found = found || is.Code == CodeTokenShadowsOIDC
		}
		if !found {
			t.Errorf("%+v: the shadowing line is not reported:\n%s", c.info, text(r))
		}
	}
}
