package npm

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// StageItem is one staged version, as `npm stage list|view --json` prints
// it (npm lib/commands/stage/list.js, view.js; lib/utils/key-values.js).
type StageItem struct {
	ID          string `json:"id"`
	PackageName string `json:"packageName"`
	Version     string `json:"version"`
	Tag         string `json:"tag"`
	CreatedAt   string `json:"createdAt"`
	Actor       string `json:"actor"`
	ActorType   string `json:"actorType"`
	Shasum      string `json:"shasum"`
}

// StageView reads one staged version (GET /-/stage/{id}). nil, nil: the
// registry has no such stage (approved or rejected). Reading stages needs a
// maintainer's token: the exchange's short-lived tokens cannot.
func (c *Client) StageView(ctx context.Context, token, id string) (*StageItem, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.url("-/stage/"+url.PathEscape(id)), "stage", token, "")
	if err != nil {
		return nil, err
	}
	var it StageItem
	status, err := c.do(ctx, req, &it)
	if status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading staged package %s: %w", id, err)
	}
	return &it, nil
}

// StageList lists the staged versions of name (GET /-/stage?package=, paged
// as npm pages it: perPage 100 until total is reached).
func (c *Client) StageList(ctx context.Context, token, name string) ([]StageItem, error) {
	var out []StageItem
	for page := 0; page < 100; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "perPage": {"100"}}
		if name != "" {
			q.Set("package", name)
		}
		req, err := c.newRequest(ctx, http.MethodGet, c.url("-/stage?"+q.Encode()), "stage", token, "")
		if err != nil {
			return nil, err
		}
		var v struct {
			Items []StageItem `json:"items"`
			Total int         `json:"total"`
		}
		if _, err := c.do(ctx, req, &v); err != nil {
			return nil, fmt.Errorf("listing staged versions of %s: %w", name, err)
		}
		out = append(out, v.Items...)
		if len(out) >= v.Total || len(v.Items) < 100 {
			break
		}
	}
	return out, nil
}

// TrustConfig is one trusted-publisher configuration of a package, as
// `npm trust list` reads it (GET /-/package/{escapedName}/trust;
// lib/commands/trust/*.js).
type TrustConfig struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Claims struct {
		Repository  string `json:"repository"`
		WorkflowRef struct {
			File string `json:"file"`
		} `json:"workflow_ref"`
		Environment string `json:"environment"`
	} `json:"claims"`
	Permissions []string `json:"permissions"`
}

// TrustConfigs reads a package's trusted publishers with a maintainer's
// token.
func (c *Client) TrustConfigs(ctx context.Context, token, name string) ([]TrustConfig, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.url("-/package/"+EscapeName(name)+"/trust"), "trust", token, "")
	if err != nil {
		return nil, err
	}
	var out []TrustConfig
	if _, err := c.do(ctx, req, &out); err != nil {
		return nil, fmt.Errorf("reading the trusted publishers of %s: %w", name, err)
	}
	return out, nil
}
