package token

import (
	"context"
	"github.com/putitoutthere/putitoutthere/internal/ghactions"
	"os/exec"
	"slices"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	gh "github.com/putitoutthere/putitoutthere/internal/registry/github"
)

// Coverage says which credentials could serve one configured package.
type Coverage struct {
	Package  string   `json:"package"`
	Kind     string   `json:"kind"`
	Covered  bool     `json:"covered"` // a credential of its registry exists somewhere
	By       []string `json:"credentials,omitempty"`
	OIDCHere bool     `json:"oidc_available"` // OIDC can be requested in this environment
	Note     string   `json:"note,omitempty"`
}

// CrossCheck relates the credentials found to putitoutthere.toml.
type CrossCheck struct {
	Packages []Coverage `json:"packages"`
	// Unused are credentials whose registry has no configured package.
	Unused []string `json:"unused,omitempty"`
	// NotRead are env credentials putitoutthere itself never reads (e.g.
	// TWINE_PASSWORD), with the variable it reads instead.
	NotRead []string `json:"not_read,omitempty"`
	Notes   []string `json:"notes"`
}

func label(c Credential) string {
	switch c.Source {
	case SourceEnv:
		return c.Name + " (env)"
	case SourceRepoSecret:
		return c.Name + " (repo secret)"
	}
	return c.Name + " (environment secret " + c.Environment + ")"
}

// Check relates creds to cfg's packages.
func Check(cfg *config.Config, creds []Credential, e env.Env) CrossCheck {
	cc := CrossCheck{Notes: []string{}}
	kinds := map[string]bool{}
	for _, p := range cfg.Packages {
		kinds[p.Kind] = true
		cov := Coverage{Package: p.Name, Kind: p.Kind, OIDCHere: e.OIDCAvailable()}
		for _, c := range creds {
			if c.Set && c.Registry == p.Kind {
				cov.By = append(cov.By, label(c))
			}
		}
		cov.Covered = len(cov.By) > 0
		if !cov.Covered {
			cov.Note = p.Name + " (" + p.Kind + "): no credential in the environment or in secrets; it publishes only through OIDC trusted publishing"
			if cov.OIDCHere {
				cov.Note += " (OIDC is available here)"
			} else {
				cov.Note += " (needs " + auth.Resolve(p.Kind, env.Env{}).Needs + ")"
			}
			cc.Notes = append(cc.Notes, cov.Note)
		}
		cc.Packages = append(cc.Packages, cov)
	}
	for _, c := range creds {
		if !c.Set || c.Registry == Unknown {
			continue
		}
		if !kinds[c.Registry] {
			l := label(c)
			cc.Unused = append(cc.Unused, l)
			cc.Notes = append(cc.Notes, l+": a "+c.Registry+" credential, but putitoutthere.toml has no "+c.Registry+" package")
			continue
		}
		if c.Source == SourceEnv {
			reads := auth.TokenVars(c.Registry)
			if !slices.Contains(reads, c.Name) {
				l := label(c)
				cc.NotRead = append(cc.NotRead, l)
				cc.Notes = append(cc.Notes, l+": putitoutthere does not read this variable; "+c.Registry+" publishes read "+strings.Join(reads, " or "))
			}
		}
	}
	return cc
}

// CurrentRepo returns owner/repo of the repository the command runs in:
// GITHUB_REPOSITORY, else the `origin` remote of dir.
func CurrentRepo(ctx context.Context, e env.Env, dir string) (owner, repo string, ok bool) {
	if v := e.Value("GITHUB_REPOSITORY"); v != "" {
		if o, r, found := ghactions.SplitRepository(v); found {
			return o, r, true
		}
	}
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "remote", "get-url", "origin")
	cmd.Env = append(e.List(), "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.Output()
	if err != nil {
		return "", "", false
	}
	return gh.ParseRemote(string(out))
}
