// Package manifest reads package names and versions from Cargo.toml,
// pyproject.toml and package.json, and writes a new version in place,
// preserving formatting, comments, indentation and key order.
//
// Writes are line-based edits inside the one table that owns the version
// (`[package]`, `[workspace.package]`, `[project]`, `[tool.poetry]`) or the
// top-level JSON object, so dependency requirements elsewhere in the file are
// never touched.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// Codes raised here.
const (
	CodeManifestMissing = "PIOT_MANIFEST_MISSING"
	CodeManifestInvalid = "PIOT_MANIFEST_INVALID"
)

// FileFor is the manifest file name for kind.
func FileFor(kind string) string {
	switch kind {
	case config.KindCrates:
		return "Cargo.toml"
	case config.KindPyPI:
		return "pyproject.toml"
	case config.KindNPM:
		return "package.json"
	}
	return ""
}

// Change describes one version write.
type Change struct {
	File string `json:"file"`           // the file edited ("" when nothing was written)
	Old  string `json:"old,omitempty"`  // previous version ("" when the key was absent)
	New  string `json:"new"`            // the version written
	Hint string `json:"hint,omitempty"` // e.g. the setuptools-scm hand-off for dynamic versions
}

// ReadName returns the package name and version declared by the manifest of
// kind in dir. A Cargo version inherited from the workspace is resolved.
func ReadName(kind, dir string) (name, version string, err error) {
	file := filepath.Join(dir, FileFor(kind))
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "", diag.New(CodeManifestMissing, "%s not found", file).
				WithHint("`path` must be the directory that holds the package's %s", FileFor(kind))
		}
		return "", "", err
	}
	switch kind {
	case config.KindCrates:
		var m struct {
			Package struct {
				Name    string `toml:"name"`
				Version any    `toml:"version"`
			} `toml:"package"`
		}
		if err := toml.Unmarshal(data, &m); err != nil {
			return "", "", invalid(file, err)
		}
		v, _ := m.Package.Version.(string)
		if v == "" && inheritsWorkspace(m.Package.Version) {
			if root, err := findWorkspaceRoot(dir); err == nil {
				v, _ = workspaceVersion(root)
			}
		}
		return m.Package.Name, v, nil
	case config.KindPyPI:
		var m struct {
			Project struct {
				Name    string `toml:"name"`
				Version string `toml:"version"`
			} `toml:"project"`
			Tool struct {
				Poetry struct {
					Name    string `toml:"name"`
					Version string `toml:"version"`
				} `toml:"poetry"`
			} `toml:"tool"`
		}
		if err := toml.Unmarshal(data, &m); err != nil {
			return "", "", invalid(file, err)
		}
		if m.Project.Name == "" {
			return m.Tool.Poetry.Name, m.Tool.Poetry.Version, nil
		}
		return m.Project.Name, m.Project.Version, nil
	case config.KindNPM:
		var m struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		if err := json.Unmarshal(bytes.TrimPrefix(data, utf8BOM), &m); err != nil {
			return "", "", invalid(file, err)
		}
		return m.Name, m.Version, nil
	}
	return "", "", fmt.Errorf("unknown kind %q", kind)
}

func invalid(file string, err error) error {
	return diag.New(CodeManifestInvalid, "%s does not parse", file).Wrap(err)
}

func inheritsWorkspace(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	w, _ := m["workspace"].(bool)
	return w
}

// SetVersion writes version into the manifest of kind in dir.
func SetVersion(kind, dir, version string) (*Change, error) {
	return setVersion(kind, dir, version, false)
}

// CheckVersion does everything SetVersion does except writing, so publish can
// find a manifest it cannot edit before the first upload of a run rather
// than after it.
func CheckVersion(kind, dir, version string) error {
	_, err := setVersion(kind, dir, version, true)
	return err
}

