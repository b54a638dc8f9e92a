package auth

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// NoIDTokenReason says why a GitHub Actions run has no ID-token request
// variables although its job may grant `id-token: write`, or "" when the
// run gives no reason to think so. GitHub withholds ID tokens (and secrets)
// from runs triggered by a pull request from a fork and from Dependabot,
// whatever the workflow's permissions say (protocols §1.1).
func NoIDTokenReason(e env.Env) string {
	if !e.InActions() {
		return ""
	}
	ev := e.Value("GITHUB_EVENT_NAME")
	if strings.HasPrefix(ev, "pull_request") && ev != "pull_request_target" {
		if head, base := prRepos(e.Value("GITHUB_EVENT_PATH")); head != "" && !strings.EqualFold(head, base) {
			return fmt.Sprintf("this run is a `%s` from the fork %s: GitHub never gives a pull request from a fork an ID token, whatever the job's permissions", ev, head)
		}
	}
	if a := e.Value("GITHUB_ACTOR"); a == "dependabot[bot]" {
		return "this run was triggered by Dependabot, which GitHub gives no ID token"
	}
	return ""
}

// prRepos reads the head and base repositories of the pull request in the
// event payload at path ("" when unreadable).
func prRepos(path string) (head, base string) {
	if path == "" {
		return "", ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	var ev struct {
		PullRequest struct {
			Head struct {
				Repo struct {
					FullName string `json:"full_name"`
					Fork     bool   `json:"fork"`
				} `json:"repo"`
			} `json:"head"`
			Base struct {
				Repo struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"base"`
		} `json:"pull_request"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return "", ""
	}
	return ev.PullRequest.Head.Repo.FullName, ev.PullRequest.Base.Repo.FullName
}

// MissingOIDCHint is what to do when a package has neither OIDC nor a token
// in a run. jobGrants says whether the running job is known to grant
// `id-token: write` already (then adding it is not the fix).
func MissingOIDCHint(e env.Env, jobGrants bool) string {
	if why := NoIDTokenReason(e); why != "" {
		return why + "; publish from a `push`, `release` or `workflow_dispatch` run in this repository, or set the token variable named above"
	}
	if jobGrants {
		return "the job grants `id-token: write`, but this run got no ID-token request variables (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN): GitHub withholds them from pull requests from forks and Dependabot runs; publish from a `push`, `release` or `workflow_dispatch` run, or set the token variable named above"
	}
	return "give the publishing job `permissions: id-token: write` for OIDC trusted publishing, or set the token variable named above"
}
