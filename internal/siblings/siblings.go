// Package siblings keeps the requirements between the packages of one
// repository true when their versions move: when a package of the run goes
// to a version a dependent's requirement does not accept, the dependent's
// manifest is rewritten (in the user's operator style, format-preserving)
// and the dependent is released too, since what it ships changed.
//
// Which requirements count, per ecosystem:
//   - Cargo: a dependency on a crate of the repository by `path` (or
//     through a `[workspace.dependencies]` entry with a path), in
//     [dependencies], [build-dependencies], [dev-dependencies] (when it has a
//     version), and their `[target.….]` forms; an inherited one is rewritten
//     in the workspace root. A registry dependency on an older major
//     (`tauri-utils-v1 = { package = "tauri-utils", version = "1" }`) is
//     left alone: it is meant to name the published one.
//   - npm: dependencies, peerDependencies and optionalDependencies on a
//     package of the repository by name (devDependencies are never
//     installed by users; `workspace:` ranges are replaced at publish; an
//     alias to another name is left alone).
//   - Python: [project] dependencies and optional dependencies naming a
//     distribution of the repository.
//
// A maturin or napi package's own Cargo.toml is read too: its path
// dependency on the Rust core must accept the core's new version or the
// wheel or addon does not build.
package siblings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// Edit is one requirement to rewrite.
type Edit struct {
	Package string `json:"package"` // the dependent (config name)
	Sibling string `json:"sibling"` // the package it requires (config name)
	Kind    string `json:"kind"`    // ecosystem of the requirement: crates, npm, pypi
	File    string `json:"file"`    // manifest, relative to the repository root (slashes)
	Section string `json:"section"` // e.g. dependencies, target.cfg(unix).dependencies, workspace.dependencies, project.dependencies
	Key     string `json:"key"`     // the dependency as written
	Old     string `json:"old"`
	New     string `json:"new"`
	Version string `json:"version"` // the sibling's new version

	table []string // Cargo table path
	field string   // npm field
	line  string   // Python requirement as written
	spec  string   // Python specifier in line
}

// Reason is the plan's words for why the dependent is released.
func (e Edit) Reason() string {
	return fmt.Sprintf("requires %s %q, which does not accept %s: rewritten to %q", e.Sibling, e.Old, e.Version, e.New)
}

type sibling struct {
	pkg     *config.Package
	version string
}

