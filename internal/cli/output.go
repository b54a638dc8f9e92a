package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/ghactions"
)

// This file is how every command speaks GitHub Actions: annotations for
// errors and warnings (with file, line and column when the problem has a
// position), groups around tools' output, the step summary and outputs.
// Outside Actions each of these is a no-op or a plain line.

// InActions reports whether the command runs inside GitHub Actions.
// A rehearsal runs publish with an environment of its own (without
// GITHUB_ACTIONS) and keeps the answer of the run it is part of.
func (a *App) InActions() bool { return a.actions || a.Env.InActions() }

// Warnf prints a warning: inside Actions as a `::warning::` annotation (the
// log shows it as a warning line too), elsewhere as `warning: ...` on stderr.
func (a *App) Warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if a.InActions() {
		ghactions.Annotate(a.Err, ghactions.Warning, "", 0, msg)
		return
	}
	fmt.Fprintln(a.Err, "warning: "+msg)
}

// Noticef prints a notice: `::notice::` inside Actions, `note: ...` elsewhere.
func (a *App) Noticef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if a.InActions() {
		ghactions.Annotate(a.Err, ghactions.Notice, "", 0, msg)
		return
	}
	fmt.Fprintln(a.Err, "note: "+msg)
}

// relToWorkspace is file as GitHub wants it in an annotation: relative to
// the checkout (GITHUB_WORKSPACE, else the directory the command runs in).
func (a *App) relToWorkspace(file string) string {
	ws := a.Env.Value("GITHUB_WORKSPACE")
	if ws == "" {
		ws = a.Cwd
	}
	return ghactions.RelPath(ws, file)
}

// annotateError writes err as `::error` annotations: one per config
// problem at its file, line and column, else one for the error with its code
// and hint. Commands that annotated their own failures set a.annotated.
func (a *App) annotateError(err error) {
	if !a.InActions() || a.annotated {
		return
	}
	code, hint := diag.CodeOf(err), diag.HintOf(err)
	if probs := config.ProblemsOf(err); len(probs) > 0 {
		for _, p := range probs {
			msg := p.Msg
			if p.Key != "" {
				msg = "key `" + p.Key + "`: " + msg
			}
			if p.Package != "" {
				msg = "package " + p.Package + ": " + msg
			}
			c := p.Code
			if c == "" {
				c = code
			}
			msg += " [" + c + "]"
			if hint != "" {
				msg += " — " + hint
			}
			ghactions.AnnotateAt(a.Err, ghactions.Error, ghactions.Pos{File: a.relToWorkspace(p.File), Line: p.Pos.Line, Col: p.Pos.Col}, msg)
		}
		return
	}
	msg := err.Error() + " [" + code + "]"
	if hint != "" {
		msg += "\nhint: " + hint
	}
	pos := ghactions.Pos{}
	var de *diag.Error
	if errors.As(err, &de) && de.File != "" {
		pos = ghactions.Pos{File: a.relToWorkspace(de.File), Line: de.Line, Col: de.Col}
	}
	ghactions.AnnotateAt(a.Err, ghactions.Error, pos, msg)
}

// Summary appends Markdown to the step summary, when there is one. A
// summary that cannot be written is a warning, never a failure: the
// command's work is done.
func (a *App) Summary(markdown string) {
	path := a.Env.Value("GITHUB_STEP_SUMMARY")
	if path == "" {
		return
	}
	if err := ghactions.AppendSummary(path, markdown); err != nil {
		a.Warnf("could not write the step summary (%s): %v", path, err)
	}
}

