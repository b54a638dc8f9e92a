package github

import (
	"context"
	"fmt"
	"net/http"
)

// RepoInfo is what GET /repos/{owner}/{repo} says about the identity the
// registries match: the numeric IDs GitHub puts in OIDC tokens.
type RepoInfo struct {
	ID         int64  `json:"id"`
	FullName   string `json:"full_name"`
	Visibility string `json:"visibility"`
	Private    bool   `json:"private"`
	Owner      struct {
		Login string `json:"login"`
		ID    int64  `json:"id"`
	} `json:"owner"`
}

// Repo reads owner/repo.
func (c *Client) Repo(ctx context.Context, token, owner, repo string) (*RepoInfo, error) {
	var out RepoInfo
	if _, err := c.do(ctx, http.MethodGet, c.api("/repos/%s/%s", owner, repo), token, nil, &out); err != nil {
		return nil, fmt.Errorf("reading repository %s/%s: %w", owner, repo, err)
	}
	return &out, nil
}

// SubCustomization is the repository's OIDC subject template
// (GET /repos/{owner}/{repo}/actions/oidc/customization/sub).
type SubCustomization struct {
	UseDefault       bool     `json:"use_default"`
	IncludeClaimKeys []string `json:"include_claim_keys"`
}

// OIDCSub reads the repository's OIDC subject customisation.
func (c *Client) OIDCSub(ctx context.Context, token, owner, repo string) (*SubCustomization, error) {
	var out SubCustomization
	if _, err := c.do(ctx, http.MethodGet, c.api("/repos/%s/%s/actions/oidc/customization/sub", owner, repo), token, nil, &out); err != nil {
		return nil, fmt.Errorf("reading the OIDC subject template of %s/%s: %w", owner, repo, err)
	}
	return &out, nil
}
