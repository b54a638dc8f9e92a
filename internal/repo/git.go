// Package repo reads and writes the facts of a git repository through the
// real git binary: tags, diffs, first-parent history with trailers, shallow
// and dirty checks, tagging and pushing. It turns them into a plan with
// PlanFor.
package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// Codes raised by this package.
const (
	CodeShallowClone = "PIOT_SHALLOW_CLONE"
	CodeNotARepo     = "PIOT_NOT_A_GIT_REPO"
	CodeNoCommits    = "PIOT_NO_COMMITS"
	CodeGitMissing   = "PIOT_GIT_NOT_FOUND"
	CodeGit          = "PIOT_GIT_FAILED"
)

// GitError is a git command that exited non-zero.
type GitError struct {
	Args     []string
	ExitCode int
	Stderr   string
}

func (e *GitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.ExitCode)
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

// gitEnv pins what would change git's output format; the rest of the
// environment (HOME, identity, GIT_* overrides a user set) passes through.
var gitEnv = []string{"LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat", "GIT_OPTIONAL_LOCKS=0"}

func command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	full := append([]string{"-C", dir, "-c", "core.quotepath=off", "-c", "log.showSignature=false"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Env = append(cmd.Environ(), gitEnv...)
	return cmd
}

// git runs git in dir and returns stdout. A non-zero exit is a *GitError.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return gitIn(ctx, dir, nil, args...)
}

func gitIn(ctx context.Context, dir string, stdin []byte, args ...string) ([]byte, error) {
	cmd := command(ctx, dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return nil, wrapRunErr(ctx, args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func wrapRunErr(ctx context.Context, args []string, err error, stderr string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &GitError{Args: args, ExitCode: ee.ExitCode(), Stderr: stderr}
	}
	if errors.Is(err, exec.ErrNotFound) {
		return diag.New(CodeGitMissing, "git is not installed or not on PATH").Wrap(err).
			WithHint("install git; putitoutthere reads tags and history with it")
	}
	return fmt.Errorf("running git %s: %w", strings.Join(args, " "), err)
}

// classify turns the common "this is not a usable repository" git failures
// into user-facing errors; other errors pass through.
func classify(dir string, err error) error {
	var ge *GitError
	if !errors.As(err, &ge) {
		return err
	}
	s := ge.Stderr
	switch {
	case strings.Contains(s, "not a git repository"):
		return diag.New(CodeNotARepo, "%s is not inside a git repository", dir).Wrap(err).
			WithHint("run putitoutthere from a clone of your repository (or pass --cwd)")
	case strings.Contains(s, "ambiguous argument 'HEAD'"), strings.Contains(s, "unknown revision"),
		strings.Contains(s, "does not have any commits"), strings.Contains(s, "bad default revision 'HEAD'"):
		return diag.New(CodeNoCommits, "the repository at %s has no commits yet", dir).Wrap(err).
			WithHint("commit your work first; the plan compares HEAD with the last release tags")
	case strings.Contains(s, "diff-merges"):
		return diag.New(CodeGit, "this git is too old for putitoutthere").Wrap(err).
			WithHint("install git 2.31 or newer (the plan reads history with --diff-merges=first-parent)")
	case strings.Contains(s, "dubious ownership"):
		return diag.New(CodeGit, "git refuses to read %s: dubious ownership", dir).Wrap(err).
			WithHint("run `git config --global --add safe.directory %s` (in Actions, actions/checkout does this for you)", dir)
	}
	return diag.New(CodeGit, "git failed").Wrap(err).WithHint("check that %s is a healthy clone; the git error above says what failed", dir)
}
