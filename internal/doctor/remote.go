package doctor

import (
	"context"
	"os/exec"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/registry/github"
)

// ParseRemote reads owner and repository from a git remote URL in any form
// git accepts for GitHub (and package.json's git+https://).
func ParseRemote(u string) (owner, repo string, ok bool) { return github.ParseRemote(u) }

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
