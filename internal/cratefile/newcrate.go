package cratefile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// NewCrate is the JSON metadata of crates.io's publish request (PUT
// /api/v1/crates/new), field for field as cargo sends it: rust-lang/cargo
// crates/crates-io/lib.rs `NewCrate`, filled by
// src/ops/registry/cargo_publish.rs `prepare_transmit`. It is built here from
// the Cargo.toml cargo wrote into the .crate, so the upload describes exactly
// the archive that was checked.
type NewCrate struct {
	Name          string                       `json:"name"`
	Vers          string                       `json:"vers"`
	Deps          []NewCrateDependency         `json:"deps"`
	Features      map[string][]string          `json:"features"`
	Authors       []string                     `json:"authors"`
	Description   *string                      `json:"description"`
	Documentation *string                      `json:"documentation"`
	Homepage      *string                      `json:"homepage"`
	Readme        *string                      `json:"readme"`
	ReadmeFile    *string                      `json:"readme_file"`
	Keywords      []string                     `json:"keywords"`
	Categories    []string                     `json:"categories"`
	License       *string                      `json:"license"`
	LicenseFile   *string                      `json:"license_file"`
	Repository    *string                      `json:"repository"`
	Badges        map[string]map[string]string `json:"badges"`
	Links         *string                      `json:"links"`
	RustVersion   *string                      `json:"rust_version"`
}

// NewCrateDependency is one `deps[]` entry (cargo's NewCrateDependency).
type NewCrateDependency struct {
	Optional           bool     `json:"optional"`
	DefaultFeatures    bool     `json:"default_features"`
	Name               string   `json:"name"`
	Features           []string `json:"features"`
	VersionReq         string   `json:"version_req"`
	Target             *string  `json:"target"`
	Kind               string   `json:"kind"`
	Registry           *string  `json:"registry,omitempty"`
	ExplicitNameInToml *string  `json:"explicit_name_in_toml,omitempty"`
}

