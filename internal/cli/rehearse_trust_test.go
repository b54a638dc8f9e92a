package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

const remoteCratesConfig = `[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
# "core" itself is a name crates.io reserves
crate = "acme-core"
path = "crates/core"
paths = ["crates/core/**"]

[package.trust_policy]
workflow = "release.yml"
environment = "release"
`

// An organisation-shared reusable release workflow in another repository,
// called from this repository's release.yml.
const remoteCratesWorkflow = `name: release
on:
  push:
    branches: [main]
jobs:
  release:
    permissions:
      contents: write
      id-token: write
    uses: acme/release-workflows/.github/workflows/cargo.yml@v3
    secrets: inherit
`

// cratesRepo is a crates-only repository whose crate was released before
// (core-v0.1.0) and changed since.
func cratesRepo(t *testing.T, cfg, workflow string) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"putitoutthere.toml":            cfg,
		".github/workflows/release.yml": workflow,
		"crates/core/Cargo.toml":        "[package]\nname = \"acme-core\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"d\"\nlicense = \"MIT\"\n",
		"crates/core/src/lib.rs":        "",
	})
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-qm", "initial")
	gitIn(t, dir, "tag", "core-v0.1.0")
	writeFiles(t, dir, map[string]string{"crates/core/src/lib.rs": "pub fn x() {}\n"})
	gitIn(t, dir, "commit", "-qam", "core: add x")
	gitIn(t, dir, "remote", "add", "origin", "https://github.com/acme/core.git")
	return dir
}

// TestRehearseRemoteReusableCrates is false alarm 12: crates.io matches the
// caller's workflow file, so publishing through an organisation's shared
// workflow in another repository works and the rehearsal must say so.
func TestRehearseRemoteReusableCrates(t *testing.T) {
	needTool(t, "cargo")
	dir := cratesRepo(t, remoteCratesConfig, remoteCratesWorkflow)
	code, out := rehearseWith(t, dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, w := range []string{`"outcome": "ok"`, "acme/release-workflows/.github/workflows/cargo.yml@v3"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q\n%s", w, out)
		}
	}
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("needs %s on PATH: %v", name, err)
	}
}

// rehearseWith runs `rehearse --json` with cargo's toolchain reachable.
func rehearseWith(t *testing.T, dir string, extra ...string) (int, string) {
	t.Helper()
	home, _ := os.UserHomeDir()
	e := env.Env{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}
	for k, def := range map[string]string{"RUSTUP_HOME": filepath.Join(home, ".rustup"), "CARGO_HOME": filepath.Join(home, ".cargo")} {
		if v := os.Getenv(k); v != "" {
			e[k] = v
		} else {
			e[k] = def
		}
	}
	var out, errb bytes.Buffer
	args := append([]string{"--cwd", dir, "--json", "rehearse"}, extra...)
	code := MainEnv(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	return code, out.String() + errb.String()
}

// TestRehearseModelsTheRun: the trigger and the owner ID are modelled, not
// pretended a push by the same owner (miss 7 and miss 3).
func TestRehearseModelsTheRun(t *testing.T) {
	// A publish workflow triggered only by pull_request_target: PyPI
	// refuses the token, before anything is uploaded.
	prt := strings.Replace(rehearseWorkflow, "on:\n  push:\n    branches: [main]\n", "on:\n  pull_request_target:\n", 1)
	dir := rehearsalRepo(t, prt, false)
	code, out, _ := rehearseIn(t, dir)
	if code != 1 || !strings.Contains(out, "pull_request_target") || strings.Contains(out, `"path": "/legacy/"`) {
		t.Fatalf("pull_request_target: exit %d\n%s", code, out)
	}
	// --event overrides what the workflow says.
	dir = rehearsalRepo(t, rehearseWorkflow, false)
	if code, out, _ := rehearseIn(t, dir, "--event", "pull_request_target"); code != 1 || !strings.Contains(out, "PIOT_PYPI") {
		t.Fatalf("--event: exit %d\n%s", code, out)
	}
	// The owner ID changed since the registration: PyPI refuses.
	code, out, _ = rehearseIn(t, dir, "--owner-id", "99", "--registered-owner-id", "65")
	if code != 1 || !strings.Contains(out, "PIOT_PYPI_INVALID_PUBLISHER") || !strings.Contains(out, "registered with owner ID 65; the run's tokens carry 99") {
		t.Fatalf("owner id: exit %d\n%s", code, out)
	}
	// The same owner: the rehearsal passes, and says what it cannot see.
	code, out, _ = rehearseIn(t, dir, "--owner-id", "99")
	if code != 0 || !strings.Contains(out, "a registration changed on the registry and not in the declaration is not visible here") {
		t.Fatalf("same owner: exit %d\n%s", code, out)
	}
	if code, out, _ := rehearseIn(t, dir, "--runner", "laptop"); code != 2 || !strings.Contains(out, "PIOT_REHEARSE_MODEL_FLAG") {
		t.Fatalf("bad --runner: exit %d\n%s", code, out)
	}
}

// TestRehearseLeftoverCargoToken is miss 1 as the repository shows it: the
// publish step passes CARGO_REGISTRY_TOKEN from a secret beside OIDC. The
// rehearsal models that secret stale and stops before the first upload.
func TestRehearseLeftoverCargoToken(t *testing.T) {
	local := `name: release
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
      - run: npx putitoutthere publish
        env:
          CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}
`
	dir := cratesRepo(t, remoteCratesConfig, local)
	code, out := rehearseWith(t, dir)
	if code != 1 || !strings.Contains(out, "PIOT_TOKEN_NOT_LIVE") || !strings.Contains(out, "models that secret set and stale") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// Without the line the same repository rehearses cleanly.
	dir = cratesRepo(t, remoteCratesConfig, strings.Replace(local, "        env:\n          CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}\n", "", 1))
	needTool(t, "cargo")
	if code, out := rehearseWith(t, dir); code != 0 {
		t.Fatalf("without the line: exit %d\n%s", code, out)
	}
}
