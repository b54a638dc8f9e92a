package doctor

import (
	"path/filepath"
	"strings"
	"testing"
)

// A PyPI package published from a reusable workflow of this repository gets
// through PyPI's exchange but not its attestation check: doctor says so
// unless the package turns attestations off.
func TestReusableWorkflowAttestations(t *testing.T) {
	cfg := `[putitoutthere]
version = 1

[[package]]
name = "py"
kind = "pypi"
path = "py"
paths = ["py/**"]
`
	files := map[string]string{
		"putitoutthere.toml": cfg,
		"py/pyproject.toml":  "[project]\nname = \"py\"\n",
		".github/workflows/release.yml": `on: push
jobs:
  release:
    permissions: {contents: write, id-token: write}
    uses: ./.github/workflows/publish.yml
`,
		".github/workflows/publish.yml": `on: workflow_call
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: release
    permissions: {contents: write, id-token: write}
    steps:
      - run: npx putitoutthere publish
        env:
          GITHUB_TOKEN: ${{ github.token }}
`,
	}
	r := run(t, writeRepo(t, files), nil)
	var found *Issue
	for _, is := range r.Phase(PhaseLocal).Issues() {
		if is.Code == CodeReusableAttest {
			found = &is
		}
	}
	if found == nil || r.ExitCode() == 0 || found.File != filepath.ToSlash(filepath.Join(".github", "workflows", "publish.yml")) ||
		!strings.Contains(found.Message, "PyPI would refuse its attestations") || !strings.Contains(found.Hint, "attestations = false") {
		t.Fatalf("exit %d, issue %+v\n%s", r.ExitCode(), found, text(r))
	}

	files["putitoutthere.toml"] = strings.Replace(cfg, `paths = ["py/**"]`, "paths = [\"py/**\"]\nattestations = false", 1)
	r = run(t, writeRepo(t, files), nil)
	for _, is := range r.Phase(PhaseLocal).Issues() {
		if is.Code == CodeReusableAttest {
			t.Fatalf("reported with attestations = false:\n%s", text(r))
		}
	}
}
