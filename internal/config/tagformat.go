package config

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// TagFormat is a parsed tag_format template: literal text with {name} and
// {version} placeholders.
type TagFormat struct {
	Raw   string
	Parts []TagPart
}

// TagPart is a literal (Placeholder "") or a placeholder ("name"/"version").
type TagPart struct {
	Literal     string
	Placeholder string
}

// ParseTagFormat parses and checks a tag_format: it must contain {version}
// exactly once, use no placeholder other than {name} and {version}, and
// produce a valid git tag name.
func ParseTagFormat(s string) (*TagFormat, error) {
	if s == "" {
		return nil, fmt.Errorf("must not be empty")
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("is not valid UTF-8")
	}
	tf := &TagFormat{Raw: s}
	versions := 0
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			tf.Parts = append(tf.Parts, TagPart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed `{` at offset %d", i)
			}
			ph := s[i+1 : i+1+end]
			switch ph {
			case "name", "version":
			default:
				return nil, fmt.Errorf("unknown placeholder {%s}: only {name} and {version} are allowed", ph)
			}
			if ph == "version" {
				versions++
			}
			flush()
			tf.Parts = append(tf.Parts, TagPart{Placeholder: ph})
			i += end + 2
		case '}':
			return nil, fmt.Errorf("unmatched `}` at offset %d", i)
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	switch {
	case versions == 0:
		return nil, fmt.Errorf("must contain {version}")
	case versions > 1:
		return nil, fmt.Errorf("must contain {version} only once")
	}
	for _, p := range tf.Parts {
		if p.Placeholder != "" {
			continue
		}
		if err := checkRefText(p.Literal); err != nil {
			return nil, err
		}
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".") {
		return nil, fmt.Errorf("is not a valid git tag name (it may not start with `-` or `/`, or end with `/` or `.`)")
	}
	return tf, nil
}

// checkRefText rejects text git forbids in ref names (git check-ref-format).
func checkRefText(s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Errorf("contains %q, which git does not allow in a tag name", r)
		}
	}
	for _, bad := range []string{"..", "@{", "//", "/.", ".lock/"} {
		if strings.Contains(s, bad) {
			return fmt.Errorf("contains %q, which git does not allow in a tag name", bad)
		}
	}
	return nil
}

// Render fills the placeholders.
func (tf *TagFormat) Render(name, version string) string {
	var b strings.Builder
	for _, p := range tf.Parts {
		switch p.Placeholder {
		case "name":
			b.WriteString(name)
		case "version":
			b.WriteString(version)
		default:
			b.WriteString(p.Literal)
		}
	}
	return b.String()
}

// semverRe matches a SemVer 2.0 version (no leading "v").
const semverRe = `(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)` +
	`(?:-(?:[0-9A-Za-z-]+)(?:\.[0-9A-Za-z-]+)*)?` +
	`(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?`

var semverRE = regexp.MustCompile("^" + semverRe + "$")

// TagMatcher recognises one package's release tags and extracts the version.
// With {name} filled in, a format is a fixed prefix, the version, and a fixed
// suffix; matching is exact string work, no regular expression built from
// user text.
type TagMatcher struct {
	prefix, suffix string
	glob           string
}

// Matcher returns the matcher for package name's tags.
func (tf *TagFormat) Matcher(name string) *TagMatcher {
	var pre, suf strings.Builder
	cur := &pre
	for _, p := range tf.Parts {
		switch p.Placeholder {
		case "name":
			cur.WriteString(name)
		case "version":
			cur = &suf
		default:
			cur.WriteString(p.Literal)
		}
	}
	return &TagMatcher{prefix: pre.String(), suffix: suf.String(), glob: pre.String() + "*"}
}

// Match reports whether tag is one of the package's release tags and returns
// its version ("1.2.3", without any prefix).
func (m *TagMatcher) Match(tag string) (version string, ok bool) {
	if len(tag) < len(m.prefix)+len(m.suffix) || !strings.HasPrefix(tag, m.prefix) || !strings.HasSuffix(tag, m.suffix) {
		return "", false
	}
	v := tag[len(m.prefix) : len(tag)-len(m.suffix)]
	if !semverRE.MatchString(v) {
		return "", false
	}
	return v, true
}

// Glob is a git pattern (for `git for-each-ref refs/tags/<glob>` or
// `git tag --list`) that selects a superset of the package's tags; filter
// the result with Match.
func (m *TagMatcher) Glob() string { return m.glob }

// TagPatterns returns a matcher for each of p's tag formats (tag_format,
// then previous_tag_formats), with {name} filled in.
func TagPatterns(p *Package) ([]*TagMatcher, error) {
	var out []*TagMatcher
	for _, f := range p.TagFormats() {
		tf, err := ParseTagFormat(f)
		if err != nil {
			return nil, fmt.Errorf("package %q: tag format %q: %w", p.Name, f, err)
		}
		out = append(out, tf.Matcher(p.Name))
	}
	return out, nil
}

// TagPattern returns the matcher for p's tags (its tag_format, or the
// default, with {name} filled in).
func TagPattern(p *Package) (*TagMatcher, error) {
	f := p.TagFormat
	if f == "" {
		f = DefaultTagFormat
	}
	tf, err := ParseTagFormat(f)
	if err != nil {
		return nil, fmt.Errorf("package %q: tag_format %q: %w", p.Name, f, err)
	}
	return tf.Matcher(p.Name), nil
}
