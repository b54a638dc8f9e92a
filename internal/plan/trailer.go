package plan

import (
	"fmt"
	"strings"
)

// BumpSkip is the trailer value that holds a release back (SPEC §3).
const BumpSkip = "skip"

// Trailer is a parsed `release:` line.
type Trailer struct {
	Bump     string   // patch | minor | major | skip (lower case)
	Packages []string // names in the optional list, as written
	HasList  bool     // a list was given (possibly naming packages not in config: checked later)
	Line     string   // the line as written, trimmed
	LineNo   int      // 1-based line number in the message
}

// TrailerError is a malformed `release:` line.
type TrailerError struct {
	Line   string // the line as written, trimmed
	LineNo int
	Reason string
}

func (e *TrailerError) Error() string {
	return fmt.Sprintf("line %d `%s`: %s", e.LineNo, e.Line, e.Reason)
}

// ParseTrailer finds the release trailer of a commit message: the last line
// of the form `release: <patch|minor|major|skip> [a, b]`. It returns nil, nil
// when the message has none. A malformed last trailer line is a *TrailerError;
// prose after `release:` (several words that are not a bump and a list) is not
// a trailer and is skipped.
func ParseTrailer(msg string) (*Trailer, error) {
	var last *Trailer
	var lastErr error
	lineNo := 0
	for len(msg) > 0 {
		lineNo++
		line := msg
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = ""
		}
		// Cheap reject before any allocation: most lines are not trailers.
		line = strings.TrimSpace(line)
		if len(line) < len("release:") || !strings.EqualFold(line[:len("release")], "release") {
			continue
		}
		t, ok, err := parseTrailerLine(line)
		if !ok {
			continue
		}
		if err != nil {
			last, lastErr = nil, &TrailerError{Line: line, LineNo: lineNo, Reason: err.Error()}
			continue
		}
		t.LineNo = lineNo
		last, lastErr = t, nil
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return last, nil
}

// HasTrailerLine reports whether msg has a line that ParseTrailer would read
// (valid or malformed). The git layer uses it to decide whether a merge
// commit's merged tips must be read.
func HasTrailerLine(msg string) bool {
	t, err := ParseTrailer(msg)
	return t != nil || err != nil
}

func isBump(s string) bool {
	switch s {
	case BumpPatch, BumpMinor, BumpMajor, BumpSkip:
		return true
	}
	return false
}

// parseTrailerLine parses one trimmed line. ok is false when the line is not
// a trailer at all (another key, or prose); err is set when it is meant as a
// trailer but malformed.
func parseTrailerLine(line string) (t *Trailer, ok bool, err error) {
	rest := strings.TrimLeft(line[len("release"):], " \t")
	if !strings.HasPrefix(rest, ":") {
		return nil, false, nil // e.g. "released the kraken", "release notes: …"
	}
	value := strings.TrimSpace(rest[1:])
	if value == "" {
		// "Release:" ending a line (a URL or notes on the next line) is
		// prose, not a trailer (SPEC §3 "Adoption").
		return nil, false, nil
	}
	word, after := value, ""
	if i := strings.IndexAny(value, " \t["); i >= 0 {
		word, after = value[:i], strings.TrimSpace(value[i:])
	}
	bump := strings.ToLower(word)
	if after == "" {
		// One word: it must be a bump (`release: minro` is a typo, not prose).
		if !isBump(bump) {
			return nil, true, fmt.Errorf("unknown value %q; expected patch, minor, major or skip", word)
		}
		return &Trailer{Bump: bump, Line: line}, true, nil
	}
	if !strings.HasPrefix(after, "[") {
		// Several words without a list: prose, not a trailer.
		return nil, false, nil
	}
	if !isBump(bump) {
		return nil, true, fmt.Errorf("unknown value %q; expected patch, minor, major or skip before the list", word)
	}
	if !strings.HasSuffix(after, "]") {
		return nil, true, fmt.Errorf("unclosed package list; expected `[a, b]`")
	}
	inner := after[1 : len(after)-1]
	if strings.ContainsAny(inner, "[]") {
		return nil, true, fmt.Errorf("malformed package list; expected `[a, b]`")
	}
	t = &Trailer{Bump: bump, Line: line, HasList: true}
	if strings.TrimSpace(inner) == "" {
		return nil, true, fmt.Errorf("empty package list; name the packages or drop the brackets")
	}
	for _, item := range strings.Split(inner, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			return nil, true, fmt.Errorf("empty name in package list; expected `[a, b]`")
		}
		if strings.ContainsAny(name, " \t") {
			return nil, true, fmt.Errorf("package list %q is not comma-separated; expected `[a, b]`", "["+inner+"]")
		}
		t.Packages = append(t.Packages, name)
	}
	return t, true, nil
}
