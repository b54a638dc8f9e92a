package doctor

import (
	"strings"
	"testing"
)

// A workflow and environment renamed together are both reported, and a
// package without a declaration gets a neutral line of its own.
func TestDeclaredRenameBothAndPartial(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml": `[putitoutthere]
version = 1

[[package]]
name = "foo"
kind = "crates"
path = "foo"
paths = ["foo/**"]
[package.trust_policy]
workflow = "release.yml"
environment = "release"

[[package]]
name = "pyfoo"
kind = "pypi"
path = "py"
paths = ["py/**"]
`,
		"foo/Cargo.toml":    "[package]\nname = \"foo\"\nversion = \"0.1.0\"\n",
		"py/pyproject.toml": "[project]\nname = \"pyfoo\"\nversion = \"0.1.0\"\n",
		".github/workflows/patch-release.yml": `on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions: {id-token: write, contents: write}
    environment: production
    steps:
      - run: npx putitoutthere publish
`,
	})
	p := run(t, root, nil).Phase(PhaseDeclared)
	if p.Status != Fail {
		t.Fatalf("status %s, want fail", p.Status)
	}
	codes := map[string]Issue{}
	for _, is := range p.Issues() {
		codes[is.Code] = is
	}
	if _, ok := codes[CodeDeclaredWorkflow]; !ok {
		t.Errorf("no %s issue: %+v", CodeDeclaredWorkflow, p.Issues())
	}
	env, ok := codes[CodeDeclaredEnvironment]
	if !ok || !strings.Contains(env.Message, "`production`") || env.File != ".github/workflows/patch-release.yml" || env.Line != 6 {
		t.Errorf("environment issue = %+v, want one naming `production` at patch-release.yml:6", env)
	}
	var neutral bool
	for _, c := range p.Checks {
		if c.Status == Neutral && strings.HasPrefix(c.Text, "pyfoo (pypi): not declared") {
			neutral = true
		}
	}
	if !neutral {
		t.Errorf("no neutral line for the undeclared package: %+v", p.Checks)
	}
}

// With no `permissions:` anywhere, each missing permission's hint explains
// the repository default for that permission, not for the other one.
func TestDefaultPermissionHints(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    environment: release\n    steps:\n      - run: npx putitoutthere publish\n",
	})
	hints := map[string]string{}
	for _, is := range run(t, root, nil).Phase(PhaseLocal).Issues() {
		hints[is.Code] = is.Hint
	}
	if h := hints[CodeMissingIDToken]; !strings.Contains(h, "never includes `id-token`") {
		t.Errorf("id-token hint: %q", h)
	}
	if h := hints[CodeMissingContents]; h == "" || strings.Contains(h, "id-token") || !strings.Contains(h, "read-only") {
		t.Errorf("contents hint: %q", h)
	}
}
