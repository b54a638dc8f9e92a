package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// CodeWorkspaceProtocol: a `workspace:` range would reach the registry.
const CodeWorkspaceProtocol = "PIOT_WORKSPACE_PROTOCOL"

// WorkspaceRef is one dependency written with the `workspace:` protocol.
type WorkspaceRef struct {
	Field string // dependencies, peerDependencies, …
	Name  string // the key (the name the dependent imports)
	Range string // as written, e.g. "workspace:^"
}

// npmField is the package.json map a dependency of kind is declared in.
var npmField = map[string]string{DepNormal: "dependencies", DepOptional: "optionalDependencies", DepPeer: "peerDependencies", DepDev: "devDependencies"}

// WorkspaceRefs lists every `workspace:` range of a package.json, in all
// four dependency maps: pnpm and yarn replace them all when they pack
// (devDependencies too, since the published package.json is parsed by
// whoever installs it).
func WorkspaceRefs(data []byte) ([]WorkspaceRef, error) {
	deps, err := NPMDeps(data)
	if err != nil {
		return nil, err
	}
	var out []WorkspaceRef
	for _, d := range deps {
		if strings.HasPrefix(strings.TrimSpace(d.Req), "workspace:") {
			out = append(out, WorkspaceRef{Field: npmField[d.Kind], Name: d.Key, Range: d.Req})
		}
	}
	return out, nil
}

// NPMPackage is one package.json of an npm workspace.
type NPMPackage struct {
	Name, Version string
	Dir           string // absolute
}

// NPMWorkspace lists every named package.json under root (node_modules,
// dot-directories and artifacts/ left out), keyed by package name, so a
// `workspace:` range can be resolved whichever tool declares the workspace.
func NPMWorkspace(root string) (map[string]NPMPackage, error) {
	out := map[string]NPMPackage{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corners are not packages
		}
		if d.IsDir() {
			n := d.Name()
			if p != root && (n == "node_modules" || strings.HasPrefix(n, ".") || n == "artifacts" || n == "target") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "package.json" {
			return nil
		}
		data, err := safefile.ReadFile(p, safefile.MaxManifest)
		if err != nil {
			return nil
		}
		var m struct{ Name, Version string }
		if json.Unmarshal(bytes.TrimPrefix(data, utf8BOM), &m) != nil || m.Name == "" {
			return nil
		}
		if _, dup := out[m.Name]; !dup {
			out[m.Name] = NPMPackage{Name: m.Name, Version: m.Version, Dir: filepath.Dir(p)}
		}
		return nil
	})
	return out, err
}

// ResolveWorkspaceRange is what pnpm and yarn publish for a `workspace:`
// range of a dependency on a sibling at version: `workspace:*` → "1.2.3",
// `workspace:^` → "^1.2.3", `workspace:~` → "~1.2.3", `workspace:<range>` →
// "<range>", and an alias `workspace:other@<spec>` → "npm:other@<resolved>".
// A path (`workspace:../core`) resolves to the exact version. ok is false
// when rng is not a `workspace:` range.
func ResolveWorkspaceRange(rng, version string) (string, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(rng), "workspace:")
	if !ok {
		return "", false
	}
	alias := ""
	if at := strings.LastIndex(spec, "@"); at > 0 {
		alias, spec = spec[:at], spec[at+1:]
	}
	var out string
	switch {
	case spec == "*" || spec == "":
		out = version
	case spec == "^" || spec == "~":
		out = spec + version
	case strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/"):
		out = version
	default:
		out = spec
	}
	if alias != "" {
		return "npm:" + alias + "@" + out, true
	}
	return out, true
}

// workspaceTarget is the package a `workspace:` dependency names: the alias
// target if any, else the dependency key; a path names the package there.
func workspaceTarget(key, rng string, dir string, ws map[string]NPMPackage) (NPMPackage, bool) {
	spec := strings.TrimPrefix(strings.TrimSpace(rng), "workspace:")
	name := key
	if at := strings.LastIndex(spec, "@"); at > 0 {
		name, spec = spec[:at], spec[at+1:]
	}
	if strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/") {
		abs := spec
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(dir, filepath.FromSlash(spec))
		}
		for _, p := range ws {
			if filepath.Clean(p.Dir) == filepath.Clean(abs) {
				return p, true
			}
		}
		return NPMPackage{}, false
	}
	p, ok := ws[name]
	return p, ok
}

// WorkspaceReplacement is one `workspace:` range replaced.
type WorkspaceReplacement struct {
	Field, Name, From, To string
}

// ReplaceWorkspaceProtocol rewrites every `workspace:` range of the
// package.json in dir into what pnpm and yarn publish, in place and
// format-preservingly. versions overrides a sibling's version (the version
// this run gives it); others come from ws. A path range is resolved from
// srcDir, the package's directory in the repository ("" = dir; dir may be a
// copy under artifacts/). A range naming no package of the workspace is an
// error (CodeWorkspaceProtocol): it would reach the registry.
func ReplaceWorkspaceProtocol(dir, srcDir string, ws map[string]NPMPackage, versions map[string]string, dry bool) ([]WorkspaceReplacement, error) {
	if srcDir == "" {
		srcDir = dir
	}
	file := filepath.Join(dir, "package.json")
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, diag.New(CodeManifestMissing, "%s not found", file).Wrap(err)
	}
	refs, err := WorkspaceRefs(data)
	if err != nil {
		return nil, invalid(file, err)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	bom := bytes.HasPrefix(data, utf8BOM)
	out := bytes.TrimPrefix(data, utf8BOM)
	var done []WorkspaceReplacement
	var unknown []string
	for _, r := range refs {
		p, ok := workspaceTarget(r.Name, r.Range, srcDir, ws)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%s.%s = %q", r.Field, r.Name, r.Range))
			continue
		}
		v := p.Version
		if pv := versions[p.Name]; pv != "" {
			v = pv
		}
		if v == "" {
			unknown = append(unknown, fmt.Sprintf("%s.%s = %q (%s has no version)", r.Field, r.Name, r.Range, p.Name))
			continue
		}
		to, _ := ResolveWorkspaceRange(r.Range, v)
		if out, err = SetJSONString(out, []string{r.Field, r.Name}, to); err != nil {
			return nil, diag.New(CodeManifestInvalid, "%s: %v", file, err)
		}
		done = append(done, WorkspaceReplacement{Field: r.Field, Name: r.Name, From: r.Range, To: to})
	}
	if len(unknown) > 0 {
		e := diag.New(CodeWorkspaceProtocol, "%s: `workspace:` dependencies name no package of the workspace; npm cannot install them from a registry", file)
		e.Details = unknown
		return nil, e.WithHint("point each at a package.json of this repository (by its name or path), or replace the range with a version")
	}
	if dry {
		return done, nil
	}
	if bom {
		out = append(append([]byte{}, utf8BOM...), out...)
	}
	if err := writeSameMode(file, out); err != nil {
		return nil, err
	}
	return done, nil
}
