package publish

import (
	"context"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

// TaggedFromGit implements Options.Tagged with the repository's tags: the
// last release tag of every package (reachable from HEAD, semver order) and
// the one before it, from one `git for-each-ref`.
func TaggedFromGit(ctx context.Context, dir string, cfg *config.Config) (map[string]Tagged, error) {
	tags, err := repo.ReachableTags(ctx, dir)
	if err != nil {
		return nil, err
	}
	last, err := plan.LastTags(cfg, tags)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, t := range last {
		taken[t.Tag] = true
	}
	var rest []plan.Tag
	for _, t := range tags {
		if !taken[t.Name] {
			rest = append(rest, t)
		}
	}
	prev, err := plan.LastTags(cfg, rest)
	if err != nil {
		return nil, err
	}
	out := map[string]Tagged{}
	for name, t := range last {
		out[name] = Tagged{Tag: t.Tag, Version: t.Version, Commit: t.Commit, PrevTag: prev[name].Tag}
	}
	return out, nil
}
