package publish

import (
	"context"
	"fmt"

	"github.com/putitoutthere/putitoutthere/internal/registry/github"
)

// GitHubReleases implements Releaser with the GitHub REST client.
type GitHubReleases struct {
	Client      *github.Client
	Token       string
	Owner, Repo string
}

var _ Releaser = (*GitHubReleases)(nil)

// EnsureRelease implements Releaser: an existing release is kept as it is.
func (g *GitHubReleases) EnsureRelease(ctx context.Context, tag, name, body, commit string) (string, error) {
	if rel, ok, err := g.Client.ReleaseByTag(ctx, g.Token, g.Owner, g.Repo, tag); err != nil {
		return "", err
	} else if ok {
		return rel.HTMLURL, nil
	}
	rel, err := g.Client.CreateRelease(ctx, g.Token, g.Owner, g.Repo, github.ReleaseInput{TagName: tag, TargetCommitish: commit, Name: name, Body: body})
	if err != nil {
		return "", fmt.Errorf("creating release %s: %w", tag, err)
	}
	return rel.HTMLURL, nil
}
