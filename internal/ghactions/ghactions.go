// Package ghactions writes GitHub Actions workflow commands and files:
// masks, annotations, GITHUB_OUTPUT and the step summary.
package ghactions

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// AddMask tells the runner to mask value in every log line. Inside Actions the
// command itself is hidden by the runner.
func AddMask(w io.Writer, value string) {
	if value == "" {
		return
	}
	fmt.Fprintf(w, "::add-mask::%s\n", escapeData(value))
}

// Annotation levels.
const (
	Error   = "error"
	Warning = "warning"
	Notice  = "notice"
)

// Annotate writes `::error file=F,line=L::msg`. file and line may be empty/0.
func Annotate(w io.Writer, level, file string, line int, msg string) {
	AnnotateAt(w, level, Pos{File: file, Line: line}, msg)
}

// Pos is where an annotation points. Any part may be empty/0: a column
// without a line, or a line without a file, is dropped (GitHub ignores it).
type Pos struct {
	File string
	Line int
	Col  int
}

// AnnotateAt writes `::level file=F,line=L,col=C::msg`.
func AnnotateAt(w io.Writer, level string, p Pos, msg string) {
	var props []string
	if p.File != "" {
		props = append(props, "file="+escapeProp(p.File))
		if p.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", p.Line))
			if p.Col > 0 {
				props = append(props, fmt.Sprintf("col=%d", p.Col))
			}
		}
	}
	prefix := ""
	if len(props) > 0 {
		prefix = " " + strings.Join(props, ",")
	}
	fmt.Fprintf(w, "::%s%s::%s\n", level, prefix, escapeData(msg))
}

// Group starts a collapsible group in the log; EndGroup closes it. Groups
// do not nest: a second Group closes the first.
func Group(w io.Writer, title string) { fmt.Fprintf(w, "::group::%s\n", escapeData(title)) }

// EndGroup closes the current group.
func EndGroup(w io.Writer) { fmt.Fprintln(w, "::endgroup::") }

// RelPath is file relative to the workspace (GITHUB_WORKSPACE), the form
// GitHub needs to attach an annotation to a file in the repository. A path
// outside the workspace is returned unchanged.
func RelPath(workspace, file string) string {
	if workspace == "" || file == "" || !filepath.IsAbs(file) {
		return filepath.ToSlash(file)
	}
	rel, err := filepath.Rel(workspace, file)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(file)
	}
	return filepath.ToSlash(rel)
}

func escapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

func escapeProp(s string) string {
	s = escapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// AppendOutput appends name=value to the file at path (GITHUB_OUTPUT). Values
// containing newlines use the heredoc form with a delimiter absent from value.
func AppendOutput(path, name, value string) error {
	var entry string
	if strings.ContainsAny(value, "\r\n") {
		delim := "PIOT_EOF"
		for strings.Contains(value, delim) {
			delim += "_"
		}
		entry = fmt.Sprintf("%s<<%s\n%s\n%s\n", name, delim, value, delim)
	} else {
		entry = fmt.Sprintf("%s=%s\n", name, value)
	}
	return appendFile(path, entry)
}

// AppendJSONOutput appends name=<compact JSON of v> to GITHUB_OUTPUT.
func AppendJSONOutput(path, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return AppendOutput(path, name, string(data))
}

// AppendSummary appends Markdown to the file at path (GITHUB_STEP_SUMMARY).
func AppendSummary(path, markdown string) error { return appendFile(path, markdown) }

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SplitRepository splits GITHUB_REPOSITORY into owner and repository name,
// and reports whether it is exactly one valid owner/repo: an owner of
// GitHub's login characters (letters, digits, hyphens; at most 39) and a name
// of letters, digits, '.', '-' and '_' (at most 100, not "." or ".."). The
// value ends up in API paths and tag messages, so `a/b/c` or `../../evil/x`
// is refused rather than trimmed.
func SplitRepository(s string) (owner, repo string, ok bool) {
	owner, repo, found := strings.Cut(s, "/")
	if !found || owner == "" || repo == "" || len(owner) > 39 || len(repo) > 100 || repo == "." || repo == ".." ||
		strings.HasPrefix(owner, "-") {
		return "", "", false
	}
	for _, r := range owner {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return "", "", false
		}
	}
	for _, r := range repo {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return "", "", false
		}
	}
	return owner, repo, true
}
