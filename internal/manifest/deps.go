package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// Dependency kinds, across ecosystems.
const (
	DepNormal   = "normal"   // Cargo [dependencies], npm dependencies, Python [project].dependencies
	DepBuild    = "build"    // Cargo [build-dependencies]
	DepDev      = "dev"      // Cargo [dev-dependencies], npm devDependencies (never shipped)
	DepPeer     = "peer"     // npm peerDependencies
	DepOptional = "optional" // npm optionalDependencies, Python optional-dependencies
)

// Dep is one dependency declaration of a manifest.
//
// Reads return them in a fixed order (section order, then target, then key),
// never in map iteration order: a Cargo manifest may name one crate twice
// (`tauri-utils` and `tauri-utils-v1 = { package = "tauri-utils" }`), and
// whatever is decided from the list must not depend on which comes first by
// chance.
type Dep struct {
	Key       string `json:"key"`              // the key as written (the name the code imports)
	Name      string `json:"name"`             // the registry name: Cargo's `package =` rename applied
	Req       string `json:"req,omitempty"`    // version requirement or npm spec ("workspace:^"); "" when none
	Path      string `json:"path,omitempty"`   // Cargo `path`, npm `file:`/`link:` target, as written
	Kind      string `json:"kind"`             // DepNormal, DepBuild, DepDev, DepPeer, DepOptional
	Target    string `json:"target,omitempty"` // Cargo `[target.<Target>.…]`: a triple or cfg(...); "" for every target
	Group     string `json:"group,omitempty"`  // Python optional-dependencies group
	Workspace bool   `json:"workspace,omitempty"`
	Optional  bool   `json:"optional,omitempty"`
	Line      string `json:"-"` // Python: the requirement string as written
}

// Ships reports whether the dependency is part of what users install
// (everything but dev-dependencies).
func (d Dep) Ships() bool { return d.Kind != DepDev }

// ReadDeps reads the dependencies declared by the manifest of kind in dir.
// For a maturin pyproject.toml the Rust crate's Cargo.toml beside it is a
// separate manifest: read it with kind crates.
func ReadDeps(kind, dir string) ([]Dep, error) {
	file := filepath.Join(dir, FileFor(kind))
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	var deps []Dep
	switch kind {
	case config.KindCrates:
		deps, err = CargoDeps(data)
	case config.KindPyPI:
		deps, err = PythonDeps(data)
	case config.KindNPM:
		deps, err = NPMDeps(data)
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return nil, invalid(file, err)
	}
	return deps, nil
}

var cargoSections = []struct{ key, kind string }{
	{"dependencies", DepNormal},
	{"build-dependencies", DepBuild},
	{"build_dependencies", DepBuild}, // the old spelling cargo still reads
	{"dev-dependencies", DepDev},
	{"dev_dependencies", DepDev},
}

// CargoDeps reads every dependency of a Cargo.toml: normal, build and dev,
// for all targets and under each `[target.'cfg(..)'.…]` table, renamed ones
// under their real name.
func CargoDeps(data []byte) ([]Dep, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var out []Dep
	add := func(table map[string]any, kind, target string) {
		for _, key := range sortedKeys(table) {
			d := Dep{Key: key, Name: key, Kind: kind, Target: target}
			switch v := table[key].(type) {
			case string:
				d.Req = v
			case map[string]any:
				d.Req, _ = v["version"].(string)
				d.Path, _ = v["path"].(string)
				if p, _ := v["package"].(string); p != "" {
					d.Name = p
				}
				d.Workspace, _ = v["workspace"].(bool)
				d.Optional, _ = v["optional"].(bool)
			default:
				continue
			}
			out = append(out, d)
		}
	}
	for _, s := range cargoSections {
		t, _ := m[s.key].(map[string]any)
		add(t, s.kind, "")
	}
	targets, _ := m["target"].(map[string]any)
	for _, target := range sortedKeys(targets) {
		tt, _ := targets[target].(map[string]any)
		for _, s := range cargoSections {
			t, _ := tt[s.key].(map[string]any)
			add(t, s.kind, target)
		}
	}
	return out, nil
}

var npmSections = []struct{ key, kind string }{
	{"dependencies", DepNormal},
	{"optionalDependencies", DepOptional},
	{"peerDependencies", DepPeer},
	{"devDependencies", DepDev},
}

