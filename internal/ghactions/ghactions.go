// Package ghactions writes GitHub Actions workflow commands and files:
// masks, annotations, GITHUB_OUTPUT and the step summary.
package ghactions

import (
	"fmt"
	"io"
	"os"
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
	var props []string
	if file != "" {
		props = append(props, "file="+escapeProp(file))
		if line > 0 {
			props = append(props, fmt.Sprintf("line=%d", line))
		}
	}
	p := ""
	if len(props) > 0 {
		p = " " + strings.Join(props, ",")
	}
	fmt.Fprintf(w, "::%s%s::%s\n", level, p, escapeData(msg))
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