// PublishMetadata builds the NewCrate of a .crate's bytes from the
// Cargo.toml inside it (already normalized by `cargo package`: no workspace
// inheritance, no path dependencies) and its readme file.
func PublishMetadata(data []byte) (*NewCrate, *Info, error) {
	info, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	if !info.HasPackage || info.Name == "" || info.Version == "" {
		return nil, info, &Error{Kind: ErrBadManifest, Path: info.Root + "/" + manifestName, Msg: "no [package] name and version"}
	}
	var m map[string]any
	if err := toml.Unmarshal(info.Manifest, &m); err != nil {
		return nil, info, &Error{Kind: ErrBadManifest, Path: info.Root + "/" + manifestName, Msg: err.Error()}
	}
	pkg, _ := m["package"].(map[string]any)
	nc := &NewCrate{
		Name: info.Name, Vers: info.Version, Deps: []NewCrateDependency{}, Features: map[string][]string{},
		Authors: strList(pkg["authors"]), Keywords: strList(pkg["keywords"]), Categories: strList(pkg["categories"]),
		Description: optStr(pkg["description"]), Documentation: optStr(pkg["documentation"]), Homepage: optStr(pkg["homepage"]),
		License: optStr(pkg["license"]), LicenseFile: optStr(pkg["license-file"]), Repository: optStr(pkg["repository"]),
		Links: optStr(pkg["links"]), RustVersion: optStr(pkg["rust-version"]), Badges: map[string]map[string]string{},
	}
	if f, ok := m["features"].(map[string]any); ok {
		for k, v := range f {
			nc.Features[k] = strList(v)
		}
	}
	if b, ok := m["badges"].(map[string]any); ok {
		for k, v := range b {
			t, _ := v.(map[string]any)
			attrs := map[string]string{}
			for ak, av := range t {
				attrs[ak] = fmt.Sprint(av)
			}
			nc.Badges[k] = attrs
		}
	}
	if rf := optStr(pkg["readme"]); rf != nil {
		nc.ReadmeFile = rf
		content, err := fileIn(data, path.Join(info.Root, path.Clean(*rf)))
		if err != nil {
			return nil, info, &Error{Kind: ErrBadManifest, Path: info.Root + "/" + manifestName, Msg: fmt.Sprintf("readme %q: %v", *rf, err)}
		}
		s := string(content)
		nc.Readme = &s
	}
	kinds := []struct{ key, kind string }{{"dependencies", "normal"}, {"build-dependencies", "build"}, {"dev-dependencies", "dev"}}
	addTable := func(t map[string]any, kind string, target *string) error {
		names := make([]string, 0, len(t))
		for k := range t {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, key := range names {
			d, err := newDep(key, t[key], kind, target)
			if err != nil {
				return err
			}
			nc.Deps = append(nc.Deps, d)
		}
		return nil
	}
	for _, k := range kinds {
		if t, ok := depTable(m, k.key); ok {
			if err := addTable(t, k.kind, nil); err != nil {
				return nil, info, err
			}
		}
	}
	if targets, ok := m["target"].(map[string]any); ok {
		names := make([]string, 0, len(targets))
		for k := range targets {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			tt, _ := targets[name].(map[string]any)
			target := name
			for _, k := range kinds {
				if t, ok := depTable(tt, k.key); ok {
					if err := addTable(t, k.kind, &target); err != nil {
						return nil, info, err
					}
				}
			}
		}
	}
	return nc, info, nil
}

// depTable reads a dependency table, also under cargo's legacy underscore
// spelling (dev_dependencies).
func depTable(m map[string]any, key string) (map[string]any, bool) {
	if t, ok := m[key].(map[string]any); ok {
		return t, true
	}
	t, ok := m[strings.ReplaceAll(key, "-", "_")].(map[string]any)
	return t, ok
}

func newDep(key string, v any, kind string, target *string) (NewCrateDependency, error) {
	d := NewCrateDependency{Name: key, DefaultFeatures: true, Features: []string{}, Kind: kind, Target: target, VersionReq: "*"}
	switch t := v.(type) {
	case string:
		d.VersionReq = NormalizeReq(t)
	case map[string]any:
		if s, ok := t["version"].(string); ok {
			d.VersionReq = NormalizeReq(s)
		}
		d.Features = strList(t["features"])
		if b, ok := t["optional"].(bool); ok {
			d.Optional = b
		}
		for _, k := range []string{"default-features", "default_features"} {
			if b, ok := t[k].(bool); ok {
				d.DefaultFeatures = b
			}
		}
		if p, ok := t["package"].(string); ok && p != "" {
			name := key
			d.Name, d.ExplicitNameInToml = p, &name
		}
		// A dependency from another registry names its index; crates.io's
		// own dependencies name none ("the same registry").
		if r, ok := t["registry-index"].(string); ok && r != "" {
			d.Registry = &r
		}
	default:
		return d, &Error{Kind: ErrBadManifest, Path: manifestName, Msg: fmt.Sprintf("dependency %q is neither a version nor a table", key)}
	}
	return d, nil
}

// NormalizeReq spells a version requirement as cargo sends it (the Display
// of semver::VersionReq): comparators joined by ", ", a bare version becomes
// a caret requirement, no space after an operator.
func NormalizeReq(req string) string {
	req = strings.TrimSpace(req)
	if req == "" || req == "*" {
		return "*"
	}
	parts := strings.Split(req, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		op := ""
		for _, o := range []string{">=", "<=", ">", "<", "=", "~", "^"} {
			if strings.HasPrefix(p, o) {
				op, p = o, strings.TrimSpace(p[len(o):])
				break
			}
		}
		if op == "" && !strings.ContainsAny(p, "*xX") {
			op = "^"
		}
		parts[i] = op + p
	}
	return strings.Join(parts, ", ")
}

func strList(v any) []string {
	out := []string{}
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func optStr(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

// fileIn returns the contents of the archive member named name.
func fileIn(data []byte, name string) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("not in the archive")
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(h.Name) == name && h.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, MaxUnpacked))
		}
	}
}

// UploadBody frames a publish request as cargo does (crates-io/lib.rs
// `Registry::publish`): little-endian u32 length of the JSON, the JSON,
// little-endian u32 length of the .crate, the .crate.
func UploadBody(meta *NewCrate, crate []byte) ([]byte, error) {
	j, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(j)))
	b.Write(n[:])
	b.Write(j)
	binary.LittleEndian.PutUint32(n[:], uint32(len(crate)))
	b.Write(n[:])
	b.Write(crate)
	return b.Bytes(), nil
}