func setVersion(kind, dir, version string, dry bool) (*Change, error) {
	switch kind {
	case config.KindCrates:
		return setCargo(dir, version, dry)
	case config.KindPyPI:
		return setPyproject(dir, version, dry)
	case config.KindNPM:
		return setPackageJSON(filepath.Join(dir, "package.json"), version, dry)
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

func setCargo(dir, version string, dry bool) (*Change, error) {
	file := filepath.Join(dir, "Cargo.toml")
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, diag.New(CodeManifestMissing, "%s not found", file).Wrap(err)
	}
	var m struct {
		Package struct {
			Version any `toml:"version"`
		} `toml:"package"`
	}
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, invalid(file, err)
	}
	if inheritsWorkspace(m.Package.Version) {
		root, err := findWorkspaceRoot(dir)
		if err != nil {
			return nil, diag.New(CodeManifestInvalid, "%s inherits its version from the workspace, but no workspace root with [workspace.package] version was found above it", file)
		}
		rootFile := filepath.Join(root, "Cargo.toml")
		return editTOMLFile(rootFile, "workspace.package", version, "", dry)
	}
	return editTOMLFile(file, "package", version, "name", dry)
}

func setPyproject(dir, version string, dry bool) (*Change, error) {
	file := filepath.Join(dir, "pyproject.toml")
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, diag.New(CodeManifestMissing, "%s not found", file).Wrap(err)
	}
	var m struct {
		Project *struct {
			Name    string   `toml:"name"`
			Dynamic []string `toml:"dynamic"`
		} `toml:"project"`
		Tool struct {
			Poetry *struct {
				Version string `toml:"version"`
			} `toml:"poetry"`
		} `toml:"tool"`
		BuildSystem struct {
			Backend string `toml:"build-backend"`
		} `toml:"build-system"`
	}
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, invalid(file, err)
	}
	if m.Project == nil {
		if m.Tool.Poetry != nil {
			return editTOMLFile(file, "tool.poetry", version, "name", dry)
		}
		return nil, diag.New(CodeManifestInvalid, "%s has no [project] table", file)
	}
	for _, d := range m.Project.Dynamic {
		if d != "version" {
			continue
		}
		// maturin takes a dynamic version from the crate's Cargo.toml.
		if strings.Contains(m.BuildSystem.Backend, "maturin") {
			if _, err := os.Stat(filepath.Join(dir, "Cargo.toml")); err == nil {
				c, err := setCargo(dir, version, dry)
				if c != nil {
					c.Hint = "pyproject.toml declares a dynamic version; maturin reads it from Cargo.toml, which was updated"
				}
				return c, err
			}
		}
		env := "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_" + scmName(m.Project.Name)
		return &Change{New: version, Hint: fmt.Sprintf("pyproject.toml declares `dynamic = [\"version\"]`, so the version was not written; the build must set %s=%s (setuptools-scm) or its backend's equivalent", env, version)}, nil
	}
	return editTOMLFile(file, "project", version, "name", dry)
}

// scmName is setuptools-scm's normalisation of a distribution name for its
// per-package environment variable.
func scmName(name string) string {
	return strings.ToUpper(regexp.MustCompile(`[-_.]+`).ReplaceAllString(name, "_"))
}

// findWorkspaceRoot walks up from dir to the Cargo.toml that has a [workspace] table.
func findWorkspaceRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no workspace root")
		}
		d = parent
		data, err := safefile.ReadFile(filepath.Join(d, "Cargo.toml"), safefile.MaxManifest)
		if err != nil {
			continue
		}
		var m map[string]any
		if toml.Unmarshal(data, &m) == nil {
			if _, ok := m["workspace"]; ok {
				return d, nil
			}
		}
	}
}

func workspaceVersion(root string) (string, error) {
	data, err := safefile.ReadFile(filepath.Join(root, "Cargo.toml"), safefile.MaxManifest)
	if err != nil {
		return "", err
	}
	var m struct {
		Workspace struct {
			Package struct {
				Version string `toml:"version"`
			} `toml:"package"`
		} `toml:"workspace"`
	}
	if err := toml.Unmarshal(data, &m); err != nil {
		return "", err
	}
	return m.Workspace.Package.Version, nil
}

