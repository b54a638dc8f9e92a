package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/ghactions"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// releasesSkippedWhy says why publish will create no GitHub Release, or ""
// when it will. A release is never skipped in silence: publish warns with
// this, and the Action passes github.token by default.
func releasesSkippedWhy(app *App) string {
	switch {
	case !app.Env.Has("GITHUB_TOKEN"):
		return "GITHUB_TOKEN is not set, so no GitHub Release is created (tags are still pushed); add `GITHUB_TOKEN: ${{ github.token }}` to the publish step's env (the putitoutthere action passes it by default) and give the job `permissions: contents: write`"
	case !app.Env.Has("GITHUB_REPOSITORY"):
		return "GITHUB_REPOSITORY is not set, so no GitHub Release is created (tags are still pushed); set it to OWNER/REPO (GitHub Actions sets it)"
	}
	return ""
}

// publishGitHub does publish's GitHub-side reporting after the run: the
// warnings as annotations, the releases-skipped warning, the outputs and
// the step summary. It never changes the run's outcome, except that an
// output that cannot be written is an error (a later job would read nothing).
func publishGitHub(app *App, rep *publish.Report, runErr error) error {
	if rep == nil {
		return nil
	}
	if app.InActions() {
		for _, w := range rep.Warnings {
			ghactions.Annotate(app.Err, ghactions.Warning, "", 0, w)
		}
	}
	tagged := false
	for _, p := range rep.Packages {
		if p.Status == publish.StatusPublished || p.Status == publish.StatusAlreadyPublished || p.Status == publish.StatusWouldPublish {
			tagged = true
		}
	}
	if why := releasesSkippedWhy(app); why != "" && tagged && !rep.Preflight {
		if rep.DryRun {
			why = "a real publish would create no GitHub Release: " + why
		}
		rep.Warnings = append(rep.Warnings, why)
		app.Warnf("%s", why)
	}
	app.Summary(publishSummary(app, rep, runErr))
	return publishOutputs(app, rep)
}

// PublishedOutput is one element of the `published` output.
type PublishedOutput struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Version  string `json:"version"`
	Registry string `json:"registry"`
	URL      string `json:"url"`
	Tag      string `json:"tag"`
}

// ReleaseOutput is one element of the `releases` output.
type ReleaseOutput struct {
	Tag string `json:"tag"`
	URL string `json:"url"`
}

// publishOutputs sets `published` (what this run uploaded), `tags` (tags
// this run created or pushed) and `releases` (GitHub Releases of this run's
// packages), each as compact JSON, always arrays.
func publishOutputs(app *App, rep *publish.Report) error {
	published := []PublishedOutput{}
	tags := []string{}
	releases := []ReleaseOutput{}
	for _, p := range rep.Packages {
		if p.Status == publish.StatusPublished {
			published = append(published, PublishedOutput{Name: p.Name, Kind: p.Kind, Version: p.Version, Registry: p.Registry, URL: p.URL, Tag: p.Tag})
		}
		switch p.TagState {
		case "created", "pushed", "not-pushed":
			tags = append(tags, p.Tag)
		}
		if p.Release != "" {
			releases = append(releases, ReleaseOutput{Tag: p.Tag, URL: p.Release})
		}
	}
	for _, name := range []string{"published", "tags", "releases"} {
		var v any
		switch name {
		case "published":
			v = published
		case "tags":
			v = tags
		default:
			v = releases
		}
		if err := app.Output(name, v); err != nil {
			return err
		}
	}
	return nil
}

var statusMark = map[string]string{
	publish.StatusPublished:        "✅",
	publish.StatusAlreadyPublished: "☑️",
	publish.StatusWouldPublish:     "🔍",
	publish.StatusReady:            "🔍",
	publish.StatusFailed:           "❌",
	publish.StatusNotAttempted:     "⏸️",
	publish.StatusStaged:           "⏳",
	publish.StatusRejected:         "🚫",
}

// publishSummary is the step summary: a row per package with links to the
// registry page, the tag and the GitHub Release, then warnings and the error.
func publishSummary(app *App, rep *publish.Report, runErr error) string {
	var b strings.Builder
	title := "putitoutthere publish"
	switch {
	case rep.Preflight:
		title += " (preflight check)"
	case rep.DryRun:
		title += " (dry run)"
	}
	fmt.Fprintf(&b, "### %s\n\n", title)
	if rep.Outcome == "nothing-to-release" {
		b.WriteString("Nothing to release.\n\n")
	}
	repoURL := ""
	if srv, slug := app.Env.Value("GITHUB_SERVER_URL"), app.Env.Value("GITHUB_REPOSITORY"); slug != "" {
		if srv == "" {
			srv = "https://github.com"
		}
		repoURL = strings.TrimRight(srv, "/") + "/" + slug
	}
	if len(rep.Packages) > 0 {
		b.WriteString("| | package | version | registry | tag | release |\n|---|---|---|---|---|---|\n")
		for _, p := range rep.Packages {
			ver := mdEscape(p.Version)
			if p.URL != "" && (p.Status == publish.StatusPublished || p.Status == publish.StatusAlreadyPublished) {
				ver = "[" + ver + "](" + p.URL + ")"
			}
			tag := mdEscape(p.Tag)
			if repoURL != "" && p.TagState != "" && p.TagState != "not-pushed" {
				tag = "[" + tag + "](" + repoURL + "/tree/" + url.PathEscape(p.Tag) + ")"
			}
			if p.TagState != "" {
				tag += " (" + p.TagState + ")"
			}
			rel := "—"
			if p.Release != "" {
				rel = "[release](" + p.Release + ")"
			}
			fmt.Fprintf(&b, "| %s %s | %s | %s | %s | %s | %s |\n", statusMark[p.Status], p.Status, mdEscape(p.Name), ver, mdEscape(p.Registry), tag, rel)
		}
		b.WriteString("\n")
	}
	for _, p := range rep.Packages {
		if p.Status == publish.StatusStaged && p.Approve != "" {
			fmt.Fprintf(&b, "> [!NOTE]\n> **%s %s is staged** and is not live until approved: %s\n\n", mdEscape(p.Name), mdEscape(p.Version), mdEscape(p.Approve))
		}
	}
	for _, u := range rep.RepairedReleases {
		fmt.Fprintf(&b, "Repaired release: %s\n\n", u)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(&b, "> [!WARNING]\n> %s\n\n", mdEscape(w))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(&b, "- ❌ %s\n", mdEscape(p))
	}
	if len(rep.Problems) > 0 {
		b.WriteString("\n")
	}
	if runErr != nil {
		fmt.Fprintf(&b, "> [!CAUTION]\n> %s `%s`\n", mdEscape(firstLineOf(runErr.Error())), diag.CodeOf(runErr))
		if h := diag.HintOf(runErr); h != "" {
			fmt.Fprintf(&b, ">\n> %s\n", mdEscape(h))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// groupRunner folds each tool run's output into a `::group::` named after
// the command (cargo publish, npm publish), so the log shows one line per
// tool that expands to its output.
type groupRunner struct {
	inner run.Runner
	w     io.Writer
}

func (g groupRunner) Run(ctx context.Context, c run.Cmd) (run.Result, error) {
	ghactions.Group(g.w, c.String())
	defer ghactions.EndGroup(g.w)
	return g.inner.Run(ctx, c)
}

// LookPath passes the inner runner's tool lookup through (see lookPathOf).
func (g groupRunner) LookPath(name string) error {
	if f := lookPathOf(g.inner); f != nil {
		return f(name)
	}
	return nil
}
