package initcmd

import (
	"encoding/json"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// Found is a package discovered from a manifest.
type Found struct {
	Name         string   `json:"name"`          // the config name
	RegistryName string   `json:"registry_name"` // the manifest's name
	Kind         string   `json:"kind"`
	Path         string   `json:"path"` // slash-separated, "." for the root
	Build        string   `json:"build,omitempty"`
	Targets      []string `json:"targets,omitempty"`
	DependsOn    []string `json:"depends_on,omitempty"`

	// cargoPathDeps are the repo-relative directories of the Rust path
	// dependencies of the package's crate (its own, or the one built into it).
	cargoPathDeps []string
}

// Skipped is a manifest init found and left out, with why.
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// maxDepth: manifests at the root or up to two directory levels down.
const maxDepth = 2

// skipDirs are never searched: dependencies, build output, VCS data.
var skipDirs = map[string]bool{
	"node_modules": true, "target": true, ".git": true, "dist": true, "build": true,
	"__pycache__": true, ".venv": true, "venv": true,
}

// defaultTargets is what a native package is built for when its manifest
// does not say: the GitHub-hosted runners' platforms.
var defaultTargets = []string{
	"x86_64-unknown-linux-gnu",
	"aarch64-unknown-linux-gnu",
	"aarch64-apple-darwin",
	"x86_64-pc-windows-msvc",
}

// Discover finds releasable packages under root.
func Discover(root string) ([]Found, []Skipped, error) {
	var found []Found
	var skipped []Skipped
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable subdirectory: not ours to judge
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if rel != "." && strings.Count(rel, "/")+1 > maxDepth {
				return filepath.SkipDir
			}
			f, s := inspectDir(p, rel)
			found = append(found, f...)
			skipped = append(skipped, s...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("searching %s for manifests: %w", root, err)
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].Path != found[j].Path {
			return found[i].Path < found[j].Path
		}
		return found[i].Kind < found[j].Kind
	})
	nameFound(found)
	linkDeps(found)
	return found, skipped, nil
}

// inspectDir reads the manifests directly in dir.
func inspectDir(dir, rel string) ([]Found, []Skipped) {
	var found []Found
	var skipped []Skipped
	at := func(file string) string { return path.Join(rel, file) }

	py, pyErr := readTOML(filepath.Join(dir, "pyproject.toml"))
	pj, pjErr := readJSON(filepath.Join(dir, "package.json"))
	cargo, cErr := readTOML(filepath.Join(dir, "Cargo.toml"))
	_, cargoHasPkg := cargo["package"]
	var deps []string
	if cErr == nil {
		deps = cargoPathDeps(cargo, rel)
	}
	maturin := false

	if pyErr == nil {
		backend, _ := dig(py, "build-system", "build-backend").(string)
		name, _ := dig(py, "project", "name").(string)
		if name == "" {
			name, _ = dig(py, "tool", "poetry", "name").(string)
		}
		switch {
		case name == "":
			skipped = append(skipped, Skipped{at("pyproject.toml"), "no [project].name"})
		default:
			f := Found{RegistryName: name, Kind: config.KindPyPI, Path: rel}
			switch {
			case strings.HasPrefix(backend, "maturin"):
				maturin = true
				f.Build = config.BuildMaturin
				f.Targets = defaultTargets
				f.cargoPathDeps = deps
			case strings.HasPrefix(backend, "hatchling"):
				f.Build = config.BuildHatch
			}
			found = append(found, f)
		}
	} else if !os.IsNotExist(pyErr) {
		skipped = append(skipped, Skipped{at("pyproject.toml"), "unreadable: " + pyErr.Error()})
	}

	if pjErr == nil {
		name, _ := pj["name"].(string)
		private, _ := pj["private"].(bool)
		switch {
		case private:
			skipped = append(skipped, Skipped{at("package.json"), `"private": true`})
		case name == "":
			skipped = append(skipped, Skipped{at("package.json"), "no name"})
		default:
			f := Found{RegistryName: name, Kind: config.KindNPM, Path: rel}
			_, hasBin := pj["bin"]
			if napi, ok := pj["napi"].(map[string]any); ok {
				f.Build = config.BuildNapi
				f.Targets = defaultTargets
				if ts, ok := napi["targets"].([]any); ok && len(ts) > 0 {
					f.Targets = nil
					for _, t := range ts {
						if s, ok := t.(string); ok {
							f.Targets = append(f.Targets, s)
						}
					}
				}
				f.cargoPathDeps = deps
			} else if hasBin && cErr == nil && cargoHasPkg {
				// A Rust binary next to a package.json with `bin`: the npm
				// package ships it per platform.
				f.Build = config.BuildBundledCLI
				f.Targets = defaultTargets
				f.cargoPathDeps = deps
			}
			found = append(found, f)
		}
	} else if !os.IsNotExist(pjErr) {
		skipped = append(skipped, Skipped{at("package.json"), "unreadable: " + pjErr.Error()})
	}

	if cErr == nil {
		hasPkg := cargoHasPkg
		_, hasWS := cargo["workspace"]
		name, _ := dig(cargo, "package", "name").(string)
		publish := dig(cargo, "package", "publish")
		switch {
		case hasWS && !hasPkg:
			skipped = append(skipped, Skipped{at("Cargo.toml"), "workspace root"})
		case maturin:
			skipped = append(skipped, Skipped{at("Cargo.toml"), "the Rust side of the maturin package " + rel})
		case pjErr == nil:
			skipped = append(skipped, Skipped{at("Cargo.toml"), "built into the npm package " + rel})
		case publish == false || isEmptyList(publish):
			skipped = append(skipped, Skipped{at("Cargo.toml"), "publish = false"})
		case name == "":
			skipped = append(skipped, Skipped{at("Cargo.toml"), "no [package].name"})
		default:
			found = append(found, Found{RegistryName: name, Kind: config.KindCrates, Path: rel, cargoPathDeps: deps})
		}
	} else if !os.IsNotExist(cErr) {
		skipped = append(skipped, Skipped{at("Cargo.toml"), "unreadable: " + cErr.Error()})
	}
	return found, skipped
}

