package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

var utf8BOM = []byte("\xef\xbb\xbf")

func setPackageJSON(file, version string, dry bool) (*Change, error) {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, diag.New(CodeManifestMissing, "%s not found", file).Wrap(err)
	}
	raw, _ := json.Marshal(version)
	// Editors on Windows may start the file with a BOM, which npm accepts.
	bom := bytes.HasPrefix(data, utf8BOM)
	out, old, err := SetJSONTopLevel(bytes.TrimPrefix(data, utf8BOM), "version", raw, "name")
	if bom && err == nil {
		out = append(append([]byte{}, utf8BOM...), out...)
	}
	if err != nil {
		return nil, diag.New(CodeManifestInvalid, "%s: %v", file, err)
	}
	var oldV string
	_ = json.Unmarshal(old, &oldV)
	if dry {
		return &Change{File: file, Old: oldV, New: version}, nil
	}
	if err := writeSameMode(file, out); err != nil {
		return nil, err
	}
	return &Change{File: file, Old: oldV, New: version}, nil
}

// SetJSONTopLevel replaces the value of key in the top-level object of a JSON
// document with raw (already-encoded JSON), leaving every other byte as it
// was. When key is absent it is inserted after insertAfter (or first), with
// that member's indentation. It returns the old raw value.
func SetJSONTopLevel(data []byte, key string, raw []byte, insertAfter string) ([]byte, []byte, error) {
	if !json.Valid(data) {
		return nil, nil, errors.New("not valid JSON")
	}
	members, objStart, err := topLevelMembers(data)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range members {
		if m.key == key {
			out := append([]byte{}, data[:m.valStart]...)
			out = append(out, raw...)
			out = append(out, data[m.valEnd:]...)
			return out, data[m.valStart:m.valEnd], nil
		}
	}
	// Insert.
	if len(members) == 0 {
		ins := fmt.Sprintf("%q: %s", key, raw)
		out := append([]byte{}, data[:objStart+1]...)
		out = append(out, ins...)
		out = append(out, data[objStart+1:]...)
		return out, nil, nil
	}
	after := members[0]
	for _, m := range members {
		if m.key == insertAfter {
			after = m
		}
	}
	// Indentation of the anchor member's line.
	lineStart := strings.LastIndexByte(string(data[:after.keyStart]), '\n') + 1
	indent := string(data[lineStart:after.keyStart])
	sep := " "
	if strings.TrimSpace(indent) == "" && lineStart > 0 {
		sep = "\n" + indent
	}
	ins := fmt.Sprintf(",%s%q: %s", sep, key, raw)
	out := append([]byte{}, data[:after.valEnd]...)
	out = append(out, ins...)
	out = append(out, data[after.valEnd:]...)
	return out, nil, nil
}

type member struct {
	key              string
	keyStart         int
	valStart, valEnd int
}

// topLevelMembers scans a valid JSON object and returns its members' spans.
func topLevelMembers(data []byte) ([]member, int, error) {
	return objectMembers(data, 0)
}

// objectMembers scans the JSON object starting at (or after whitespace from)
// offset at and returns its members' spans.
func objectMembers(data []byte, at int) ([]member, int, error) {
	i := skipWS(data, at)
	if i >= len(data) || data[i] != '{' {
		return nil, 0, errors.New("not an object")
	}
	objStart := i
	i++
	var out []member
	for {
		i = skipWS(data, i)
		if i < len(data) && data[i] == '}' {
			return out, objStart, nil
		}
		if i >= len(data) || data[i] != '"' {
			return nil, 0, errors.New("expected a key")
		}
		ks := i
		ke := skipString(data, i)
		var k string
		if err := json.Unmarshal(data[ks:ke], &k); err != nil {
			return nil, 0, err
		}
		i = skipWS(data, ke)
		if i >= len(data) || data[i] != ':' {
			return nil, 0, errors.New("expected ':'")
		}
		i = skipWS(data, i+1)
		vs := i
		ve, err := skipValue(data, i)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, member{key: k, keyStart: ks, valStart: vs, valEnd: ve})
		i = skipWS(data, ve)
		if i < len(data) && data[i] == ',' {
			i++
		}
	}
}

func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

func skipString(data []byte, i int) int {
	i++ // opening quote
	for i < len(data) {
		switch data[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		}
		i++
	}
	return i
}

func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return i, errors.New("unexpected end")
	}
	switch data[i] {
	case '"':
		return skipString(data, i), nil
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return i, errors.New("unterminated value")
	default:
		for i < len(data) && !strings.ContainsRune(",}] \t\r\n", rune(data[i])) {
			i++
		}
		return i, nil
	}
}

// SetNPMField replaces (or inserts) one top-level field of package.json in
// dir with v (any JSON-encodable value), preserving the rest of the file.
func SetNPMField(file, key string, v any) error {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return err
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	// Indent nested lines like the file's own top-level members.
	if strings.Contains(string(raw), "\n") {
		indent := detectIndent(data)
		raw = []byte(strings.ReplaceAll(string(raw), "\n", "\n"+indent))
		raw = []byte(strings.ReplaceAll(string(raw), "\n"+indent+"  ", "\n"+indent+indent))
	}
	out, _, err := SetJSONTopLevel(bytes.TrimPrefix(data, utf8BOM), key, raw, "version")
	if err != nil {
		return diag.New(CodeManifestInvalid, "%s: %v", file, err)
	}
	if bytes.HasPrefix(data, utf8BOM) {
		out = append(append([]byte{}, utf8BOM...), out...)
	}
	return writeSameMode(file, out)
}

func detectIndent(data []byte) string {
	for _, line := range strings.Split(string(data), "\n")[1:] {
		t := strings.TrimLeft(line, " \t")
		if t != "" && t != line {
			return line[:len(line)-len(t)]
		}
	}
	return "  "
}

// jsonValueAt returns the span of the value at path (object keys from the
// top level); ok is false when a key on the way is absent or not an object.
func jsonValueAt(data []byte, path []string) (start, end int, ok bool) {
	at := 0
	for depth, key := range path {
		members, _, err := objectMembers(data, at)
		if err != nil {
			return 0, 0, false
		}
		found := false
		for _, m := range members {
			if m.key == key {
				if depth == len(path)-1 {
					return m.valStart, m.valEnd, true
				}
				at, found = m.valStart, true
				break
			}
		}
		if !found {
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// SetJSONString replaces the string value at path (e.g. "dependencies",
// "core") with s, leaving every other byte as it was. The value must exist
// and be a string.
func SetJSONString(data []byte, path []string, s string) ([]byte, error) {
	if !json.Valid(data) {
		return nil, errors.New("not valid JSON")
	}
	start, end, ok := jsonValueAt(data, path)
	if !ok || data[start] != '"' {
		return nil, fmt.Errorf("no string at %s", strings.Join(path, "."))
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	// json.Marshal escapes <, > and &; npm ranges use > and <.
	raw = bytes.ReplaceAll(raw, []byte(`\u003c`), []byte("<"))
	raw = bytes.ReplaceAll(raw, []byte(`\u003e`), []byte(">"))
	raw = bytes.ReplaceAll(raw, []byte(`\u0026`), []byte("&"))
	out := append([]byte{}, data[:start]...)
	out = append(out, raw...)
	return append(out, data[end:]...), nil
}