// Compute lists the requirement rewrites that versions (config name → the
// version the package moves to) make necessary, over every package of cfg,
// in a fixed order (config order, then file, then section and key).
func Compute(root string, cfg *config.Config, versions map[string]string) ([]Edit, error) {
	byKind := map[string]map[string]sibling{} // kind → registry name (normalised for PyPI) → sibling
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		v, ok := versions[p.Name]
		if !ok {
			continue
		}
		if byKind[p.Kind] == nil {
			byKind[p.Kind] = map[string]sibling{}
		}
		byKind[p.Kind][regName(p.Kind, p.RegistryName())] = sibling{p, v}
	}
	var out []Edit
	// An inherited requirement appears once per member that inherits it
	// (each is a dependent to release); Apply writes it once.
	seen := map[string]bool{}
	add := func(e Edit) {
		k := e.Package + "|" + e.File + "|" + e.Section + "|" + e.Key
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, e)
	}
	var errs []error
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		dir := filepath.Join(root, filepath.FromSlash(p.Path))
		if crates := byKind[config.KindCrates]; crates != nil {
			if _, err := os.Stat(filepath.Join(dir, "Cargo.toml")); err == nil {
				es, err := cargoEdits(root, dir, p, crates)
				if err != nil {
					errs = append(errs, err)
				}
				for _, e := range es {
					add(e)
				}
			}
		}
		switch p.Kind {
		case config.KindNPM:
			if sib := byKind[config.KindNPM]; sib != nil {
				es, err := npmEdits(root, dir, p, sib)
				if err != nil {
					errs = append(errs, err)
				}
				for _, e := range es {
					add(e)
				}
			}
		case config.KindPyPI:
			if sib := byKind[config.KindPyPI]; sib != nil {
				es, err := pyEdits(root, dir, p, sib)
				if err != nil {
					errs = append(errs, err)
				}
				for _, e := range es {
					add(e)
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

func regName(kind, name string) string {
	if kind == config.KindPyPI {
		return manifest.NormalizePyName(name)
	}
	return name
}

func rel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(r)
}

var cargoSectionKey = map[string][]string{
	manifest.DepNormal: {"dependencies"},
	manifest.DepBuild:  {"build-dependencies", "build_dependencies"},
	manifest.DepDev:    {"dev-dependencies", "dev_dependencies"},
}

func cargoEdits(root, dir string, p *config.Package, crates map[string]sibling) ([]Edit, error) {
	file := filepath.Join(dir, "Cargo.toml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	deps, err := manifest.CargoDeps(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel(root, file), err)
	}
	var ws *manifest.CargoWorkspace
	var wsDeps map[string]manifest.Dep
	var out []Edit
	for _, d := range deps {
		s, ok := crates[d.Name]
		if !ok || s.pkg.Name == p.Name && p.Kind == config.KindCrates {
			continue
		}
		if d.Workspace {
			if ws == nil {
				if ws, err = manifest.FindCargoWorkspace(dir); err != nil || ws == nil {
					continue
				}
				wsDeps = workspaceDeps(ws)
			}
			wd, ok := wsDeps[d.Key]
			if !ok || wd.Path == "" || wd.Name != d.Name || manifest.ReqAccepts(config.KindCrates, wd.Req, s.version) || wd.Req == "" {
				continue
			}
			out = append(out, Edit{Package: p.Name, Sibling: s.pkg.Name, Kind: config.KindCrates, File: rel(root, filepath.Join(ws.Root, "Cargo.toml")),
				Section: "workspace.dependencies", Key: d.Key, Old: wd.Req, New: manifest.RewriteReq(config.KindCrates, wd.Req, s.version), Version: s.version,
				table: []string{"workspace", "dependencies"}})
			continue
		}
		if d.Path == "" || d.Req == "" || manifest.ReqAccepts(config.KindCrates, d.Req, s.version) {
			continue
		}
		section, table := cargoTable(data, d)
		out = append(out, Edit{Package: p.Name, Sibling: s.pkg.Name, Kind: config.KindCrates, File: rel(root, file),
			Section: section, Key: d.Key, Old: d.Req, New: manifest.RewriteReq(config.KindCrates, d.Req, s.version), Version: s.version, table: table})
	}
	// A workspace root's own [workspace.dependencies] (the root package, or
	// a virtual manifest released as a package) is covered by members that
	// inherit it; entries nobody inherits are not requirements of a package.
	return out, nil
}

// cargoTable finds which spelling of the section holds d.
func cargoTable(data []byte, d manifest.Dep) (string, []string) {
	for _, key := range cargoSectionKey[d.Kind] {
		t := []string{key}
		if d.Target != "" {
			t = []string{"target", d.Target, key}
		}
		if _, err := manifest.SetCargoDepReq(data, t, d.Key, d.Req); err == nil {
			return strings.Join(t, "."), t
		}
	}
	t := []string{cargoSectionKey[d.Kind][0]}
	if d.Target != "" {
		t = []string{"target", d.Target, t[0]}
	}
	return strings.Join(t, "."), t
}

func workspaceDeps(ws *manifest.CargoWorkspace) map[string]manifest.Dep {
	data, err := os.ReadFile(filepath.Join(ws.Root, "Cargo.toml"))
	if err != nil {
		return nil
	}
	// [workspace.dependencies] read as a [dependencies] table.
	var m map[string]any
	out := map[string]manifest.Dep{}
	if err := toml.Unmarshal(data, &m); err != nil {
		return out
	}
	w, _ := m["workspace"].(map[string]any)
	t, _ := w["dependencies"].(map[string]any)
	enc, err := toml.Marshal(map[string]any{"dependencies": t})
	if err != nil {
		return out
	}
	deps, _ := manifest.CargoDeps(enc)
	for _, d := range deps {
		out[d.Key] = d
	}
	return out
}

var npmFieldOf = map[string]string{manifest.DepNormal: "dependencies", manifest.DepPeer: "peerDependencies", manifest.DepOptional: "optionalDependencies"}

func npmEdits(root, dir string, p *config.Package, sib map[string]sibling) ([]Edit, error) {
	file := filepath.Join(dir, "package.json")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil
	}
	deps, err := manifest.NPMDeps(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel(root, file), err)
	}
	var out []Edit
	for _, d := range deps {
		field, ok := npmFieldOf[d.Kind]
		s, isSib := sib[d.Name]
		if !ok || !isSib || s.pkg.Name == p.Name || d.Key != d.Name || d.Path != "" ||
			strings.HasPrefix(d.Req, "workspace:") || manifest.ReqAccepts(config.KindNPM, d.Req, s.version) {
			continue
		}
		out = append(out, Edit{Package: p.Name, Sibling: s.pkg.Name, Kind: config.KindNPM, File: rel(root, file), Section: field, Key: d.Key,
			Old: d.Req, New: manifest.RewriteReq(config.KindNPM, d.Req, s.version), Version: s.version, field: field})
	}
	return out, nil
}

