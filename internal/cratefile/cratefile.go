// Package cratefile reads a packaged crate (a `.crate` file: a gzip'd tar with
// one top-level `{name}-{version}/` directory) and returns what crates.io reads
// from it: the package section of the Cargo.toml inside. Entries that would
// escape the archive root (`..`, absolute paths, links pointing outside) are
// refused, because the same reader runs on untrusted uploads in the emulator.
package cratefile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// CodeInvalid is raised for a .crate that cannot be read or is unsafe.
const CodeInvalid = "PIOT_CRATE_FILE_INVALID"

// Limits: crates.io's default max unpacked size is 512 MiB; a manifest above
// 1 MiB is certainly not a real Cargo.toml.
const (
	MaxUnpacked  = 512 << 20
	MaxManifest  = 1 << 20
	manifestName = "Cargo.toml"
)

// Sentinel errors, wrapped by *Error so callers can errors.Is them.
var (
	ErrMalformed   = errors.New("malformed crate archive")
	ErrUnsafePath  = errors.New("unsafe path in crate archive")
	ErrNoManifest  = errors.New("crate archive has no Cargo.toml")
	ErrBadManifest = errors.New("invalid Cargo.toml in crate archive")
)

// Error describes why a .crate was refused.
type Error struct {
	Kind error  // one of the sentinels above
	Path string // the archive entry, when one is to blame
	Msg  string
}

func (e *Error) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s", e.Kind, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Msg)
}

func (e *Error) Unwrap() error { return e.Kind }

// Info is what the archive says about the package.
type Info struct {
	Name        string
	Version     string
	Description string
	License     string
	LicenseFile string
	Readme      string
	Repository  string
	Homepage    string
	RustVersion string
	Edition     string
	// Documentation is the docs URL; Keywords and Categories as written.
	Documentation string
	Keywords      []string
	Categories    []string
	Links         string
	// Inherited lists package fields that use workspace inheritance
	// (`version.workspace = true`); crates.io refuses such manifests.
	Inherited []string
	// HasPackage is false when Cargo.toml has no [package] section.
	HasPackage bool
	// Root is the archive's top-level directory, e.g. "foo-0.1.0".
	Root        string
	Files       []string // regular files, archive paths, sorted
	LinkEntries []string // symlink and hardlink entries (all point inside the root)
	Manifest    []byte   // the raw Cargo.toml
	Checksum    string   // sha256 hex of the .crate bytes (the index `cksum`)
	Size        int64    // size of the .crate
}

// Read reads the .crate at p.
func Read(p string) (*Info, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading crate file %s: %w", p, err)
	}
	info, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("crate file %s: %w", p, err)
	}
	return info, nil
}

// Parse reads a .crate from memory.
func Parse(data []byte) (*Info, error) {
	sum := sha256.Sum256(data)
	info := &Info{Checksum: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, &Error{Kind: ErrMalformed, Msg: "not gzip: " + err.Error()}
	}
	tr := tar.NewReader(zr)
	var total int64
	var manifests []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &Error{Kind: ErrMalformed, Msg: "reading tar: " + err.Error()}
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // pax global header (git archive writes one); no file
		}
		name := h.Name
		clean, err := safePath(name)
		if err != nil {
			return nil, &Error{Kind: ErrUnsafePath, Path: name, Msg: err.Error()}
		}
		root, rest, _ := strings.Cut(clean, "/")
		if info.Root == "" {
			info.Root = root
		} else if root != info.Root {
			return nil, &Error{Kind: ErrUnsafePath, Path: name, Msg: fmt.Sprintf("entry outside the top-level directory %q", info.Root)}
		}
		if rest == "" && h.Typeflag != tar.TypeDir {
			return nil, &Error{Kind: ErrUnsafePath, Path: name, Msg: "entry is not inside a top-level directory"}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeSymlink, tar.TypeLink:
			if err := linkInside(clean, h.Linkname, h.Typeflag == tar.TypeLink, info.Root); err != nil {
				return nil, &Error{Kind: ErrUnsafePath, Path: name, Msg: err.Error()}
			}
			info.LinkEntries = append(info.LinkEntries, clean)
			continue
		case tar.TypeReg, tar.TypeRegA:
		default:
			return nil, &Error{Kind: ErrUnsafePath, Path: name, Msg: fmt.Sprintf("unsupported entry type %q", string(h.Typeflag))}
		}
		info.Files = append(info.Files, clean)
		if rest == manifestName {
			manifests = append(manifests, clean)
			b, err := io.ReadAll(io.LimitReader(tr, MaxManifest+1))
			if err != nil {
				return nil, &Error{Kind: ErrMalformed, Path: name, Msg: err.Error()}
			}
			if len(b) > MaxManifest {
				return nil, &Error{Kind: ErrBadManifest, Path: name, Msg: "Cargo.toml larger than 1 MiB"}
			}
			info.Manifest = b
			total += int64(len(b))
		} else {
			n, err := io.Copy(io.Discard, io.LimitReader(tr, MaxUnpacked-total+1))
			if err != nil {
				return nil, &Error{Kind: ErrMalformed, Path: name, Msg: err.Error()}
			}
			total += n
		}
		if total > MaxUnpacked {
			return nil, &Error{Kind: ErrMalformed, Msg: "unpacked size exceeds 512 MiB"}
		}
	}
	sort.Strings(info.Files)
	if len(manifests) == 0 {
		return nil, &Error{Kind: ErrNoManifest, Msg: "expected " + path.Join(orDefault(info.Root, "{name}-{version}"), manifestName)}
	}
	if len(manifests) > 1 {
		return nil, &Error{Kind: ErrBadManifest, Msg: "more than one " + manifestName + " at the top level"}
	}
	if err := parseManifest(info); err != nil {
		return nil, err
	}
	return info, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// safePath cleans an archive path and refuses absolute paths, `..` and
