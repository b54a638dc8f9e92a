package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Identity used for tags when git has no committer identity (a fresh runner).
const (
	BotName  = "github-actions[bot]"
	BotEmail = "41898282+github-actions[bot]@users.noreply.github.com"
)

// HeadCommit returns the full sha of HEAD.
func HeadCommit(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return "", classify(dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// IsDirty lists the paths (slash-separated, relative to the repository root)
// that are modified, staged, deleted or untracked, leaving out those matched
// by ignore (exact paths or doublestar globs). Ignored files (.gitignore) are
// not reported.
func IsDirty(ctx context.Context, dir string, ignore []string) ([]string, error) {
	out, err := git(ctx, dir, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none")
	if err != nil {
		return nil, classify(dir, err)
	}
	var dirty []string
	toks := bytes.Split(out, []byte{0})
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if len(t) < 4 {
			continue
		}
		status, path := string(t[:2]), string(t[3:])
		if status[0] == 'R' || status[0] == 'C' {
			i++ // the next token is the rename/copy source
			if i < len(toks) && len(toks[i]) > 0 && !ignored(string(toks[i]), ignore) {
				dirty = append(dirty, string(toks[i]))
			}
		}
		if !ignored(path, ignore) {
			dirty = append(dirty, path)
		}
	}
	sort.Strings(dirty)
	return dirty, nil
}

func ignored(path string, ignore []string) bool {
	for _, g := range ignore {
		g = strings.TrimPrefix(g, "./")
		if g == path {
			return true
		}
		if ok, err := doublestar.Match(g, path); err == nil && ok {
			return true
		}
	}
	return false
}

// CreateAnnotatedTag creates tag name with message msg at commit. When git
// has no committer identity (a fresh CI runner), it tags as
// github-actions[bot] instead of failing.
func CreateAnnotatedTag(ctx context.Context, dir, name, msg, commit string) error {
	if err := notOption("tag name", name, "commit", commit); err != nil {
		return err
	}
	args := []string{"tag", "-a", name, "-m", msg, commit}
	_, err := git(ctx, dir, args...)
	if err == nil {
		return nil
	}
	var ge *GitError
	if !errors.As(err, &ge) || !noIdentity(ge.Stderr) {
		return err
	}
	cmd := command(ctx, dir, args...)
	cmd.Env = append(cmd.Env,
		"GIT_COMMITTER_NAME="+BotName, "GIT_COMMITTER_EMAIL="+BotEmail,
		"GIT_AUTHOR_NAME="+BotName, "GIT_AUTHOR_EMAIL="+BotEmail)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return wrapRunErr(ctx, args, err, stderr.String())
	}
	return nil
}

func noIdentity(stderr string) bool {
	for _, s := range []string{"tell me who you are", "unable to auto-detect email", "empty ident name",
		"no email was given", "no name was given", "Author identity unknown", "Committer identity unknown"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// PushTag pushes refs/tags/<tag> to remote.
func PushTag(ctx context.Context, dir, remote, tag string) error {
	if err := notOption("remote", remote); err != nil {
		return err
	}
	ref := "refs/tags/" + tag
	_, err := git(ctx, dir, "push", "--quiet", remote, ref+":"+ref)
	return err
}

// TagExists reports whether tag exists locally and the commit it points at.
func TagExists(ctx context.Context, dir, tag string) (commit string, ok bool, err error) {
	out, err := git(ctx, dir, "rev-parse", "-q", "--verify", "refs/tags/"+tag+"^{commit}")
	if err != nil {
		var ge *GitError
		if errors.As(err, &ge) && ge.ExitCode == 1 && strings.TrimSpace(ge.Stderr) == "" {
			return "", false, nil
		}
		return "", false, classify(dir, err)
	}
	return strings.TrimSpace(string(out)), true, nil
}

// RemoteTagExists asks remote whether it has tag, and the commit it points
// at (peeled for annotated tags).
func RemoteTagExists(ctx context.Context, dir, remote, tag string) (commit string, ok bool, err error) {
	if err := notOption("remote", remote); err != nil {
		return "", false, err
	}
	ref := "refs/tags/" + tag
	out, err := git(ctx, dir, "ls-remote", "--tags", remote, ref, ref+"^{}")
	if err != nil {
		return "", false, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		sha, name, found := strings.Cut(line, "\t")
		if !found {
			continue
		}
		switch name {
		case ref + "^{}":
			return sha, true, nil // peeled wins
		case ref:
			commit, ok = sha, true
		}
	}
	return commit, ok, nil
}

// SubjectsBetween returns the subjects of commits reachable from to but not
// from fromTag (all of to's history when fromTag is empty), newest first:
// the release notes of a GitHub Release.
func SubjectsBetween(ctx context.Context, dir, fromTag, to string) ([]string, error) {
	if err := notOption("revision", to); err != nil {
		return nil, err
	}
	rng := to
	if fromTag != "" {
		rng = "refs/tags/" + fromTag + ".." + to
	}
	out, err := git(ctx, dir, "log", "-z", "--format=%s", rng, "--")
	if err != nil {
		return nil, classify(dir, err)
	}
	var subjects []string
	for _, s := range strings.Split(string(out), "\x00") {
		if s = strings.TrimSpace(s); s != "" {
			subjects = append(subjects, strings.ToValidUTF8(s, "\uFFFD"))
		}
	}
	return subjects, nil
}

// OriginURL returns the URL of the origin remote, or "" when there is none.
func OriginURL(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "remote", "get-url", "origin")
	if err != nil {
		var ge *GitError
		if errors.As(err, &ge) && (strings.Contains(ge.Stderr, "No such remote") || ge.ExitCode == 2) {
			return "", nil
		}
		return "", classify(dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// notOption refuses values that git would read as an option: they reach git
// as arguments (never through a shell), but "-x" is still a flag there.
// Pairs are (what, value).
func notOption(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.HasPrefix(pairs[i+1], "-") || pairs[i+1] == "" {
			return fmt.Errorf("invalid %s %q", pairs[i], pairs[i+1])
		}
	}
	return nil
}
