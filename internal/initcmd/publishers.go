package initcmd

import (
	"regexp"
	"sort"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// Publisher is an existing workflow job that publishes to a registry: what
// the repository released with before, and the trusted publisher it implies
// (registries match the workflow's file name and the job's environment).
type Publisher struct {
	Workflow    string   `json:"workflow"` // file name, e.g. release.yml
	Job         string   `json:"job"`
	Environment string   `json:"environment,omitempty"`
	Kinds       []string `json:"kinds"` // crates, pypi, npm
	Tool        string   `json:"tool"`  // cargo publish, maturin, twine, …
}

// publisherRules: how each tool's step is recognised, and what it publishes.
var publisherRules = []struct {
	tool  string
	kinds []string
	run   *regexp.Regexp // matched against a step's run:
	uses  string         // prefix of a step's uses:
}{
	{"cargo publish", []string{config.KindCrates}, regexp.MustCompile(`\bcargo\s+(\+\S+\s+)?publish\b`), ""},
	{"release-plz", []string{config.KindCrates}, regexp.MustCompile(`\brelease-plz\s+release\b`), "release-plz/action"},
	{"cargo-workspaces", []string{config.KindCrates}, regexp.MustCompile(`\bcargo\s+(ws|workspaces)\s+publish\b`), ""},
	{"maturin", []string{config.KindPyPI}, regexp.MustCompile(`\bmaturin\s+(publish|upload)\b`), ""},
	{"uv publish", []string{config.KindPyPI}, regexp.MustCompile(`\buv\s+publish\b`), ""},
	{"twine", []string{config.KindPyPI}, regexp.MustCompile(`\btwine\s+upload\b`), ""},
	{"pypa/gh-action-pypi-publish", []string{config.KindPyPI}, nil, "pypa/gh-action-pypi-publish"},
	{"npm publish", []string{config.KindNPM}, regexp.MustCompile(`\b(npm|pnpm)\s+(-r\s+|--recursive\s+)?publish\b|\byarn\s+(npm\s+)?publish\b|\bnapi\s+prepublish\b`), ""},
	{"changesets", []string{config.KindNPM}, regexp.MustCompile(`\bchangeset\s+publish\b`), "changesets/action"},
	{"semantic-release", []string{config.KindNPM}, regexp.MustCompile(`\bsemantic-release\b`), "cycjimmy/semantic-release-action"},
}

// FindPublishers lists the jobs of the repository's workflows that publish
// with another tool. putitoutthere's own publish jobs are not listed.
func FindPublishers(root string) []Publisher {
	wfs, err := workflow.LoadDir(root)
	if err != nil {
		return nil
	}
	var out []Publisher
	for _, w := range wfs {
		if w == nil {
			continue
		}
		for _, j := range w.Jobs {
			var kinds []string
			var tools []string
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "putitoutthere") || strings.Contains(s.Uses, "putitoutthere") {
					continue
				}
				for _, r := range publisherRules {
					hit := (r.run != nil && r.run.MatchString(s.Run)) || (r.uses != "" && strings.HasPrefix(strings.ToLower(s.Uses), r.uses))
					if r.tool == "maturin" && strings.HasPrefix(strings.ToLower(s.Uses), "pyo3/maturin-action") {
						cmd := strings.ToLower(s.With["command"])
						hit = hit || cmd == "upload" || cmd == "publish"
					}
					if hit {
						kinds = appendNew(kinds, r.kinds...)
						tools = appendNew(tools, r.tool)
					}
				}
			}
			if len(kinds) == 0 {
				continue
			}
			sort.Strings(kinds)
			p := Publisher{Workflow: w.File, Job: j.ID, Kinds: kinds, Tool: strings.Join(tools, ", ")}
			if j.Environment != nil && !j.Environment.Expression {
				p.Environment = j.Environment.Name
			}
			out = append(out, p)
		}
	}
	return out
}

// applyPublishers gives each package the trusted publisher of the existing
// workflow that publishes its kind, with the file name publish will run
// from: when that is the existing file, the registered publisher keeps
// working; when init writes its workflow under another name (the existing
// one is not replaced without --force), the registration must name it and
// init says so.
func applyPublishers(found []Found, pubs []Publisher, releaseFile string) []string {
	var notes []string
	for i := range found {
		for _, p := range pubs {
			if !contains(p.Kinds, found[i].Kind) {
				continue
			}
			found[i].TrustPolicy = &FoundTrust{Workflow: releaseFile, Environment: p.Environment, From: p.Workflow}
			break
		}
	}
	for _, p := range pubs {
		n := "existing publish workflow " + p.Workflow + " (job " + p.Job + ", " + p.Tool + ") publishes " + strings.Join(p.Kinds, ", ")
		if p.Environment != "" {
			n += " from environment " + p.Environment
		}
		if p.Workflow != releaseFile {
			n += "; putitoutthere publishes from " + releaseFile + ": register that file as the trusted publisher (or move it over " + p.Workflow + " and set trust_policy.workflow), and remove the old publish job so each version is published once"
		} else {
			n += "; replaced by putitoutthere's workflow of the same name, so the registered trusted publisher keeps working"
		}
		notes = append(notes, n)
	}
	return notes
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
