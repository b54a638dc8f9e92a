package publish

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

func gitT(t *testing.T, dir string, e []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = e
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestGitCLI(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	home := t.TempDir()
	// No committer identity anywhere: tagging must fall back to the bot.
	base := env.Env{"PATH": os.Getenv("PATH"), "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": filepath.Join(home, "nogit")}
	withID := append(base.List(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com")
	dir := t.TempDir()
	origin := t.TempDir()
	gitT(t, origin, withID, "init", "-q", "--bare")
	gitT(t, dir, withID, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	gitT(t, dir, withID, "add", ".")
	gitT(t, dir, withID, "commit", "-q", "-m", "first")
	gitT(t, dir, withID, "tag", "-a", "-m", "x", "x-v0.1.0")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("b"), 0o644)
	gitT(t, dir, withID, "commit", "-q", "-am", "second \xff\xfe")
	gitT(t, dir, withID, "commit", "-q", "--allow-empty", "-m", "third")

	g := &GitCLI{Runner: run.Exec{Base: base}, Env: base}
	ctx := t.Context()
	head, err := g.HeadCommit(ctx, dir)
	if err != nil || len(head) != 40 {
		t.Fatalf("head = %q, %v", head, err)
	}
	if _, ok, err := g.TagExists(ctx, dir, "x-v0.2.0"); ok || err != nil {
		t.Fatalf("TagExists = %v %v", ok, err)
	}
	if err := g.CreateAnnotatedTag(ctx, dir, "x-v0.2.0", "x 0.2.0", head); err != nil {
		t.Fatal(err)
	}
	if c, ok, err := g.TagExists(ctx, dir, "x-v0.2.0"); !ok || err != nil || c != head {
		t.Fatalf("TagExists = %q %v %v", c, ok, err)
	}
	if subj, err := g.TagSubject(ctx, dir, "x-v0.2.0"); err != nil || subj != "x 0.2.0" {
		t.Errorf("TagSubject = %q %v", subj, err)
	}
	gitT(t, dir, withID, "tag", "light")
	if subj, err := g.TagSubject(ctx, dir, "light"); err != nil || subj != "" {
		t.Errorf("lightweight TagSubject = %q %v", subj, err)
	}
	if tagger := gitT(t, dir, withID, "for-each-ref", "--format=%(taggername)", "refs/tags/x-v0.2.0"); tagger != BotName {
		t.Errorf("tagger = %q", tagger)
	}
	subj, err := g.SubjectsBetween(ctx, dir, "x-v0.1.0", head)
	if err != nil || len(subj) != 2 || subj[0] != "third" {
		t.Fatalf("subjects = %q %v", subj, err)
	}
	if all, _ := g.SubjectsBetween(ctx, dir, "", head); len(all) != 3 {
		t.Errorf("all subjects = %q", all)
	}
	if ok, _ := g.HasRemote(ctx, dir, "origin"); ok {
		t.Error("origin reported before it exists")
	}
	gitT(t, dir, withID, "remote", "add", "origin", origin)
	if ok, _ := g.HasRemote(ctx, dir, "origin"); !ok {
		t.Error("origin not found")
	}
	if err := g.PushTag(ctx, dir, "origin", "x-v0.2.0"); err != nil {
		t.Fatal(err)
	}
	if err := g.PushTag(ctx, dir, "origin", "x-v0.2.0"); err != nil {
		t.Fatalf("re-push of the same tag must be a no-op: %v", err)
	}
	if got := gitT(t, origin, withID, "tag"); got != "x-v0.2.0" {
		t.Errorf("origin tags = %q", got)
	}
	os.MkdirAll(filepath.Join(dir, "artifacts", "x"), 0o755)
	os.WriteFile(filepath.Join(dir, "artifacts", "x", "f.crate"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("c"), 0o644)
	os.WriteFile(filepath.Join(dir, "stray.txt"), nil, 0o644)
	dirty, err := g.Dirty(ctx, dir, []string{"artifacts/", "a.txt"})
	if err != nil || !slices.Equal(dirty, []string{"stray.txt"}) {
		t.Errorf("dirty = %q %v", dirty, err)
	}
	if err := g.PushTag(ctx, dir, "origin", "nope"); err == nil {
		t.Error("pushing a missing tag must fail")
	}
}
