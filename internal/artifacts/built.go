package artifacts

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Built-files checks: what a package points at must be in what is uploaded.
// A package.json whose `main` names a dist/ the build never made installs
// and then fails on the first require; a wheel without its package imports
// nothing; a crate whose include/exclude dropped src/lib.rs does not build.

// NpmEntry is one file a package.json field points at.
type NpmEntry struct {
	Field string // main, module, types, bin.cmd, exports["./x"].import, …
	Path  string // as written
}

// NpmEntries lists the files package.json fields main, module, types
// (typings), bin and exports point at, in a stable order. Export patterns
// (`./*`) and null targets name no single file and are left out.
func NpmEntries(pkgJSON []byte) ([]NpmEntry, error) {
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimPrefix(pkgJSON, []byte("\xef\xbb\xbf")), &m); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	var out []NpmEntry
	for _, f := range []string{"main", "module", "types", "typings"} {
		if s, ok := m[f].(string); ok && strings.TrimSpace(s) != "" {
			out = append(out, NpmEntry{Field: f, Path: s})
		}
	}
	switch b := m["bin"].(type) {
	case string:
		out = append(out, NpmEntry{Field: "bin", Path: b})
	case map[string]any:
		for _, k := range sortedAnyKeys(b) {
			if s, ok := b[k].(string); ok {
				out = append(out, NpmEntry{Field: "bin." + k, Path: s})
			}
		}
	}
	var walk func(field string, v any)
	walk = func(field string, v any) {
		switch x := v.(type) {
		case string:
			if !strings.Contains(x, "*") {
				out = append(out, NpmEntry{Field: field, Path: x})
			}
		case []any: // fallbacks: the first the runtime understands wins
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", field, i), e)
			}
		case map[string]any:
			for _, k := range sortedAnyKeys(x) {
				if strings.Contains(k, "*") {
					continue
				}
				walk(fmt.Sprintf("%s[%q]", field, k), x[k])
			}
		}
	}
	if e, ok := m["exports"]; ok {
		walk("exports", e)
	}
	return out, nil
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MissingNpmEntries returns a problem for each entry point of pkgJSON that
// is not among files (paths relative to the package root, as npm pack lists
// them). `main` and `bin` resolve as Node and npm resolve them (an added
// .js/.json/.node, a folder's index.js); exports and types must be exact.
func MissingNpmEntries(pkgJSON []byte, files []string) ([]string, error) {
	set := map[string]bool{}
	for _, f := range files {
		set[cleanRel(f)] = true
	}
	return missingNpmEntries(pkgJSON, func(p string) bool { return set[p] }, "is not in the packed package (build it before publishing, or list it in \"files\")")
}

// MissingNpmEntriesOnDisk is MissingNpmEntries against the folder itself:
// a file absent from the folder cannot be packed, whatever "files" says.
func MissingNpmEntriesOnDisk(pkgJSON []byte, dir string) ([]string, error) {
	return missingNpmEntries(pkgJSON, func(p string) bool {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		return err == nil && fi.Mode().IsRegular()
	}, "does not exist (the build did not make it: build it before publishing)")
}

func missingNpmEntries(pkgJSON []byte, have func(string) bool, why string) ([]string, error) {
	entries, err := NpmEntries(pkgJSON)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		p := cleanRel(e.Path)
		if p == "" || strings.HasPrefix(p, "../") {
			continue
		}
		ok := have(p)
		if !ok && (e.Field == "main" || strings.HasPrefix(e.Field, "bin")) {
			for _, alt := range []string{p + ".js", p + ".json", p + ".node", p + "/index.js", p + "/index.json", p + "/index.node"} {
				ok = ok || have(alt)
			}
		}
		if !ok {
			out = append(out, fmt.Sprintf("package.json %s points at %s, which %s", e.Field, e.Path, why))
		}
	}
	return out, nil
}

func cleanRel(p string) string {
	p = strings.TrimSpace(strings.ReplaceAll(p, "\\", "/"))
	p = path.Clean("/" + p)
	return strings.TrimPrefix(p, "/")
}

// NpmPackFiles reads the file list of `npm pack --dry-run --json`.
func NpmPackFiles(out []byte) ([]string, error) {
	// npm may print lifecycle output before the JSON; the array starts at
	// the first line that is "[".
	if i := bytes.Index(out, []byte("[\n")); i > 0 {
		out = out[i:]
	}
	var res []struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
		return nil, fmt.Errorf("reading npm pack --json: %w", err)
	}
	if len(res) == 0 {
		return nil, errors.New("npm pack --json listed no package")
	}
	var files []string
	for _, f := range res[0].Files {
		files = append(files, f.Path)
	}
	return files, nil
}

