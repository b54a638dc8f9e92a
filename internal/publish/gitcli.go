package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// BotName and BotEmail tag when git has no committer identity (a fresh runner).
const (
	BotName  = "github-actions[bot]"
	BotEmail = "41898282+github-actions[bot]@users.noreply.github.com"
)

// GitCLI implements Git with the git binary. Arguments are passed to exec
// directly, never through a shell.
type GitCLI struct {
	Runner run.Runner
	Env    env.Env // GIT_* and SSH_AUTH_SOCK are passed on; nothing else beyond the allowlist
}

var _ Git = (*GitCLI)(nil)

func (g *GitCLI) git(ctx context.Context, dir string, args ...string) (string, error) {
	var extra []string
	for _, k := range g.Env.Names() {
		if strings.HasPrefix(k, "GIT_") || k == "SSH_AUTH_SOCK" || k == "XDG_CONFIG_HOME" {
			extra = append(extra, k+"="+g.Env.Value(k))
		}
	}
	res, err := g.Runner.Run(ctx, run.Cmd{Dir: dir, Name: "git", Args: args, Env: extra})
	return res.Stdout, err
}

func exitCode(err error) int {
	var re *run.RunError
	if errors.As(err, &re) {
		return re.ExitCode
	}
	return -1
}

// HeadCommit implements Git.
func (g *GitCLI) HeadCommit(ctx context.Context, dir string) (string, error) {
	out, err := g.git(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}")
	return strings.TrimSpace(out), err
}

// TagExists implements Git.
func (g *GitCLI) TagExists(ctx context.Context, dir, tag string) (string, bool, error) {
	out, err := g.git(ctx, dir, "rev-parse", "-q", "--verify", "refs/tags/"+tag+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 {
			return "", false, nil
		}
		return "", false, err
	}
	return strings.TrimSpace(out), true, nil
}

// CreateAnnotatedTag implements Git; without a committer identity it tags as
// github-actions[bot] rather than fail.
func (g *GitCLI) CreateAnnotatedTag(ctx context.Context, dir, name, msg, commit string) error {
	args := []string{"tag", "-a", "-m", msg, name, commit}
	if _, err := g.git(ctx, dir, "var", "GIT_COMMITTER_IDENT"); err != nil {
		args = append([]string{"-c", "user.name=" + BotName, "-c", "user.email=" + BotEmail}, args...)
	}
	_, err := g.git(ctx, dir, args...)
	return err
}

// TagSubject implements Git.
func (g *GitCLI) TagSubject(ctx context.Context, dir, tag string) (string, error) {
	out, err := g.git(ctx, dir, "for-each-ref", "--format=%(objecttype)%00%(contents:subject)", "refs/tags/"+tag)
	if err != nil {
		return "", err
	}
	kind, subj, _ := strings.Cut(strings.TrimSpace(out), "\x00")
	if kind != "tag" {
		return "", nil
	}
	return subj, nil
}

// PushTag implements Git.
func (g *GitCLI) PushTag(ctx context.Context, dir, remote, tag string) error {
	_, err := g.git(ctx, dir, "push", "--porcelain", remote, "refs/tags/"+tag+":refs/tags/"+tag)
	return err
}

// HasRemote implements Git.
func (g *GitCLI) HasRemote(ctx context.Context, dir, remote string) (bool, error) {
	out, err := g.git(ctx, dir, "remote")
	if err != nil {
		return false, err
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == remote {
			return true, nil
		}
	}
	return false, nil
}

// SubjectsBetween implements Git. An unknown from (first release, or a tag
// that is gone) lists the whole history up to to.
func (g *GitCLI) SubjectsBetween(ctx context.Context, dir, from, to string) ([]string, error) {
	rng := to
	if from != "" {
		if _, ok, err := g.TagExists(ctx, dir, from); err == nil && ok {
			rng = "refs/tags/" + from + ".." + to
		}
	}
	out, err := g.git(ctx, dir, "log", "--no-merges", "--max-count=500", "--format=%s%x00", rng, "--")
	if err != nil {
		return nil, err
	}
	var subjects []string
	for _, s := range strings.Split(out, "\x00") {
		if s = strings.TrimSpace(s); s != "" {
			subjects = append(subjects, s)
		}
	}
	return subjects, nil
}

// Dirty implements Git: changed, staged or untracked paths not under ignore.
func (g *GitCLI) Dirty(ctx context.Context, dir string, ignore []string) ([]string, error) {
	out, err := g.git(ctx, dir, "status", "--porcelain=v1", "-z", "--untracked-files=all")
	if err != nil {
		return nil, fmt.Errorf("git status: %w", err)
	}
	var dirty []string
	entries := strings.Split(out, "\x00")
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if len(e) < 4 {
			continue
		}
		status, p := e[:2], e[3:]
		if status[0] == 'R' || status[0] == 'C' {
			i++ // the next entry is the source path
		}
		if !ignored(p, ignore) {
			dirty = append(dirty, p)
		}
	}
	return dirty, nil
}

func ignored(p string, ignore []string) bool {
	for _, ig := range ignore {
		if strings.HasSuffix(ig, "/") && strings.HasPrefix(p, ig) || p == ig {
			return true
		}
	}
	return false
}
