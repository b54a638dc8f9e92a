package pydist

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Field is one core-metadata header.
type Field struct{ Name, Value string }

// Metadata is core metadata (METADATA / PKG-INFO): RFC 822 style headers and
// an optional body holding the description.
type Metadata struct {
	Fields []Field
	Body   string
}

// ParseMetadata reads core metadata. Folded lines are joined with "\n".
func ParseMetadata(b []byte) (*Metadata, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	m := &Metadata{}
	lines := strings.Split(s, "\n")
	// Folded lines are collected per field and joined once (no quadratic
	// concatenation on hostile input).
	var folds [][]string
	i := 0
	for ; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			i++
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(m.Fields) == 0 {
				return nil, errors.New("continuation line before the first header")
			}
			folds[len(folds)-1] = append(folds[len(folds)-1], unfold(line))
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
			return nil, errors.New("malformed header line " + quote(line))
		}
		m.Fields = append(m.Fields, Field{Name: k, Value: strings.TrimSpace(v)})
		folds = append(folds, nil)
	}
	for j, f := range folds {
		if len(f) > 0 {
			m.Fields[j].Value += "\n" + strings.Join(f, "\n")
		}
	}
	if i < len(lines) {
		m.Body = strings.Join(lines[i:], "\n")
	}
	return m, nil
}

// unfold strips the 8-space (and optional "|") indent of folded descriptions.
func unfold(line string) string {
	t := strings.TrimLeft(line, " \t")
	if strings.HasPrefix(t, "|") {
		return strings.TrimPrefix(t, "|")
	}
	return t
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return "\"" + s + "\""
}

// Get returns the first value of a header (case-insensitive), or "".
func (m *Metadata) Get(name string) string {
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// GetAll returns every value of a header.
func (m *Metadata) GetAll(name string) []string {
	var out []string
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Description is the body, or the Description header when there is no body.
func (m *Metadata) Description() string {
	if strings.TrimSpace(m.Body) != "" {
		return m.Body
	}
	return m.Get("Description")
}

// formNames maps multi-use fields to the pluralised form names PyPI expects;
// every other header is lower-cased with "-" → "_".
var formNames = map[string]string{
	"classifier":       "classifiers",
	"project-url":      "project_urls",
	"platform":         "platform",
	"license-file":     "license_file",
	"home-page":        "home_page",
	"import-name":      "import_names",
	"import-namespace": "import_namespaces",
}

// FormName is the upload-form field name of a core-metadata header.
func FormName(header string) string {
	h := strings.ToLower(header)
	if n, ok := formNames[h]; ok {
		return n
	}
	return strings.ReplaceAll(h, "-", "_")
}

// FormFields are the metadata fields of the upload form, in order: name,
// version, filetype, pyversion, metadata_version, then every other header
// (repeated once per value), then the description. "UNKNOWN" and empty
// values are dropped, as PyPI would drop them.
func (d *Dist) FormFields() [][2]string {
	m := d.Metadata
	out := [][2]string{
		{"name", m.Get("Name")},
		{"version", m.Get("Version")},
		{"filetype", d.Filetype},
		{"pyversion", d.PyVersion},
		{"metadata_version", m.Get("Metadata-Version")},
	}
	var kw []string
	for _, f := range m.Fields {
		h := strings.ToLower(f.Name)
		switch h {
		case "name", "version", "metadata-version", "description":
			continue
		}
		v := strings.TrimSpace(f.Value)
		if v == "" || v == "UNKNOWN" {
			continue
		}
		if h == "keywords" {
			kw = append(kw, v)
			continue
		}
		out = append(out, [2]string{FormName(f.Name), v})
	}
	if len(kw) > 0 {
		out = append(out, [2]string{"keywords", strings.Join(kw, ",")})
	}
	if desc := m.Description(); strings.TrimSpace(desc) != "" && strings.TrimSpace(desc) != "UNKNOWN" {
		out = append(out, [2]string{"description", desc})
	}
	return out
}