// cargoPathDeps lists the repo-relative directories of a Cargo.toml's path
// dependencies (normal and build; dev-dependencies do not ship).
func cargoPathDeps(cargo map[string]any, rel string) []string {
	var out []string
	for _, section := range []string{"dependencies", "build-dependencies"} {
		deps, _ := cargo[section].(map[string]any)
		for _, d := range deps {
			t, ok := d.(map[string]any)
			if !ok {
				continue
			}
			if p, ok := t["path"].(string); ok {
				out = append(out, path.Clean(path.Join(rel, filepath.ToSlash(p))))
			}
		}
	}
	sort.Strings(out)
	return out
}

// linkDeps turns Rust path dependencies between discovered packages into
// depends_on, so a change to a crate releases what is built from it.
func linkDeps(found []Found) {
	byPath := map[string]string{}
	for _, f := range found {
		if f.Kind == config.KindCrates {
			byPath[f.Path] = f.Name
		}
	}
	for i := range found {
		seen := map[string]bool{}
		for _, d := range found[i].cargoPathDeps {
			if n, ok := byPath[d]; ok && n != found[i].Name && !seen[n] {
				seen[n] = true
				found[i].DependsOn = append(found[i].DependsOn, n)
			}
		}
	}
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

func readTOML(file string) (map[string]any, error) {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func readJSON(file string) (map[string]any, error) {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func dig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

var badNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// nameFound picks a config name per package: the manifest name without an
// npm scope, made unique with a kind suffix when two packages share it.
func nameFound(found []Found) {
	base := func(f Found) string {
		n := f.RegistryName
		if i := strings.LastIndexByte(n, '/'); i >= 0 {
			n = n[i+1:]
		}
		n = strings.Trim(badNameChars.ReplaceAllString(n, "-"), "-._")
		if n == "" {
			n = f.Kind
		}
		return n
	}
	count := map[string]int{}
	for _, f := range found {
		count[base(f)]++
	}
	used := map[string]bool{}
	suffix := map[string]string{config.KindCrates: "-rs", config.KindPyPI: "-py", config.KindNPM: "-js"}
	for i := range found {
		n := base(found[i])
		if count[n] > 1 {
			n += suffix[found[i].Kind]
		}
		for k := 2; used[n]; k++ {
			n = fmt.Sprintf("%s-%d", strings.TrimSuffix(n, fmt.Sprintf("-%d", k-1)), k)
		}
		used[n] = true
		found[i].Name = n
	}
}
