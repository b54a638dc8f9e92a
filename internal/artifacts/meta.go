package artifacts

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/manifest"
)

// memberLimit bounds how much of one archive member (a manifest) is read.
const memberLimit = 1 << 20

// scanLimit bounds how many archive entries are looked at before giving up.
const scanLimit = 100000

// CrateMeta is what a .crate's own Cargo.toml says.
type CrateMeta struct {
	Name, Version, Description, License, LicenseFile string
	// Deps are the crate's shipped dependencies (normal and build, for
	// every target), renamed ones under their real name, in the manifest
	// reader's fixed order. One crate may appear more than once
	// (`x-v1 = { package = "x", version = "1" }` beside `x`).
	Deps []manifest.Dep
}

// ReadCrate reads the Cargo.toml at the top of a .crate (gzip tar,
// `{name}-{version}/Cargo.toml`), streaming the archive.
func ReadCrate(p string) (*CrateMeta, error) {
	data, err := tarMember(p, func(name string) bool {
		return strings.Count(strings.Trim(name, "/"), "/") == 1 && path.Base(name) == "Cargo.toml"
	})
	if err != nil {
		return nil, err
	}
	var m struct {
		Package struct {
			Name        string `toml:"name"`
			Version     any    `toml:"version"`
			Description any    `toml:"description"`
			License     any    `toml:"license"`
			LicenseFile any    `toml:"license-file"`
		} `toml:"package"`
	}
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: Cargo.toml: %w", path.Base(p), err)
	}
	str := func(v any) string { s, _ := v.(string); return s }
	cm := &CrateMeta{Name: m.Package.Name, Version: str(m.Package.Version), Description: strings.TrimSpace(str(m.Package.Description)),
		License: strings.TrimSpace(str(m.Package.License)), LicenseFile: strings.TrimSpace(str(m.Package.LicenseFile))}
	deps, err := manifest.CargoDeps(data)
	if err != nil {
		return nil, fmt.Errorf("%s: Cargo.toml: %w", path.Base(p), err)
	}
	for _, d := range deps {
		if d.Ships() {
			cm.Deps = append(cm.Deps, d)
		}
	}
	return cm, nil
}

// PyMeta is a distribution's core metadata (the fields we compare).
type PyMeta struct {
	Name, Version string
	Requires      []string // Requires-Dist, as written
}

// ReadWheel reads `*.dist-info/METADATA` from a wheel through the zip index.
func ReadWheel(p string) (*PyMeta, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("%s: not a wheel (zip): %w", path.Base(p), err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if err := unsafeEntry(f.Name, "", f.Mode()&os.ModeSymlink != 0, false); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Base(p), err)
		}
	}
	for _, f := range zr.File {
		dir, base := path.Split(f.Name)
		if base == "METADATA" && strings.HasSuffix(strings.TrimSuffix(dir, "/"), ".dist-info") && strings.Count(f.Name, "/") == 1 {
			if f.UncompressedSize64 > memberLimit {
				return nil, fmt.Errorf("%s: METADATA is %d bytes; refusing", path.Base(p), f.UncompressedSize64)
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path.Base(p), err)
			}
			defer rc.Close()
			return parseCoreMetadata(io.LimitReader(rc, memberLimit))
		}
	}
	return nil, fmt.Errorf("%s: no *.dist-info/METADATA", path.Base(p))
}

// ReadSdist reads `{name}-{version}/PKG-INFO` from an sdist, streaming it.
func ReadSdist(p string) (*PyMeta, error) {
	data, err := tarMember(p, func(name string) bool {
		return strings.Count(strings.Trim(name, "/"), "/") == 1 && path.Base(name) == "PKG-INFO"
	})
	if err != nil {
		return nil, err
	}
	return parseCoreMetadata(strings.NewReader(string(data)))
}

func parseCoreMetadata(r io.Reader) (*PyMeta, error) {
	m := &PyMeta{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), memberLimit)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // headers end; the body is the description
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			m.Name = strings.TrimSpace(v)
		case "version":
			m.Version = strings.TrimSpace(v)
		case "requires-dist":
			m.Requires = append(m.Requires, strings.TrimSpace(v))
		}
	}
	if m.Name == "" || m.Version == "" {
		return nil, errors.New("core metadata has no Name or Version")
	}
	return m, nil
}

// NpmMeta is what a package.json says.
type NpmMeta struct {
	Name, Version, RepositoryURL string
	Private                      bool
}