func editTOMLFile(file, table, version, insertAfter string, dry bool) (*Change, error) {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	out, old, err := SetTOMLVersion(data, table, version, insertAfter)
	if err != nil {
		return nil, diag.New(CodeManifestInvalid, "%s: %v", file, err)
	}
	if dry {
		return &Change{File: file, Old: old, New: version}, nil
	}
	if err := writeSameMode(file, out); err != nil {
		return nil, err
	}
	return &Change{File: file, Old: old, New: version}, nil
}

var (
	headerRe  = regexp.MustCompile(`^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$`)
	arrayHdRe = regexp.MustCompile(`^\s*\[\[`)
	// version = "x" with any spacing, either quote style, optional trailing comment.
	versionRe = regexp.MustCompile(`^(\s*version\s*=\s*)(["'])([^"']*)(["'])(.*)$`)
)

// SetTOMLVersion sets `version` in table (dotted name) of a TOML document,
// changing only that value. When the key is absent it is inserted after the
// insertAfter key (or as the table's first key). The line edit is checked by
// parsing both documents: anything but that one value changing (a version
// written as a multi-line string, say) is refused rather than written.
func SetTOMLVersion(data []byte, table, version, insertAfter string) ([]byte, string, error) {
	out, old, err := setTOMLVersionLines(data, table, version, insertAfter)
	if err != nil {
		return nil, "", err
	}
	var before, after map[string]any
	if err := toml.Unmarshal(data, &before); err != nil {
		return nil, "", fmt.Errorf("not valid TOML: %w", err)
	}
	if err := toml.Unmarshal(out, &after); err != nil || !onlyVersionChanged(before, after, table, version) {
		return nil, "", fmt.Errorf("cannot write the version into [%s] in place; write it as a plain string on one line (version = \"%s\")", table, version)
	}
	return out, old, nil
}

// onlyVersionChanged reports whether after is before with table.version set.
func onlyVersionChanged(before, after map[string]any, table, version string) bool {
	t := before
	for _, k := range strings.Split(table, ".") {
		sub, ok := t[k].(map[string]any)
		if !ok {
			return false
		}
		t = sub
	}
	t["version"] = version
	return reflect.DeepEqual(before, after)
}

func setTOMLVersionLines(data []byte, table, version, insertAfter string) ([]byte, string, error) {
	text := string(data)
	nl := "\n"
	if strings.Contains(text, "\r\n") {
		nl = "\r\n"
	}
	lines := strings.Split(text, nl)
	current := ""
	found := -1
	tableStart := -1
	anchor := -1
	inMultiline := false
	for i, line := range lines {
		if strings.Count(line, `"""`)%2 == 1 || strings.Count(line, `'''`)%2 == 1 {
			inMultiline = !inMultiline
			continue
		}
		if inMultiline {
			continue
		}
		if arrayHdRe.MatchString(line) {
			current = "[[array]]"
			continue
		}
		if m := headerRe.FindStringSubmatch(line); m != nil {
			current = normalizeTable(m[1])
			if current == table {
				tableStart = i
			}
			continue
		}
		if current != table {
			continue
		}
		if versionRe.MatchString(line) {
			found = i
			break
		}
		if insertAfter != "" && regexp.MustCompile(`^\s*`+regexp.QuoteMeta(insertAfter)+`\s*=`).MatchString(line) {
			anchor = i
		}
	}
	if found >= 0 {
		m := versionRe.FindStringSubmatch(lines[found])
		old := m[3]
		lines[found] = m[1] + m[2] + version + m[4] + m[5]
		return []byte(strings.Join(lines, nl)), old, nil
	}
	if tableStart < 0 {
		return nil, "", fmt.Errorf("no [%s] table", table)
	}
	at := tableStart
	if anchor >= 0 {
		at = anchor
	}
	ins := fmt.Sprintf(`version = "%s"`, version)
	lines = append(lines[:at+1], append([]string{ins}, lines[at+1:]...)...)
	return []byte(strings.Join(lines, nl)), "", nil
}

func normalizeTable(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

func writeSameMode(file string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(file); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp := file + ".piot-tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
