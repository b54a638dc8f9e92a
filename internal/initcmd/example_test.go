package initcmd

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// make-example-repo.sh builds the polyglot example as a git repository with
// the release history the docs describe.
func TestMakeExampleRepo(t *testing.T) {
	for _, tool := range []string{"bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	script, _ := filepath.Abs(filepath.Join("..", "..", "examples", "make-example-repo.sh"))
	dest := filepath.Join(t.TempDir(), "polyglot")
	out, err := exec.Command("bash", script, dest).CombinedOutput()
	if err != nil {
		t.Fatalf("make-example-repo.sh: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != dest {
		t.Errorf("printed %q, want %q", got, dest)
	}
	git := func(args ...string) string {
		t.Helper()
		b, err := exec.Command("git", append([]string{"-C", dest}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(b))
	}
	if got := git("tag", "--list"); got != "cli-v0.1.0\ncore-py-v0.1.0\ncore-v0.1.0\nutils-v0.1.0" {
		t.Errorf("tags:\n%s", got)
	}
	if got := git("remote", "get-url", "origin"); got != "https://github.com/polyglot-example/polyglot.git" {
		t.Errorf("origin = %q", got)
	}
	if got := git("status", "--porcelain"); got != "" {
		t.Errorf("worktree not clean:\n%s", got)
	}
	if got := git("rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
		t.Errorf("branch = %q", got)
	}
	// Every tag is on the first commit; the later history carries the trailers.
	log := git("log", "--first-parent", "--format=%s%n%b---", "core-v0.1.0..HEAD")
	for _, want := range []string{"release: minor", "release: patch [utils]", "utils: add is_blank", "docs: say how"} {
		if !strings.Contains(log, want) {
			t.Errorf("history lacks %q:\n%s", want, log)
		}
	}
	merge := git("log", "--merges", "--format=%H", "core-v0.1.0..HEAD")
	if merge == "" || strings.Contains(merge, "\n") {
		t.Fatalf("want one merge commit, got %q", merge)
	}
	if files := git("diff", "--name-only", merge+"^1", merge); files != "crates/core/README.md\ncrates/core/src/lib.rs" {
		t.Errorf("merge changes:\n%s", files)
	}
	// Deterministic: same script, same commit ids.
	dest2 := filepath.Join(t.TempDir(), "again")
	if out, err := exec.Command("bash", script, dest2).CombinedOutput(); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	b, _ := exec.Command("git", "-C", dest2, "rev-parse", "HEAD").Output()
	if strings.TrimSpace(string(b)) != git("rev-parse", "HEAD") {
		t.Error("history is not reproducible")
	}
	if _, err := config.Load(filepath.Join(dest, config.FileName)); err != nil {
		t.Errorf("example config: %v", err)
	}
	// A non-empty destination is refused.
	if err := exec.Command("bash", script, dest).Run(); err == nil {
		t.Error("non-empty DEST accepted")
	}
}
