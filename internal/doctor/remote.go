package doctor

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// ParseRemote reads owner and repository from a git remote URL in any form
// git accepts for GitHub: https://[user@]host/o/r[.git], ssh://git@host[:port]/o/r[.git],
// git@host:o/r[.git], git://host/o/r, and git+https:// (package.json).
func ParseRemote(u string) (owner, repo string, ok bool) {
	u = strings.TrimSpace(u)
	u = strings.TrimPrefix(u, "git+")
	var path string
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		slash := strings.Index(rest, "/")
		if slash < 0 {
			return "", "", false
		}
		path = rest[slash+1:]
	} else if at := strings.Index(u, "@"); at >= 0 && strings.Contains(u[at:], ":") {
		// scp-like: git@github.com:owner/repo.git
		path = u[at+strings.Index(u[at:], ":")+1:]
	} else {
		return "", "", false
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	parts := strings.Split(path, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// originURL is the `origin` remote of the repository, "" when unknown.
func (st *state) originURL(ctx context.Context) string {
	if st.opt.Remote != nil {
		return st.opt.Remote(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "remote", "get-url", "origin")
	cmd.Dir = st.opt.Root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
