package config

import (
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// checkInheritedVersions: crates whose Cargo.toml says `version.workspace =
// true` share one version, so bumping it releases them all; SPEC §2 requires
// them to be in one group. Manifests that are missing or do not parse are
// doctor's to report.
func checkInheritedVersions(cfg *Config, repoRoot string) []Problem {
	byRoot := map[string][]int{}
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		if p.Kind != KindCrates || p.Path == "" {
			continue
		}
		dir := filepath.Join(repoRoot, filepath.FromSlash(p.Path))
		if !inheritsVersion(filepath.Join(dir, "Cargo.toml")) {
			continue
		}
		root := workspaceRootOf(repoRoot, dir)
		byRoot[root] = append(byRoot[root], i)
	}
	var ps []Problem
	roots := make([]string, 0, len(byRoot))
	for r := range byRoot {
		roots = append(roots, r)
	}
	sort.Strings(roots)
	for _, r := range roots {
		idx := byRoot[r]
		groups := map[string]bool{}
		var names []string
		for _, i := range idx {
			groups[cfg.Packages[i].Group] = true
			names = append(names, cfg.Packages[i].Name)
		}
		if len(groups) == 1 && !groups[""] {
			continue
		}
		if len(idx) == 1 && groups[""] {
			// One crate inheriting the workspace's version alone: its
			// version is its own in effect.
			continue
		}
		for _, i := range idx {
			p := &cfg.Packages[i]
			pos := p.Pos
			if kp, ok := p.KeyPos["group"]; ok {
				pos = kp
			}
			ps = append(ps, Problem{File: displayName(cfg.File), Pos: pos, Package: p.Name, Key: "group", Code: CodeConfigInvalid,
				Msg: fmt.Sprintf("inherits its version from the Cargo workspace (version.workspace = true) like %s: bumping it releases them all, so they must be in one [[group]] (e.g. group = \"crates\")", strings.Join(names, ", "))})
		}
	}
	return ps
}

func inheritsVersion(file string) bool {
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return false
	}
	var m struct {
		Package struct {
			Version any `toml:"version"`
		} `toml:"package"`
	}
	if toml.Unmarshal(data, &m) != nil {
		return false
	}
	t, ok := m.Package.Version.(map[string]any)
	if !ok {
		return false
	}
	w, _ := t["workspace"].(bool)
	return w
}

// workspaceRootOf is the nearest directory above dir (up to repoRoot) whose
// Cargo.toml has a [workspace] table.
func workspaceRootOf(repoRoot, dir string) string {
	root, _ := filepath.Abs(repoRoot)
	d, _ := filepath.Abs(dir)
	for {
		data, err := safefile.ReadFile(filepath.Join(d, "Cargo.toml"), safefile.MaxManifest)
		if err == nil {
			var m map[string]any
			if toml.Unmarshal(data, &m) == nil {
				if _, ok := m["workspace"]; ok {
					return d
				}
			}
		}
		if d == root || filepath.Dir(d) == d {
			return root
		}
		d = filepath.Dir(d)
	}
}
