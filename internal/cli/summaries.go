package cli

import (
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/rehearse"
)

// Step summaries (GITHUB_STEP_SUMMARY) of doctor, status and rehearse:
// the same facts as the text output, as Markdown GitHub renders on the run's
// page. plan's and publish's are beside their commands.

var doctorMark = map[doctor.Status]string{
	doctor.Pass: "✅", doctor.Fail: "❌", doctor.Warn: "⚠️", doctor.Neutral: "➖", doctor.Skip: "➖",
}

func doctorSummary(rep *doctor.Report) string {
	var b strings.Builder
	verdict := "✅ no problems found"
	switch {
	case rep.ConfigError:
		verdict = "❌ the config did not load"
	case rep.Failed():
		verdict = "❌ problems found"
	}
	fmt.Fprintf(&b, "### putitoutthere doctor: %s\n\n", verdict)
	for _, p := range rep.Phases {
		fmt.Fprintf(&b, "**%s** %s\n\n", mdEscape(p.Title), doctorMark[p.Status])
		for _, c := range p.Checks {
			fmt.Fprintf(&b, "- %s %s\n", doctorMark[c.Status], mdEscape(c.Text))
			for _, is := range c.Issues {
				line := is.Message
				if is.Hint != "" {
					line += " — " + is.Hint
				}
				where := ""
				if is.File != "" {
					where = " (`" + is.File
					if is.Line > 0 {
						where += fmt.Sprintf(":%d", is.Line)
						if is.Column > 0 {
							where += fmt.Sprintf(":%d", is.Column)
						}
					}
					where += "`)"
				}
				fmt.Fprintf(&b, "  - %s%s `%s`\n", mdEscape(line), where, is.Code)
			}
		}
		b.WriteString("\n")
	}
	if rep.Note != "" {
		fmt.Fprintf(&b, "> %s\n\n", mdEscape(rep.Note))
	}
	return b.String()
}

func statusSummary(sts []publish.PackageStatus, p *plan.Plan, warnings []string) string {
	var b strings.Builder
	b.WriteString("### putitoutthere status\n\n")
	b.WriteString("| package | kind | last tag | registry latest | planned | drift |\n|---|---|---|---|---|---|\n")
	for _, s := range sts {
		dash := func(v string) string {
			if v == "" {
				return "—"
			}
			return mdEscape(v)
		}
		latest := dash(s.Latest)
		if s.URL != "" && s.Latest != "" {
			latest = "[" + latest + "](" + s.URL + ")"
		}
		if s.Error != "" {
			latest = "❓ unknown"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(s.Name), s.Kind, dash(s.LastTag), latest, dash(s.Planned), driftText(s))
	}
	b.WriteString("\n")
	for _, s := range sts {
		for _, d := range s.Detail {
			fmt.Fprintf(&b, "- ⚠️ %s: %s\n", mdEscape(s.Name), mdEscape(d))
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "- ❓ %s: registry not read: %s\n", mdEscape(s.Name), mdEscape(firstLineOf(s.Error)))
		}
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "- ⚠️ %s\n", mdEscape(w))
	}
	if p != nil && len(p.Releases) == 0 {
		b.WriteString("\nNothing to release.\n")
	}
	b.WriteString("\n")
	return b.String()
}

// driftText is the drift column: `unknown` when the registry could not be
// read (no drift can be claimed either way), `none`, or the drift kinds.
func driftText(s publish.PackageStatus) string {
	switch {
	case len(s.Drift) > 0:
		return strings.Join(s.Drift, ",")
	case s.Error != "":
		return "unknown"
	}
	return "none"
}

func rehearseSummary(s *rehearse.Session, rep *publish.Report, perr error) string {
	var b strings.Builder
	verdict := "✅ passed: every registry accepted the release; nothing real was touched"
	if perr != nil {
		verdict = "❌ failed: the real publish would stop here too"
		if diag.CodeOf(perr) == publish.CodeToolMissing {
			verdict = "➖ could not run: this machine lacks a tool the rehearsal runs"
		}
	}
	fmt.Fprintf(&b, "### putitoutthere rehearse: %s\n\n", verdict)
	wf := s.Workflow
	if wf == "" {
		wf = "(none found)"
	}
	fmt.Fprintf(&b, "Repository `%s`, workflow `%s`, OIDC %v.\n\n", s.Identity.Repository, wf, s.OIDC)
	if rep != nil && len(rep.Packages) > 0 {
		b.WriteString("| | package | version | registry | auth |\n|---|---|---|---|---|\n")
		for _, p := range rep.Packages {
			fmt.Fprintf(&b, "| %s %s | %s | %s | %s | %s |\n", statusMark[p.Status], p.Status, mdEscape(p.Name), mdEscape(p.Version), mdEscape(p.Registry), mdEscape(p.Auth))
		}
		b.WriteString("\n")
	}
	if perr != nil {
		fmt.Fprintf(&b, "> [!CAUTION]\n> %s `%s`\n", mdEscape(firstLineOf(perr.Error())), diag.CodeOf(perr))
		if h := diag.HintOf(perr); h != "" {
			fmt.Fprintf(&b, ">\n> %s\n", mdEscape(h))
		}
		b.WriteString("\n")
	}
	return b.String()
}
