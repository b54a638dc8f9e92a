// Package doctor runs the checks of `putitoutthere doctor` (SPEC §6) and
// renders their report. Each phase fills one Phase; the CLI only wires options
// in and prints.
package doctor

import (
	"fmt"
	"io"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/ghactions"
)

// Status of a phase or a check line.
type Status string

const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Skip    Status = "skip"
	Neutral Status = "neutral"
	// Warn is a check line that passes but carries a warning; a phase with
	// only warnings passes.
	Warn Status = "warn"
)

// Severities of issues.
const (
	SevError   = "error"
	SevWarning = "warning"
	SevInfo    = "info"
)

// Issue is one finding: a stable code, what is wrong (with the file it is in),
// and what to do.
type Issue struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Hint     string `json:"hint,omitempty"`
}

// Check is one ✓/✗ line and the issues printed under it.
type Check struct {
	Status Status  `json:"status"`
	Text   string  `json:"text"`
	Issues []Issue `json:"issues,omitempty"`
}

// Phase is one heading of the report.
type Phase struct {
	ID     string  `json:"id"`
	Title  string  `json:"title"`
	Status Status  `json:"status"`
	Checks []Check `json:"checks"`
	// prefix starts each issue line (`trust-policy`, `config`, `auth`).
	prefix string
}

// Phase ids, in report order.
const (
	PhaseConfig    = "config"
	PhaseAuth      = "auth"
	PhaseLocal     = "trust_policy_local"
	PhaseDeclared  = "trust_policy_declared"
	PhaseCratesIO  = "trust_policy_crates_io"
	PhaseClaims    = "trust_policy_oidc_claims"
	PhaseArtifacts = "artifacts"
	PhaseDeep      = "tokens"
)

func newPhase(id, title, prefix string) *Phase {
	return &Phase{ID: id, Title: title, prefix: prefix, Checks: []Check{}}
}

func (p *Phase) add(st Status, text string, issues ...Issue) {
	p.Checks = append(p.Checks, Check{Status: st, Text: text, Issues: issues})
}

// finish derives the phase status from its lines: any failure fails it;
// otherwise any pass passes it; a phase of only neutral/skip lines keeps the
// first such status.
func (p *Phase) finish() {
	st := Status("")
	for _, c := range p.Checks {
		switch c.Status {
		case Fail:
			p.Status = Fail
			return
		case Pass, Warn:
			st = Pass
		case Neutral, Skip:
			if st == "" {
				st = c.Status
			}
		}
	}
	if st == "" {
		st = Neutral
	}
	p.Status = st
}

// Issues returns every issue of the phase, in order.
func (p *Phase) Issues() []Issue {
	out := []Issue{}
	for _, c := range p.Checks {
		out = append(out, c.Issues...)
	}
	return out
}

// Report is the whole doctor run.
type Report struct {
	Phases []*Phase `json:"-"`
	Note   string   `json:"-"`
	// ConfigError: the config did not load; doctor exits 2.
	ConfigError bool `json:"-"`
	// ConfigErr is the load error itself (every problem, its code and hint).
	ConfigErr error `json:"-"`
}

// Failed reports whether any phase failed.
func (r *Report) Failed() bool {
	for _, p := range r.Phases {
		if p.Status == Fail {
			return true
		}
	}
	return false
}

// ExitCode is 0 clean, 1 on any failure, 2 when the config did not load.
func (r *Report) ExitCode() int {
	switch {
	case r.ConfigError:
		return 2
	case r.Failed():
		return 1
	}
	return 0
}

// Phase returns the phase with id, or nil.
func (r *Report) Phase(id string) *Phase {
	for _, p := range r.Phases {
		if p.ID == id {
			return p
		}
	}
	return nil
}

var marks = map[Status]string{Pass: "✓", Fail: "✗", Warn: "!", Neutral: "-", Skip: "-"}

// WriteText prints the report in the shape of the documentation's sample:
// a heading per phase, ✓/✗ lines, issue lines, and the closing note.
func (r *Report) WriteText(w io.Writer) {
	for _, p := range r.Phases {
		fmt.Fprintf(w, "%s:\n", p.Title)
		for _, c := range p.Checks {
			fmt.Fprintf(w, "%s %s\n", marks[c.Status], c.Text)
			for _, is := range c.Issues {
				fmt.Fprintln(w, p.issueLine(is))
				switch {
				case is.File != "" && is.Line > 0 && is.Column > 0:
					fmt.Fprintf(w, "  at %s:%d:%d\n", is.File, is.Line, is.Column)
				case is.File != "" && is.Line > 0:
					fmt.Fprintf(w, "  at %s:%d\n", is.File, is.Line)
				}
			}
		}
	}
	if r.Note != "" {
		fmt.Fprintf(w, "note: %s\n", r.Note)
	}
}

func (p *Phase) issueLine(is Issue) string {
	var b strings.Builder
	b.WriteString(p.prefix)
	b.WriteString(": ")
	switch {
	case is.Code == CodeNoEnvironment:
		// Spelled as the documented sample spells it, whatever its weight.
	case is.Severity == SevWarning:
		b.WriteString("warning: ")
	case is.Severity == SevInfo:
		// Not a problem: say so, or it reads like the failures around it.
		b.WriteString("note: ")
	}
	b.WriteString(is.Message)
	if is.Hint != "" {
		b.WriteString(" — ")
		b.WriteString(is.Hint)
	}
	return b.String()
}

// Annotate writes every error (and warning) as a GitHub Actions annotation,
// so failures show on the file and line in the run's summary.
func (r *Report) Annotate(w io.Writer) {
	for _, p := range r.Phases {
		for _, c := range p.Checks {
			for _, is := range c.Issues {
				level := ghactions.Error
				switch is.Severity {
				case SevWarning:
					level = ghactions.Warning
				case SevInfo:
					continue
				}
				ghactions.AnnotateAt(w, level, ghactions.Pos{File: is.File, Line: is.Line, Col: is.Column}, p.issueLine(is))
			}
		}
	}
}

// JSON is the --json document.
type JSON struct {
	OK     bool        `json:"ok"`
	Exit   int         `json:"exit_code"`
	Phases []JSONPhase `json:"phases"`
	Note   string      `json:"note"`
}

// JSONPhase is one phase in the --json document.
type JSONPhase struct {
	ID     string      `json:"id"`
	Title  string      `json:"title"`
	Status Status      `json:"status"`
	Checks []JSONCheck `json:"checks"`
	Issues []Issue     `json:"issues"`
}

// JSONCheck is one ✓/✗ line in the --json document; its issues are listed
// once, under the phase.
type JSONCheck struct {
	Status Status `json:"status"`
	Text   string `json:"text"`
}

// JSON returns the --json document.
func (r *Report) JSON() JSON {
	out := JSON{OK: r.ExitCode() == 0, Exit: r.ExitCode(), Note: r.Note, Phases: []JSONPhase{}}
	for _, p := range r.Phases {
		checks := []JSONCheck{}
		for _, c := range p.Checks {
			checks = append(checks, JSONCheck{Status: c.Status, Text: c.Text})
		}
		out.Phases = append(out.Phases, JSONPhase{ID: p.ID, Title: p.Title, Status: p.Status, Checks: checks, Issues: p.Issues()})
	}
	return out
}