// Output sets a step output (GITHUB_OUTPUT) to v as compact JSON, or to v
// itself when it is a string.
func (a *App) Output(name string, v any) error {
	path := a.Env.Value("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	var err error
	if s, ok := v.(string); ok {
		err = ghactions.AppendOutput(path, name, s)
	} else {
		err = ghactions.AppendJSONOutput(path, name, v)
	}
	if err != nil {
		return diag.New("PIOT_GITHUB_OUTPUT", "writing %s to GITHUB_OUTPUT (%s)", name, path).Wrap(err).
			WithHint("check that $GITHUB_OUTPUT points at a writable file")
	}
	return nil
}

// groupWriter wraps a tool's output in a `::group::` inside Actions, so
// cargo's and npm's logs fold under one line instead of flooding the log.
func (a *App) group(w io.Writer, title string, fn func() error) error {
	if !a.InActions() {
		return fn()
	}
	ghactions.Group(w, title)
	defer ghactions.EndGroup(w)
	return fn()
}

// mdEscape makes s safe inside a Markdown table cell.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// Terminal decoration: colour on a terminal (never with NO_COLOR or
// TERM=dumb), and ASCII instead of ✓ ✗ → — … where they cannot be shown:
// on a terminal whose locale is not UTF-8 (LC_ALL, LC_CTYPE or LANG set to
// e.g. C or POSIX) or TERM=dumb, and anywhere with PUTITOUTTHERE_ASCII=1.
// Pipes, files and CI logs keep the UTF-8 marks and get no colour.

var asciiGlyphs = strings.NewReplacer("✓", "ok", "✗", "x", "→", "->", "—", "-", "…", "...")

const (
	ansiReset  = "\033[0m"
	ansiRed    = "\033[31m"
	ansiGreen  = "\033[32m"
	ansiYellow = "\033[33m"
	ansiCyan   = "\033[36m"
	ansiBold   = "\033[1m"
)

var lineStarts = regexp.MustCompile(`(?m)^(error:|warning:|hint:|note:|✓|✗|ok |x |! )`)

func colourOf(prefix string) string {
	switch prefix {
	case "error:", "✗", "x ":
		return ansiBold + ansiRed
	case "warning:", "! ":
		return ansiYellow
	case "hint:", "note:":
		return ansiCyan
	case "✓", "ok ":
		return ansiGreen
	}
	return ""
}

// utf8Locale reports whether the locale can show UTF-8 (unset counts as yes:
// terminals today are UTF-8 unless told otherwise).
func utf8Locale(e env.Env) bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := e.Value(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return true
}

// decorate wraps w for a terminal (colour, ASCII) as the rules above say;
// it returns w itself when there is nothing to do.
func decorate(w io.Writer, terminal bool, e env.Env) io.Writer {
	ascii := e.Has("PUTITOUTTHERE_ASCII") || (terminal && (e.Value("TERM") == "dumb" || !utf8Locale(e)))
	colour := terminal && !e.Has("NO_COLOR") && e.Value("TERM") != "dumb"
	if !ascii && !colour {
		return w
	}
	return &decoWriter{w: w, ascii: ascii, colour: colour}
}

type decoWriter struct {
	w             io.Writer
	ascii, colour bool
}

func (d *decoWriter) Write(p []byte) (int, error) {
	s := string(p)
	if d.ascii {
		s = asciiGlyphs.Replace(s)
	}
	if d.colour {
		s = lineStarts.ReplaceAllStringFunc(s, func(m string) string {
			return colourOf(m) + m + ansiReset
		})
	}
	if _, err := io.WriteString(d.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// annotatePreflight writes preflight's findings as annotations inside
// Actions (its failures are otherwise only on stdout).
func annotatePreflight(app *App, pkgs []preflightPackage) {
	if !app.InActions() {
		return
	}
	for _, pp := range pkgs {
		for _, is := range pp.Issues {
			level := ghactions.Error
			switch is.Severity {
			case doctor.SevWarning:
				level = ghactions.Warning
			case doctor.SevInfo:
				continue
			}
			msg := pp.Name + ": " + is.Message
			if is.Hint != "" {
				msg += " — " + is.Hint
			}
			if is.Code != "" {
				msg += " [" + is.Code + "]"
			}
			ghactions.AnnotateAt(app.Err, level, ghactions.Pos{File: is.File, Line: is.Line, Col: is.Column}, msg)
		}
	}
	app.annotated = true
}
