package manifest

import (
	"errors"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"path/filepath"
	"sort"

	"github.com/pelletier/go-toml/v2"
)

// Cargo workspace inheritance, resolved as cargo resolves it
// (cargo/src/cargo/util/toml/mod.rs, `resolve_toml` / `inheritable_package`
// / `resolve_dependencies`): a `[package]` key written `key.workspace = true`
// takes `[workspace.package].key`; a dependency written `{ workspace = true }`
// takes `[workspace.dependencies].<name>` with the member's `features`
// added and its `optional` kept; `[lints] workspace = true` takes
// `[workspace.lints]`. Anything that reads what a crate will publish
// (packaging checks, rehearsal stand-ins, doctor) reads the resolved form,
// so `license.workspace = true` is a license.

// CargoWorkspace is the root manifest of a Cargo workspace.
type CargoWorkspace struct {
	Root string         // directory holding the root Cargo.toml
	Doc  map[string]any // the parsed root Cargo.toml
}

// FindCargoWorkspace returns the workspace root above (or at) dir: the
// nearest Cargo.toml with a [workspace] table. nil when there is none.
func FindCargoWorkspace(dir string) (*CargoWorkspace, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for {
		data, err := safefile.ReadFile(filepath.Join(d, "Cargo.toml"), safefile.MaxManifest)
		if err == nil {
			var m map[string]any
			if err := toml.Unmarshal(data, &m); err != nil {
				return nil, invalid(filepath.Join(d, "Cargo.toml"), err)
			}
			if _, ok := m["workspace"].(map[string]any); ok {
				return &CargoWorkspace{Root: d, Doc: m}, nil
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil, nil
		}
		d = parent
	}
}

func (w *CargoWorkspace) table(keys ...string) map[string]any {
	if w == nil {
		return nil
	}
	t := w.Doc
	for _, k := range keys {
		sub, ok := t[k].(map[string]any)
		if !ok {
			return nil
		}
		t = sub
	}
	return t
}

// ResolveCargo returns the manifest m (a parsed Cargo.toml) with every
// workspace-inherited key replaced by the workspace's value. m is not
// modified. An inherited key the workspace does not define is an error, as
// it is for cargo. ws may be nil (no workspace): then nothing is inherited
// and any `workspace = true` is that error.
func ResolveCargo(m map[string]any, ws *CargoWorkspace) (map[string]any, error) {
	out := deepCopy(m).(map[string]any)
	var errs []error
	if pkg, ok := out["package"].(map[string]any); ok {
		wp := ws.table("workspace", "package")
		for _, k := range sortedKeys(pkg) {
			if !inheritsWorkspace(pkg[k]) {
				continue
			}
			v, ok := wp[k]
			if !ok {
				errs = append(errs, fmt.Errorf("[package] %s.workspace = true, but the workspace root has no [workspace.package] %s", k, k))
				continue
			}
			pkg[k] = deepCopy(v)
		}
	}
	wd := ws.table("workspace", "dependencies")
	resolveDeps := func(deps map[string]any, where string) {
		for _, name := range sortedKeys(deps) {
			member, ok := deps[name].(map[string]any)
			if !ok || !inheritsWorkspace(member) {
				continue
			}
			base, ok := wd[name]
			if !ok {
				errs = append(errs, fmt.Errorf("[%s] %s = { workspace = true }, but the workspace root has no [workspace.dependencies] %s", where, name, name))
				continue
			}
			deps[name] = inheritDep(base, member)
		}
	}
	for _, s := range cargoSections {
		if t, ok := out[s.key].(map[string]any); ok {
			resolveDeps(t, s.key)
		}
	}
	if targets, ok := out["target"].(map[string]any); ok {
		for _, tk := range sortedKeys(targets) {
			tt, _ := targets[tk].(map[string]any)
			for _, s := range cargoSections {
				if t, ok := tt[s.key].(map[string]any); ok {
					resolveDeps(t, "target."+tk+"."+s.key)
				}
			}
		}
	}
	if l, ok := out["lints"].(map[string]any); ok && inheritsWorkspace(l) {
		if wl := ws.table("workspace", "lints"); wl != nil {
			out["lints"] = deepCopy(wl)
		}
	}
	return out, errors.Join(errs...)
}

// inheritDep is cargo's merge of a member's `{ workspace = true, … }` with
// the workspace's entry: the workspace's table, plus the member's features
// (added to the workspace's) and its optional flag.
func inheritDep(base any, member map[string]any) map[string]any {
	out := map[string]any{}
	switch b := base.(type) {
	case string:
		out["version"] = b
	case map[string]any:
		for k, v := range b {
			out[k] = deepCopy(v)
		}
	}
	if f, ok := member["features"].([]any); ok {
		have, _ := out["features"].([]any)
		seen := map[any]bool{}
		for _, x := range have {
			seen[x] = true
		}
		for _, x := range f {
			if !seen[x] {
				have = append(have, x)
				seen[x] = true
			}
		}
		out["features"] = have
	}
	if v, ok := member["optional"]; ok {
		out["optional"] = v
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// ReadResolvedCargo reads dir/Cargo.toml with workspace inheritance
// resolved.
func ReadResolvedCargo(dir string) (map[string]any, error) {
	file := filepath.Join(dir, "Cargo.toml")
	data, err := safefile.ReadFile(file, safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, invalid(file, err)
	}
	ws, err := FindCargoWorkspace(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	out, err := ResolveCargo(m, ws)
	if err != nil {
		return out, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// PackagedCargoToml is the Cargo.toml `cargo package` would put in the
// .crate of the crate in dir at version: inheritance resolved, the version
// written, `path` dropped from dependencies (a published crate has only
// registry dependencies) and dev-dependencies without a version left out,
// as cargo does. Keys come out sorted, so the bytes are the same every run.
func PackagedCargoToml(dir, version string) ([]byte, error) {
	m, err := ReadResolvedCargo(dir)
	if m == nil {
		return nil, err
	}
	// err, if any, names inherited keys the workspace lacks; the rest is
	// resolved and still worth packaging (cargo would refuse: the checks
	// that read the result report the missing fields).
	delete(m, "workspace")
	if pkg, ok := m["package"].(map[string]any); ok && version != "" {
		pkg["version"] = version
	}
	strip := func(deps map[string]any, dev bool) {
		for _, name := range sortedKeys(deps) {
			d, ok := deps[name].(map[string]any)
			if !ok {
				continue
			}
			if _, hasPath := d["path"]; hasPath {
				if _, hasVersion := d["version"]; !hasVersion && dev {
					delete(deps, name)
					continue
				}
				delete(d, "path")
			}
		}
	}
	for _, s := range cargoSections {
		if t, ok := m[s.key].(map[string]any); ok {
			strip(t, s.kind == DepDev)
		}
	}
	if targets, ok := m["target"].(map[string]any); ok {
		for _, tk := range sortedKeys(targets) {
			tt, _ := targets[tk].(map[string]any)
			for _, s := range cargoSections {
				if t, ok := tt[s.key].(map[string]any); ok {
					strip(t, s.kind == DepDev)
				}
			}
		}
	}
	out, merr := toml.Marshal(m)
	if merr != nil {
		return nil, merr
	}
	return out, err
}

// InheritedKeys lists the [package] keys a Cargo.toml takes from its
// workspace, sorted (for messages).
func InheritedKeys(m map[string]any) []string {
	pkg, _ := m["package"].(map[string]any)
	var out []string
	for k, v := range pkg {
		if inheritsWorkspace(v) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
