package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Format-preserving edits of one dependency requirement. Like SetTOMLVersion
// they change the bytes of that one value only, and check it by parsing
// both documents: anything else changing is refused rather than written.

// SetCargoDepReq sets the version requirement of dependency key in the
// dependency table at table (e.g. ["dependencies"], ["target",
// "cfg(unix)", "build-dependencies"], ["workspace", "dependencies"]),
// whichever way it is written: `key = "req"`, `key = { …, version = "req" }`
// (over several lines too), `key.version = "req"` or a `[table.key]` table.
func SetCargoDepReq(data []byte, table []string, key, req string) ([]byte, error) {
	text := string(data)
	keyRe := regexp.MustCompile(`^[ \t]*(?:` + regexp.QuoteMeta(key) + `|"` + regexp.QuoteMeta(key) + `"|'` + regexp.QuoteMeta(key) + `')[ \t]*(=|\.[ \t]*version[ \t]*=)[ \t]*`)
	sub := append(append([]string{}, table...), key)
	var current []string
	inMultiline := false
	off := 0
	var start, end int = -1, -1
	for _, line := range strings.SplitAfter(text, "\n") {
		lineStart := off
		off += len(line)
		if strings.Count(line, `"""`)%2 == 1 || strings.Count(line, `'''`)%2 == 1 {
			inMultiline = !inMultiline
			continue
		}
		if inMultiline {
			continue
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[[") {
			current = nil
			continue
		}
		if strings.HasPrefix(trimmed, "[") {
			current = splitTOMLKey(strings.TrimSpace(strings.TrimSuffix(stripComment(trimmed[1:]), "]")))
			continue
		}
		switch {
		case equalKeys(current, table):
			m := keyRe.FindStringSubmatchIndex(line)
			if m == nil {
				continue
			}
			valAt := lineStart + m[1]
			if strings.HasPrefix(line[m[2]:m[3]], ".") { // key.version = "…"
				start, end = stringSpan(text, valAt)
			} else if valAt < len(text) && text[valAt] == '{' {
				start, end = inlineVersionSpan(text, valAt)
			} else {
				start, end = stringSpan(text, valAt)
			}
		case equalKeys(current, sub):
			if m := versionRe.FindStringSubmatchIndex(strings.TrimRight(line, "\r\n")); m != nil {
				start, end = lineStart+m[6], lineStart+m[7]
			}
		}
		if start >= 0 {
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no version requirement for %s in [%s]", key, strings.Join(table, "."))
	}
	out := []byte(text[:start] + escapeTOMLBasic(req) + text[end:])
	// Only that value may change.
	var before, after map[string]any
	if err := toml.Unmarshal(data, &before); err != nil {
		return nil, fmt.Errorf("not valid TOML: %w", err)
	}
	if err := toml.Unmarshal(out, &after); err != nil || !onlyDepReqChanged(before, after, sub, req) {
		return nil, fmt.Errorf("cannot rewrite the requirement of %s in [%s] in place; write it as a plain string (version = \"%s\")", key, strings.Join(table, "."), req)
	}
	return out, nil
}

func onlyDepReqChanged(before, after map[string]any, path []string, req string) bool {
	t := before
	for _, k := range path[:len(path)-1] {
		sub, ok := t[k].(map[string]any)
		if !ok {
			return false
		}
		t = sub
	}
	last := path[len(path)-1]
	switch d := t[last].(type) {
	case string:
		t[last] = req
	case map[string]any:
		d["version"] = req
	default:
		return false
	}
	return reflect.DeepEqual(before, after)
}

// stringSpan returns the span of the contents of the TOML string starting
// at i (after its quote), or -1.
func stringSpan(text string, i int) (int, int) {
	if i >= len(text) || (text[i] != '"' && text[i] != '\'') {
		return -1, -1
	}
	q := text[i]
	for j := i + 1; j < len(text) && text[j] != '\n'; j++ {
		if q == '"' && text[j] == '\\' {
			j++
			continue
		}
		if text[j] == q {
			return i + 1, j
		}
	}
	return -1, -1
}

var inlineVersion = regexp.MustCompile(`(?:^|[{,\s])version[ \t]*=[ \t]*`)

// inlineVersionSpan finds `version = "…"` at the top level of the inline
// table starting at text[i] == '{' (which may span lines inside arrays).
func inlineVersionSpan(text string, i int) (int, int) {
	depth := 0
	for j := i; j < len(text); j++ {
		switch text[j] {
		case '"', '\'':
			_, e := stringSpan(text, j)
			if e < 0 {
				return -1, -1
			}
			j = e
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return -1, -1
			}
		case 'v':
			if depth != 1 {
				continue
			}
			if loc := inlineVersion.FindStringIndex(text[j-1:]); loc != nil && loc[0] <= 1 {
				return stringSpan(text, j-1+loc[1])
			}
		}
	}
	return -1, -1
}

func escapeTOMLBasic(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func stripComment(s string) string {
	inQ := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ != 0:
			if c == inQ {
				inQ = 0
			}
		case c == '"' || c == '\'':
			inQ = c
		case c == '#':
			return s[:i]
		}
	}
	return s
}

// splitTOMLKey splits a dotted TOML key, honouring quotes
// (`target.'cfg(target_os = "macos")'.dependencies`).
func splitTOMLKey(s string) []string {
	var out []string
	var b strings.Builder
	inQ := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ != 0:
			if c == '\\' && inQ == '"' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
				continue
			}
			if c == inQ {
				inQ = 0
				continue
			}
			b.WriteByte(c)
		case c == '"' || c == '\'':
			inQ = c
		case c == '.':
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		case c == ' ' || c == '\t':
		default:
			b.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SetPythonRequirement replaces the requirement string old (as written) by
// new in a pyproject.toml's [project] dependencies and optional
// dependencies, wherever it appears there, leaving every other byte as it
// was.
func SetPythonRequirement(data []byte, old, new string) ([]byte, error) {
	var out []byte = data
	n := 0
	for _, q := range []string{`"`, `'`} {
		from, to := q+old+q, q+new+q
		if q == `"` {
			to = `"` + escapeTOMLBasic(new) + `"`
		}
		n += bytes.Count(out, []byte(from))
		out = bytes.ReplaceAll(out, []byte(from), []byte(to))
	}
	if n == 0 {
		return nil, fmt.Errorf("requirement %q not found as written", old)
	}
	// Only [project] requirement strings equal to old may have changed.
	var before, after map[string]any
	if err := toml.Unmarshal(data, &before); err != nil {
		return nil, fmt.Errorf("not valid TOML: %w", err)
	}
	if err := toml.Unmarshal(out, &after); err != nil {
		return nil, fmt.Errorf("cannot rewrite requirement %q in place", old)
	}
	if proj, ok := before["project"].(map[string]any); ok {
		replaceIn := func(l []any) {
			for i, v := range l {
				if v == old {
					l[i] = new
				}
			}
		}
		if l, ok := proj["dependencies"].([]any); ok {
			replaceIn(l)
		}
		if groups, ok := proj["optional-dependencies"].(map[string]any); ok {
			for _, g := range groups {
				if l, ok := g.([]any); ok {
					replaceIn(l)
				}
			}
		}
	}
	if !reflect.DeepEqual(before, after) {
		return nil, fmt.Errorf("cannot rewrite requirement %q in place: it also appears outside [project] dependencies", old)
	}
	return out, nil
}

// RewriteRequirementLine puts spec in place of the version specifier of a
// PEP 508 requirement as written ("core-py==0.1.0; python_version>'3.8'").
func RewriteRequirementLine(line, name, spec, newSpec string) (string, bool) {
	i := strings.Index(line, name)
	if i < 0 || spec == "" {
		return "", false
	}
	j := strings.Index(line[i+len(name):], spec)
	if j < 0 {
		return "", false
	}
	at := i + len(name) + j
	return line[:at] + newSpec + line[at+len(spec):], true
}

// SetNPMDepRange sets the range of dependency key in field (dependencies,
// peerDependencies, optionalDependencies) of a package.json, in place. An
// npm alias keeps its `npm:name@` prefix.
func SetNPMDepRange(data []byte, field, key, rng string) ([]byte, error) {
	bom := bytes.HasPrefix(data, utf8BOM)
	body := bytes.TrimPrefix(data, utf8BOM)
	var m map[string]map[string]any
	_ = json.Unmarshal(body, &m)
	if cur, ok := m[field][key].(string); ok && strings.HasPrefix(cur, "npm:") {
		if at := strings.LastIndexByte(cur, '@'); at > len("npm:") {
			rng = cur[:at+1] + rng
		}
	}
	out, err := SetJSONString(body, []string{field, key}, rng)
	if err != nil {
		return nil, err
	}
	if bom {
		out = append(append([]byte{}, utf8BOM...), out...)
	}
	return out, nil
}
