package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// The polyglot example (examples/make-example-repo.sh) with its Rust core
// going 0.x → 1.0: the maturin wheel's and the npm CLI's Cargo.toml require
// polyglot-core "0.1.0" by path, which 1.0.0 does not satisfy (cargo would
// refuse to build either), so plan gives the requirement as their reason
// and prepare rewrites it with the versions.
func TestExampleCoreToOneRewritesDependents(t *testing.T) {
	for _, tool := range []string{"bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	script, _ := filepath.Abs(filepath.Join("..", "..", "examples", "make-example-repo.sh"))
	dir := filepath.Join(t.TempDir(), "polyglot")
	if out, err := exec.Command("bash", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("make-example-repo.sh: %v\n%s", err, out)
	}
	home := t.TempDir()
	e := env.Env{"PATH": os.Getenv("PATH"), "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
	gitRun(t, dir, e, "commit", "-q", "--allow-empty", "-m", "core: stable api", "-m", "release: major [core]")
	run := func(args ...string) string {
		cliMu.Lock()
		defer cliMu.Unlock()
		var out, errb bytes.Buffer
		if code := MainEnv(t.Context(), append([]string{"--cwd", dir}, args...), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	plan := run("plan")
	for _, want := range []string{
		"core     crates  1.0.0",
		`requires core "0.1.0", which does not accept 1.0.0: rewritten to "1.0.0"`,
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	for _, pkg := range []string{"core-py", "cli"} {
		found := false
		for _, l := range strings.Split(plan, "\n") {
			found = found || strings.HasPrefix(l, pkg+" ") && strings.Contains(l, `requires core "0.1.0"`)
		}
		if !found {
			t.Errorf("plan does not give %s the requirement as a reason:\n%s", pkg, plan)
		}
	}
	run("prepare", "--package", "cli")
	for rel, want := range map[string]string{
		"crates/core/Cargo.toml":        `version = "1.0.0"`,
		"npm/cli/Cargo.toml":            `polyglot-core = { path = "../../crates/core", version = "1.0.0" }`,
		"python/core-py/Cargo.toml":     `polyglot-core = { path = "../../crates/core", version = "1.0.0" }`,
		"python/core-py/pyproject.toml": `version = "0.2.0"`,
	} {
		b, _ := os.ReadFile(filepath.Join(dir, rel))
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q:\n%s", rel, want, b)
		}
	}
	// Only the manifests changed.
	status := gitRun(t, dir, e, "status", "--porcelain")
	for _, l := range strings.Split(status, "\n") {
		if !strings.HasSuffix(l, "Cargo.toml") && !strings.HasSuffix(l, "pyproject.toml") && !strings.HasSuffix(l, "package.json") {
			t.Errorf("prepare changed %q", l)
		}
	}
}