func pyEdits(root, dir string, p *config.Package, sib map[string]sibling) ([]Edit, error) {
	file := filepath.Join(dir, "pyproject.toml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil
	}
	deps, err := manifest.PythonDeps(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel(root, file), err)
	}
	var out []Edit
	for _, d := range deps {
		if d.Line == "" { // Poetry tables: not a [project] requirement
			continue
		}
		s, ok := sib[manifest.NormalizePyName(d.Name)]
		if !ok || s.pkg.Name == p.Name || manifest.ReqAccepts(config.KindPyPI, d.Req, s.version) {
			continue
		}
		newSpec := manifest.RewriteReq(config.KindPyPI, d.Req, s.version)
		section := "project.dependencies"
		if d.Group != "" {
			section = "project.optional-dependencies." + d.Group
		}
		out = append(out, Edit{Package: p.Name, Sibling: s.pkg.Name, Kind: config.KindPyPI, File: rel(root, file), Section: section, Key: d.Name,
			Old: d.Req, New: newSpec, Version: s.version, line: d.Line, spec: d.Req})
	}
	return out, nil
}

// Apply writes edits into the manifests under root. Edits of one file are
// applied together and the file is written once.
func Apply(root string, edits []Edit) error {
	byFile := map[string][]Edit{}
	var files []string
	for _, e := range unique(edits) {
		if _, ok := byFile[e.File]; !ok {
			files = append(files, e.File)
		}
		byFile[e.File] = append(byFile[e.File], e)
	}
	sort.Strings(files)
	for _, f := range files {
		path := filepath.Join(root, filepath.FromSlash(f))
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, e := range byFile[f] {
			if data, err = apply(data, e); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
		if err := manifest.WriteFile(path, data); err != nil {
			return err
		}
	}
	return nil
}

func apply(data []byte, e Edit) ([]byte, error) {
	switch e.Kind {
	case config.KindCrates:
		return manifest.SetCargoDepReq(data, e.table, e.Key, e.New)
	case config.KindNPM:
		return manifest.SetNPMDepRange(data, e.field, e.Key, e.New)
	case config.KindPyPI:
		line, ok := manifest.RewriteRequirementLine(e.line, e.Key, e.spec, e.New)
		if !ok {
			return nil, fmt.Errorf("cannot rewrite requirement %q", e.line)
		}
		return manifest.SetPythonRequirement(data, e.line, line)
	}
	return nil, fmt.Errorf("unknown kind %q", e.Kind)
}

// Check tries every edit without writing, so a requirement publish cannot
// rewrite stops the run before the first upload.
func Check(root string, edits []Edit) []string {
	var out []string
	cache := map[string][]byte{}
	for _, e := range unique(edits) {
		data, ok := cache[e.File]
		if !ok {
			var err error
			if data, err = os.ReadFile(filepath.Join(root, filepath.FromSlash(e.File))); err != nil {
				out = append(out, fmt.Sprintf("%s: %v", e.File, err))
				continue
			}
		}
		next, err := apply(data, e)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", e.File, err))
			continue
		}
		cache[e.File] = next
	}
	return out
}

// Versions maps every package the plan releases to its new version.
func Versions(p *plan.Plan) map[string]string {
	out := map[string]string{}
	for _, r := range p.Releases {
		out[r.Name] = r.Version
	}
	return out
}

// Forced is, for each package whose requirements the plan's versions make
// stale, why it must be released: the plan's reason. Manifests that cannot
// be read are left to doctor and to publish's own checks.
func Forced(root string, cfg *config.Config, p *plan.Plan) map[string]string {
	edits, _ := Compute(root, cfg, Versions(p))
	out := map[string]string{}
	for _, e := range edits {
		if out[e.Package] != "" {
			out[e.Package] += "; "
		}
		out[e.Package] += e.Reason()
	}
	return out
}

// unique drops repeats of one requirement (file, section, key).
func unique(edits []Edit) []Edit {
	seen := map[string]bool{}
	var out []Edit
	for _, e := range edits {
		k := e.File + "|" + e.Section + "|" + e.Key
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// ApplyTo writes the edits of kind into file, a copy of the manifest they
// name (the package folder publish uploads from artifacts/).
func ApplyTo(file, kind string, edits []Edit) error {
	var mine []Edit
	for _, e := range unique(edits) {
		if e.Kind == kind {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	for _, e := range mine {
		if data, err = apply(data, e); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	return manifest.WriteFile(file, data)
}