// Windows drive/backslash forms.
func safePath(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty path")
	}
	if strings.ContainsRune(name, '\\') {
		return "", errors.New("backslash in path")
	}
	if strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') {
		return "", errors.New("absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New("path traversal (`..`)")
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", errors.New("empty path")
	}
	return clean, nil
}

// linkInside checks that a link entry resolves inside root.
func linkInside(entry, target string, hard bool, root string) error {
	if target == "" {
		return errors.New("link with an empty target")
	}
	if strings.HasPrefix(target, "/") || strings.ContainsRune(target, '\\') || (len(target) > 1 && target[1] == ':') {
		return fmt.Errorf("link to absolute path %q", target)
	}
	var resolved string
	if hard {
		resolved = path.Clean(target) // hard link targets are archive paths
	} else {
		resolved = path.Join(path.Dir(entry), target)
	}
	if resolved != root && !strings.HasPrefix(resolved, root+"/") {
		return fmt.Errorf("link target %q points outside the crate", target)
	}
	return nil
}

func parseManifest(info *Info) error {
	var m map[string]any
	if err := toml.Unmarshal(info.Manifest, &m); err != nil {
		return &Error{Kind: ErrBadManifest, Path: info.Root + "/" + manifestName, Msg: err.Error()}
	}
	pkg, ok := m["package"].(map[string]any)
	if !ok {
		return nil
	}
	info.HasPackage = true
	field := func(key string) string {
		switch v := pkg[key].(type) {
		case string:
			return v
		case map[string]any:
			if w, _ := v["workspace"].(bool); w {
				info.Inherited = append(info.Inherited, key)
			}
		}
		return ""
	}
	info.Name = field("name")
	info.Version = field("version")
	info.Description = field("description")
	info.License = field("license")
	info.LicenseFile = field("license-file")
	info.Repository = field("repository")
	info.Homepage = field("homepage")
	info.RustVersion = field("rust-version")
	info.Edition = field("edition")
	info.Links = field("links")
	info.Documentation = field("documentation")
	list := func(key string) []string {
		var out []string
		switch v := pkg[key].(type) {
		case []any:
			for _, x := range v {
				if str, ok := x.(string); ok {
					out = append(out, str)
				}
			}
		case map[string]any:
			if w, _ := v["workspace"].(bool); w {
				info.Inherited = append(info.Inherited, key)
			}
		}
		return out
	}
	info.Keywords = list("keywords")
	info.Categories = list("categories")
	// readme may be a string or `false`
	info.Readme = field("readme")
	sort.Strings(info.Inherited)
	return nil
}

// MissingFields lists the required crates.io fields that are absent or empty,
// in crates.io's order: "description", then "license" (satisfied by either
// license or license-file).
func (i *Info) MissingFields() []string {
	var out []string
	if strings.TrimSpace(i.Description) == "" {
		out = append(out, "description")
	}
	if strings.TrimSpace(i.License) == "" && strings.TrimSpace(i.LicenseFile) == "" {
		out = append(out, "license")
	}
	return out
}

// Check verifies the archive is the planned package and has the fields
// crates.io requires; the result is a user-facing *diag.Error.
func (i *Info) Check(name, version string) error {
	if i.Name != name || i.Version != version {
		return diag.New(CodeInvalid, "crate file is %s %s, expected %s %s", i.Name, i.Version, name, version).
			WithHint("rebuild the artifact from the planned version (cargo package after the version is written)")
	}
	if miss := i.MissingFields(); len(miss) > 0 {
		return diag.New(CodeInvalid, "crate %s %s is missing fields crates.io requires: %s", name, version, strings.Join(miss, ", ")).
			WithHint("set `description` and `license` (or `license-file`) in the [package] section of Cargo.toml")
	}
	return nil
}

// Build writes a .crate (gzip'd tar) holding files under `{name}-{version}/`.
// Tests and the emulator's seeded versions use it; keys are paths relative to
// the crate root.
func Build(name, version string, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		body := files[k]
		_ = tw.WriteHeader(&tar.Header{Name: name + "-" + version + "/" + k, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// Manifest renders a minimal Cargo.toml for Build.
func Manifest(name, version, description, license string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[package]\nname = %q\nversion = %q\nedition = \"2021\"\n", name, version)
	if description != "" {
		fmt.Fprintf(&b, "description = %q\n", description)
	}
	if license != "" {
		fmt.Fprintf(&b, "license = %q\n", license)
	}
	return b.String()
}
