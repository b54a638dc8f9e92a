package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

const rehearseConfig = `[putitoutthere]
version = 1

[[package]]
name = "utils"
kind = "pypi"
path = "py/utils"
paths = ["py/utils/**"]
pypi = "rehearse-utils"

[package.trust_policy]
workflow = "release.yml"
environment = "release"
repository = "acme/mono"
`

const rehearseCrate = `
[[package]]
name = "core"
kind = "crates"
# "core" itself is a name crates.io reserves
crate = "acme-core"
path = "crates/core"
paths = ["crates/core/**"]
`

const rehearseWorkflow = `name: release
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
        with:
          fetch-depth: 0
      - run: npx putitoutthere publish
`

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// rehearsalRepo is a repository whose pypi package was released before
// (tag utils-v0.1.0) and changed since; withCrate adds a crate never released.
func rehearsalRepo(t *testing.T, workflow string, withCrate bool) string {
	dir := t.TempDir()
	cfg := rehearseConfig
	files := map[string]string{
		".github/workflows/release.yml": workflow,
		"py/utils/pyproject.toml":       "[project]\nname = \"rehearse-utils\"\nversion = \"0.1.0\"\n",
		"py/utils/utils.py":             "X = 1\n",
	}
	if withCrate {
		cfg += rehearseCrate
		files["crates/core/Cargo.toml"] = "[package]\nname = \"acme-core\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"d\"\nlicense = \"MIT\"\n"
		files["crates/core/src/lib.rs"] = ""
	}
	files["putitoutthere.toml"] = cfg
	writeFiles(t, dir, files)
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-qm", "initial")
	gitIn(t, dir, "tag", "utils-v0.1.0")
	writeFiles(t, dir, map[string]string{"py/utils/utils.py": "X = 2\n"})
	gitIn(t, dir, "commit", "-qam", "utils: change X")
	gitIn(t, dir, "remote", "add", "origin", "https://github.com/acme/mono.git")
	return dir
}

// snapshot is everything rehearse must leave as it was.
func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	b.WriteString(gitIn(t, dir, "status", "--porcelain", "--ignored"))
	b.WriteString(gitIn(t, dir, "tag", "-l"))
	b.WriteString(gitIn(t, dir, "remote", "-v"))
	b.WriteString(gitIn(t, dir, "rev-parse", "HEAD"))
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "%s %x\n", p, sha256.Sum256(data))
		return nil
	})
	return b.String()
}

func rehearseIn(t *testing.T, dir string, extra ...string) (int, string, map[string]any) {
	t.Helper()
	e := env.Env{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}
	var out, errb bytes.Buffer
	args := append([]string{"--cwd", dir, "--json", "rehearse"}, extra...)
	code := MainEnv(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("--json must print one document: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	return code, out.String() + errb.String(), doc
}

func TestRehearse(t *testing.T) {
	cases := []struct {
		name     string
		workflow string
		rename   string // rename the workflow file to this
		crate    bool
		trust    []string
		code     int
		want     []string // substrings of the output
		uploads  bool     // whether PyPI uploads happen
	}{
		{name: "happy path", workflow: rehearseWorkflow, code: 0, want: []string{`"outcome": "ok"`, `"path": "/legacy/"`, `"status": 200`,
			"PEP 740 attestation(s) signed for release.yml @ acme/mono and verified against the files",
			"rehearse_utils-0.1.1-py3-none-any.whl uploaded with its PEP 740 attestation", "rehearse_utils-0.1.1.tar.gz uploaded with its PEP 740 attestation",
			`"registry": "Sigstore"`}, uploads: true},
		{name: "workflow renamed", workflow: rehearseWorkflow, rename: "patch-release.yml", code: 1,
			want: []string{"PIOT_PYPI_INVALID_PUBLISHER", "invalid-publisher", "patch-release.yml"}},
		{name: "environment renamed", workflow: strings.Replace(rehearseWorkflow, "environment: release", "environment: production", 1), code: 1,
			want: []string{"PIOT_PYPI_INVALID_PUBLISHER", "production"}},
		{name: "id-token removed", workflow: strings.Replace(rehearseWorkflow, "      id-token: write\n", "", 1), code: 1,
			want: []string{"id-token"}},
		{name: "first crate without a fallback token", workflow: rehearseWorkflow, crate: true, code: 1,
			want: []string{"PIOT_FIRST_PUBLISH_NEEDS_TOKEN", "CARGO_REGISTRY_TOKEN"}},
		{name: "--trust overrides the declaration", workflow: rehearseWorkflow, trust: []string{"utils=acme/mono:other.yml"}, code: 1,
			want: []string{"PIOT_PYPI_INVALID_PUBLISHER", `"source": "--trust"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := rehearsalRepo(t, c.workflow, c.crate)
			if c.rename != "" {
				gitIn(t, dir, "mv", ".github/workflows/release.yml", ".github/workflows/"+c.rename)
				gitIn(t, dir, "commit", "-qm", "rename the release workflow")
			}
			before := snapshot(t, dir)
			var extra []string
			for _, tr := range c.trust {
				extra = append(extra, "--trust", tr)
			}
			code, out, doc := rehearseIn(t, dir, extra...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q\n%s", w, out)
				}
			}
			uploaded := strings.Contains(out, `"path": "/legacy/"`)
			if uploaded != c.uploads {
				t.Errorf("uploads happened = %v, want %v (nothing may be uploaded when a check refuses)", uploaded, c.uploads)
			}
			if doc["exchanges"] == nil && c.code == 0 {
				t.Error("the registries' answers are missing")
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("rehearse changed the repository:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func TestRehearseBadTrustFlag(t *testing.T) {
	dir := rehearsalRepo(t, rehearseWorkflow, false)
	code, out, _ := rehearseIn(t, dir, "--trust", "utils=acme:release.yml")
	if code != 2 || !strings.Contains(out, "PIOT_REHEARSE_TRUST_FLAG") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