// NPMDeps reads a package.json's dependency maps. An npm alias
// (`"x": "npm:real@^1"`) is keyed x and named real.
func NPMDeps(data []byte) ([]Dep, error) {
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimPrefix(data, utf8BOM), &m); err != nil {
		return nil, err
	}
	var out []Dep
	for _, s := range npmSections {
		t, _ := m[s.key].(map[string]any)
		for _, key := range sortedKeys(t) {
			spec, ok := t[key].(string)
			if !ok {
				continue
			}
			d := Dep{Key: key, Name: key, Req: spec, Kind: s.kind}
			switch {
			case strings.HasPrefix(spec, "npm:"):
				// npm:name@range, name may be scoped.
				rest := spec[len("npm:"):]
				at := strings.LastIndexByte(rest, '@')
				if at > 0 {
					d.Name, d.Req = rest[:at], rest[at+1:]
				} else {
					d.Name, d.Req = rest, ""
				}
			case strings.HasPrefix(spec, "file:"):
				d.Path = spec[len("file:"):]
			case strings.HasPrefix(spec, "link:"):
				d.Path = spec[len("link:"):]
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// pep508Name is the distribution name at the start of a PEP 508 requirement.
var pep508Name = regexp.MustCompile(`^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$`)

// ParseRequirement splits a PEP 508 requirement ("pydantic-core==2.1; python_version>'3'")
// into its name and version specifier (markers and URLs dropped).
func ParseRequirement(s string) (name, spec string, ok bool) {
	m := pep508Name.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	rest := m[3]
	if i := strings.IndexByte(rest, ';'); i >= 0 {
		rest = rest[:i]
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "@") {
		rest = "" // a direct URL reference
	}
	rest = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")"))
	return m[1], rest, true
}

// PythonDeps reads a pyproject.toml's requirements: [project].dependencies,
// [project.optional-dependencies] and Poetry's dependency tables.
func PythonDeps(data []byte) ([]Dep, error) {
	var m struct {
		Project struct {
			Dependencies []string            `toml:"dependencies"`
			Optional     map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
		Tool struct {
			Poetry struct {
				Dependencies    map[string]any `toml:"dependencies"`
				DevDependencies map[string]any `toml:"dev-dependencies"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var out []Dep
	req := func(line, kind, group string) {
		name, spec, ok := ParseRequirement(line)
		if !ok {
			return
		}
		out = append(out, Dep{Key: name, Name: name, Req: spec, Kind: kind, Group: group, Line: line})
	}
	for _, l := range m.Project.Dependencies {
		req(l, DepNormal, "")
	}
	for _, g := range sortedKeys(m.Project.Optional) {
		for _, l := range m.Project.Optional[g] {
			req(l, DepOptional, g)
		}
	}
	poetry := func(t map[string]any, kind string) {
		for _, key := range sortedKeys(t) {
			if strings.EqualFold(key, "python") {
				continue
			}
			d := Dep{Key: key, Name: key, Kind: kind}
			switch v := t[key].(type) {
			case string:
				d.Req = v
			case map[string]any:
				d.Req, _ = v["version"].(string)
				d.Path, _ = v["path"].(string)
				d.Optional, _ = v["optional"].(bool)
			}
			out = append(out, d)
		}
	}
	poetry(m.Tool.Poetry.Dependencies, DepNormal)
	poetry(m.Tool.Poetry.DevDependencies, DepDev)
	return out, nil
}

// NormalizePyName is PEP 503's normalised form of a distribution name.
func NormalizePyName(n string) string {
	return strings.ToLower(pyNameSep.ReplaceAllString(n, "-"))
}

var pyNameSep = regexp.MustCompile(`[-_.]+`)

// CargoInfo is what a Cargo.toml says about the package and workspace it
// declares, for discovery.
type CargoInfo struct {
	Name             string
	Version          string // "" when absent or inherited
	VersionInherited bool   // version.workspace = true
	HasPackage       bool
	// Publish is false for `publish = false` or `publish = []`.
	Publish bool
	// Workspace: a [workspace] table; its members / exclude globs and its
	// [workspace.package] version.
	IsWorkspace      bool
	Members, Exclude []string
	WorkspaceVersion string
}

// ReadCargoInfo parses a Cargo.toml's package and workspace tables.
func ReadCargoInfo(data []byte) (*CargoInfo, error) {
	var m struct {
		Package *struct {
			Name    string `toml:"name"`
			Version any    `toml:"version"`
			Publish any    `toml:"publish"`
		} `toml:"package"`
		Workspace *struct {
			Members []string `toml:"members"`
			Exclude []string `toml:"exclude"`
			Package struct {
				Version string `toml:"version"`
			} `toml:"package"`
		} `toml:"workspace"`
	}
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	ci := &CargoInfo{Publish: true}
	if m.Package != nil {
		ci.HasPackage = true
		ci.Name = m.Package.Name
		ci.Version, _ = m.Package.Version.(string)
		ci.VersionInherited = inheritsWorkspace(m.Package.Version)
		switch p := m.Package.Publish.(type) {
		case bool:
			ci.Publish = p
		case []any:
			ci.Publish = len(p) > 0
		}
	}
	if m.Workspace != nil {
		ci.IsWorkspace = true
		ci.Members, ci.Exclude = m.Workspace.Members, m.Workspace.Exclude
		ci.WorkspaceVersion = m.Workspace.Package.Version
	}
	return ci, nil
}

// NPMInfo is what a package.json says for discovery.
type NPMInfo struct {
	Name, Version string
	// Private: npm refuses to publish when `private` is truthy in
	// JavaScript's sense (npm/cli workspaces/libnpmpublish/lib/publish.js:
	// `if (manifest.private)`), so the string "true" is private too, as is
	// any non-empty string.
	Private    bool
	Workspaces []string // "workspaces": [..] or {"packages": [..]}
	HasBin     bool
	Napi       map[string]any
	Raw        map[string]any
}

// ReadNPMInfo parses a package.json.
func ReadNPMInfo(data []byte) (*NPMInfo, error) {
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimPrefix(data, utf8BOM), &m); err != nil {
		return nil, err
	}
	ni := &NPMInfo{Raw: m}
	ni.Name, _ = m["name"].(string)
	ni.Version, _ = m["version"].(string)
	switch p := m["private"].(type) {
	case bool:
		ni.Private = p
	case string:
		ni.Private = p != ""
	}
	switch w := m["workspaces"].(type) {
	case []any:
		ni.Workspaces = strings1(w)
	case map[string]any:
		l, _ := w["packages"].([]any)
		ni.Workspaces = strings1(l)
	}
	_, ni.HasBin = m["bin"]
	ni.Napi, _ = m["napi"].(map[string]any)
	return ni, nil
}

func strings1(l []any) []string {
	var out []string
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