// ReadNpm reads package.json from a package folder or `package/package.json`
// from an npm tarball.
func ReadNpm(p string) (*NpmMeta, error) {
	var data []byte
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		f, err := os.Open(path.Join(p, "package.json"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, memberLimit))
		if err != nil {
			return nil, err
		}
	} else {
		data, err = tarMember(p, func(name string) bool {
			return strings.Count(strings.Trim(name, "/"), "/") == 1 && path.Base(name) == "package.json"
		})
		if err != nil {
			return nil, err
		}
	}
	var m struct {
		Name       string          `json:"name"`
		Version    string          `json:"version"`
		Private    bool            `json:"private"`
		Repository json.RawMessage `json:"repository"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &m); err != nil {
		return nil, fmt.Errorf("%s: package.json: %w", path.Base(p), err)
	}
	out := &NpmMeta{Name: m.Name, Version: m.Version, Private: m.Private}
	var s string
	var obj struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(m.Repository, &s) == nil {
		out.RepositoryURL = s
	} else if json.Unmarshal(m.Repository, &obj) == nil {
		out.RepositoryURL = obj.URL
	}
	return out, nil
}

// tarMember streams the gzip tar at p and returns the first member accepted
// by want, read up to memberLimit.
func tarMember(p string, want func(name string) bool) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip archive: %w", path.Base(p), err)
	}
	tr := tar.NewReader(gz)
	// Every entry's header is checked, also after the wanted member: an
	// unsafe entry anywhere refuses the archive (bodies are skipped, not read).
	var found []byte
	for i := 0; i < scanLimit; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.Base(p), err)
		}
		if err := unsafeEntry(h.Name, h.Linkname, h.Typeflag == tar.TypeSymlink, h.Typeflag == tar.TypeLink); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Base(p), err)
		}
		if found != nil || h.Typeflag != tar.TypeReg || !want(h.Name) {
			continue
		}
		if h.Size > memberLimit {
			return nil, fmt.Errorf("%s: %s is %d bytes; refusing", path.Base(p), h.Name, h.Size)
		}
		if found, err = io.ReadAll(io.LimitReader(tr, memberLimit)); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Base(p), err)
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%s: manifest not found in archive", path.Base(p))
	}
	return found, nil
}

// ErrUnsafeArchive is an archive entry that would land outside the
// extraction root: the tools that unpack artifacts later must never see one.
var ErrUnsafeArchive = errors.New("unsafe archive entry")

// unsafeEntry refuses absolute names, `..` components and links that point
// outside the archive (absolute, or climbing above the root).
func unsafeEntry(name, link string, symlink, hardlink bool) error {
	escapes := func(p string) bool {
		p = strings.ReplaceAll(p, `\`, "/")
		if strings.HasPrefix(p, "/") || (len(p) > 1 && p[1] == ':') {
			return true
		}
		for _, part := range strings.Split(p, "/") {
			if part == ".." {
				return true
			}
		}
		return false
	}
	if escapes(name) {
		return fmt.Errorf("%w: %q leaves the archive", ErrUnsafeArchive, name)
	}
	if symlink && link == "" {
		return fmt.Errorf("%w: %q is a symlink", ErrUnsafeArchive, name)
	}
	if symlink || hardlink {
		target := link
		if symlink {
			target = path.Join(path.Dir(strings.ReplaceAll(name, `\`, "/")), link)
		}
		if escapes(link) && (hardlink || strings.HasPrefix(link, "/") || strings.HasPrefix(target, "..") || target == "..") {
			return fmt.Errorf("%w: link %q -> %q points outside the archive", ErrUnsafeArchive, name, link)
		}
	}
	return nil
}

// NormalizePyName is PEP 503 normalisation.
func NormalizePyName(n string) string {
	return strings.ToLower(pySep.ReplaceAllString(n, "-"))
}

var pySep = regexp.MustCompile(`[-_.]+`)

var prePat = regexp.MustCompile(`[-_.]?(alpha|beta|preview|pre|rc|a|b|c)[-_.]?([0-9]*)`)
var postPat = regexp.MustCompile(`[-_.]?(post|rev|r)[-_.]?([0-9]*)`)
var devPat = regexp.MustCompile(`[-_.]?dev[-_.]?([0-9]*)`)

// NormalizePyVersion is a small PEP 440 normaliser: enough to compare the
// planned semver version (1.2.0-rc.1) with what a wheel says (1.2.0rc1).
func NormalizePyVersion(v string) string {
	v = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(v)), "v")
	local := ""
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v, local = v[:i], "+"+strings.ReplaceAll(strings.ReplaceAll(v[i+1:], "-", "."), "_", ".")
	}
	// Release segment: leading digits and dots.
	i := 0
	for i < len(v) && (v[i] == '.' || (v[i] >= '0' && v[i] <= '9')) {
		i++
	}
	rel, rest := strings.TrimRight(v[:i], "."), v[i:]
	num := func(s string) string {
		s = strings.TrimLeft(s, "0")
		if s == "" {
			return "0"
		}
		return s
	}
	var out strings.Builder
	out.WriteString(rel)
	if m := prePat.FindStringSubmatchIndex(rest); m != nil && m[0] == 0 {
		tag := rest[m[2]:m[3]]
		switch tag {
		case "alpha":
			tag = "a"
		case "beta":
			tag = "b"
		case "c", "pre", "preview":
			tag = "rc"
		}
		out.WriteString(tag + num(rest[m[4]:m[5]]))
		rest = rest[m[1]:]
	}
	if m := postPat.FindStringSubmatchIndex(rest); m != nil && m[0] == 0 {
		out.WriteString(".post" + num(rest[m[4]:m[5]]))
		rest = rest[m[1]:]
	}
	if m := devPat.FindStringSubmatchIndex(rest); m != nil && m[0] == 0 {
		out.WriteString(".dev" + num(rest[m[2]:m[3]]))
		rest = rest[m[1]:]
	}
	return out.String() + rest + local
}