// TgzPackage returns an npm tarball's package.json and the files it holds,
// relative to its top folder (`package/`).
func TgzPackage(p string) ([]byte, []string, error) {
	var manifest []byte
	var files []string
	err := walkTar(p, func(h *tar.Header, r io.Reader) error {
		name := strings.TrimPrefix(h.Name, "./")
		_, rel, ok := strings.Cut(name, "/")
		if !ok || h.Typeflag != tar.TypeReg {
			return nil
		}
		files = append(files, rel)
		if rel == "package.json" && manifest == nil {
			data, err := io.ReadAll(io.LimitReader(r, memberLimit))
			if err != nil {
				return err
			}
			manifest = data
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if manifest == nil {
		return nil, nil, fmt.Errorf("%s: no package.json in the tarball", path.Base(p))
	}
	return manifest, files, nil
}

// walkTar calls fn for every entry of the gzip tar at p, after the same
// safety check tarMember makes.
func walkTar(p string, fn func(h *tar.Header, r io.Reader) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: not a gzip archive: %w", path.Base(p), err)
	}
	tr := tar.NewReader(gz)
	for i := 0; i < scanLimit; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path.Base(p), err)
		}
		if err := unsafeEntry(h.Name, h.Linkname, h.Typeflag == tar.TypeSymlink, h.Typeflag == tar.TypeLink); err != nil {
			return fmt.Errorf("%s: %w", path.Base(p), err)
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
	return nil
}

// WheelHoldsPackage reports a problem when a wheel holds nothing to import:
// no module, package, extension or .pth outside its .dist-info and .data.
func WheelHoldsPackage(p string) string {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return ""
	}
	defer zr.Close()
	for _, f := range zr.File {
		top, _, _ := strings.Cut(f.Name, "/")
		if strings.HasSuffix(top, ".dist-info") || strings.HasSuffix(top, ".data") || strings.HasSuffix(f.Name, "/") {
			continue
		}
		switch path.Ext(f.Name) {
		case ".py", ".so", ".pyd", ".pth", ".pyc", ".pyi", ".dylib", ".dll":
			return ""
		}
	}
	return "the wheel holds no Python module or extension outside its .dist-info (the build packaged nothing: check the package layout or the build backend's package list)"
}

// CrateTargetsPresent reports the Rust sources a .crate's own manifest
// builds from that are not in it: the [lib] and [[bin]] paths cargo wrote,
// else src/lib.rs or src/main.rs.
func CrateTargetsPresent(p string) []string {
	var manifest []byte
	have := map[string]bool{}
	err := walkTar(p, func(h *tar.Header, r io.Reader) error {
		_, rel, ok := strings.Cut(strings.TrimPrefix(h.Name, "./"), "/")
		if !ok || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeSymlink) {
			return nil
		}
		have[rel] = true
		if rel == "Cargo.toml" && manifest == nil {
			data, err := io.ReadAll(io.LimitReader(r, memberLimit))
			if err != nil {
				return err
			}
			manifest = data
		}
		return nil
	})
	if err != nil || manifest == nil {
		return nil
	}
	var m struct {
		Lib *struct {
			Path string `toml:"path"`
		} `toml:"lib"`
		Bin []struct {
			Name string `toml:"name"`
			Path string `toml:"path"`
		} `toml:"bin"`
		Package struct {
			Build any `toml:"build"`
		} `toml:"package"`
	}
	if toml.Unmarshal(manifest, &m) != nil {
		return nil
	}
	var out []string
	declared := false
	if m.Lib != nil && m.Lib.Path != "" {
		declared = true
		if !have[cleanRel(m.Lib.Path)] {
			out = append(out, fmt.Sprintf("[lib] path %s is not in the .crate (Cargo.toml include/exclude leave it out)", m.Lib.Path))
		}
	}
	for _, b := range m.Bin {
		if b.Path == "" {
			continue
		}
		declared = true
		if !have[cleanRel(b.Path)] {
			out = append(out, fmt.Sprintf("[[bin]] %s path %s is not in the .crate (Cargo.toml include/exclude leave it out)", b.Name, b.Path))
		}
	}
	if !declared && !have["src/lib.rs"] && !have["src/main.rs"] {
		out = append(out, "neither src/lib.rs nor src/main.rs is in the .crate (Cargo.toml include/exclude leave them out)")
	}
	return out
}
