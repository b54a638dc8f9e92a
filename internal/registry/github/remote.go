package github

import (
	"net/url"
	"strings"
)

// ParseRemote extracts owner and repo from a GitHub remote URL in any of the
// forms git accepts: https://github.com/o/r(.git), git@github.com:o/r.git,
// ssh://git@github.com/o/r, git://…, with trailing slashes, userinfo and ports.
// Any host is accepted (GitHub Enterprise); ok is false when the path is not
// exactly owner/repo.
func ParseRemote(raw string) (owner, repo string, ok bool) {
	s := strings.TrimPrefix(strings.TrimSpace(raw), "git+") // package.json's git+https://
	if s == "" {
		return "", "", false
	}
	var path string
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", "", false
		}
		path = u.Path
	} else {
		// scp-like: [user@]host:owner/repo
		at := strings.LastIndex(s[:max(strings.Index(s, ":"), 0)], "@")
		host, p, found := strings.Cut(s[at+1:], ":")
		if !found || host == "" || strings.Contains(host, "/") {
			return "", "", false
		}
		path = p
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	parts := strings.Split(path, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
