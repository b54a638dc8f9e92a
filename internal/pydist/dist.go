package pydist

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File types as PyPI's upload form names them.
const (
	Sdist = "sdist"
	Wheel = "bdist_wheel"
)

// maxMetadata bounds METADATA / PKG-INFO reads.
const maxMetadata = 16 << 20

// ErrUnsafeArchive is wrapped by every "entry escapes the archive" error.
var ErrUnsafeArchive = errors.New("unsafe archive entry")

// WheelName is a parsed wheel filename:
// {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl
type WheelName struct {
	Name, Version, Build, Python, ABI, Platform string
}

// ParseWheelFilename splits a wheel filename into its parts.
func ParseWheelFilename(fn string) (WheelName, error) {
	base, ok := strings.CutSuffix(fn, ".whl")
	if !ok {
		return WheelName{}, fmt.Errorf("wheel filename %q does not end in .whl", fn)
	}
	parts := strings.Split(base, "-")
	var w WheelName
	switch len(parts) {
	case 5:
		w = WheelName{Name: parts[0], Version: parts[1], Python: parts[2], ABI: parts[3], Platform: parts[4]}
	case 6:
		w = WheelName{Name: parts[0], Version: parts[1], Build: parts[2], Python: parts[3], ABI: parts[4], Platform: parts[5]}
		if w.Build == "" || w.Build[0] < '0' || w.Build[0] > '9' {
			return WheelName{}, fmt.Errorf("wheel filename %q: build tag %q must start with a digit", fn, w.Build)
		}
	default:
		return WheelName{}, fmt.Errorf("wheel filename %q: want {name}-{version}[-{build}]-{python}-{abi}-{platform}.whl", fn)
	}
	for _, p := range parts {
		if p == "" {
			return WheelName{}, fmt.Errorf("wheel filename %q has an empty part", fn)
		}
	}
	return w, nil
}

// ParseSdistFilename splits {name}-{version}.tar.gz (or .zip) at the last "-".
func ParseSdistFilename(fn string) (name, version string, err error) {
	base, ok := strings.CutSuffix(fn, ".tar.gz")
	if !ok {
		if base, ok = strings.CutSuffix(fn, ".zip"); !ok {
			return "", "", fmt.Errorf("sdist filename %q does not end in .tar.gz", fn)
		}
	}
	i := strings.LastIndex(base, "-")
	if i <= 0 || i == len(base)-1 {
		return "", "", fmt.Errorf("sdist filename %q: want {name}-{version}.tar.gz", fn)
	}
	return base[:i], base[i+1:], nil
}

// Dist is a distribution file with its metadata.
type Dist struct {
	Filename  string
	Filetype  string // Sdist or Wheel
	PyVersion string // "source" for sdists, the python tag for wheels
	Wheel     *WheelName
	Metadata  *Metadata
	Tags      []string // wheels: the Tag lines of WHEEL
	Digests   Digests
	Size      int64
	Data      []byte
}

// Name and Version from the core metadata.
func (d *Dist) Name() string    { return d.Metadata.Get("Name") }
func (d *Dist) Version() string { return d.Metadata.Get("Version") }

// Read reads a distribution file from disk.
func Read(p string) (*Dist, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read distribution: %w", err)
	}
	return ReadBytes(filepath.Base(p), data)
}

// ReadBytes reads a distribution whose filename is fn.
func ReadBytes(fn string, data []byte) (*Dist, error) {
	d := &Dist{Filename: fn, Size: int64(len(data)), Data: data, Digests: Digest(data)}
	var err error
	switch {
	case strings.HasSuffix(fn, ".whl"):
		d.Filetype = Wheel
		w, perr := ParseWheelFilename(fn)
		if perr != nil {
			return nil, perr
		}
		d.Wheel = &w
		d.PyVersion = w.Python
		d.Metadata, d.Tags, err = readWheel(fn, data, w)
	case strings.HasSuffix(fn, ".tar.gz"):
		d.Filetype = Sdist
		d.PyVersion = "source"
		d.Metadata, err = readSdist(fn, data)
	default:
		return nil, fmt.Errorf("%s: not a wheel (.whl) or sdist (.tar.gz)", fn)
	}
	if err != nil {
		return nil, err
	}
	if d.Name() == "" || d.Version() == "" || d.Metadata.Get("Metadata-Version") == "" {
		return nil, fmt.Errorf("%s: core metadata lacks Metadata-Version, Name or Version", fn)
	}
	return d, nil
}

// checkEntry refuses names that would land outside the extraction root.
func checkEntry(archive, name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return fmt.Errorf("%s: %w: absolute path %q", archive, ErrUnsafeArchive, name)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return fmt.Errorf("%s: %w: %q climbs out of the archive", archive, ErrUnsafeArchive, name)
		}
	}
	return nil
}

func readWheel(fn string, data []byte, w WheelName) (*Metadata, []string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a valid wheel (zip): %w", fn, err)
	}
	var meta, wheel *zip.File
	for _, f := range zr.File {
		if err := checkEntry(fn, f.Name); err != nil {
			return nil, nil, err
		}
		if f.Mode()&os.ModeSymlink != 0 {
			return nil, nil, fmt.Errorf("%s: %w: %q is a symlink", fn, ErrUnsafeArchive, f.Name)
		}
		dir, base := path.Split(f.Name)
		dir = strings.TrimSuffix(dir, "/")
		if strings.Contains(dir, "/") || !strings.HasSuffix(dir, ".dist-info") {
			continue
		}
		// The .dist-info directory is named after the wheel (names compare normalised).
		dn, _, _ := strings.Cut(strings.TrimSuffix(dir, ".dist-info"), "-")
		if Normalize(dn) != Normalize(w.Name) {
			continue
		}
		switch base {
		case "METADATA":
			meta = f
		case "WHEEL":
			wheel = f
		}
	}
	if meta == nil {
		return nil, nil, fmt.Errorf("%s: no %s-%s.dist-info/METADATA in the wheel", fn, w.Name, w.Version)
	}
	b, err := readZipFile(meta)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read METADATA: %w", fn, err)
	}
	md, err := ParseMetadata(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: METADATA: %w", fn, err)
	}
	var tags []string
	if wheel != nil {
		wb, err := readZipFile(wheel)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: read WHEEL: %w", fn, err)
		}
		wm, err := ParseMetadata(wb)
		if err == nil {
			tags = wm.GetAll("Tag")
		}
	}
	return md, tags, nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readBounded(rc)
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMetadata+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetadata {
		return nil, errors.New("metadata file is larger than 16 MiB")
	}
	return b, nil
}

func readSdist(fn string, data []byte) (*Metadata, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid sdist (gzip): %w", fn, err)
	}
	tr := tar.NewReader(gz)
	var pkgInfo []byte
	root := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid sdist (tar): %w", fn, err)
		}
		if err := checkEntry(fn, h.Name); err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			return nil, fmt.Errorf("%s: %w: %q is a link to %q", fn, ErrUnsafeArchive, h.Name, h.Linkname)
		}
		name := strings.TrimPrefix(h.Name, "./")
		top, rest, _ := strings.Cut(name, "/")
		if root == "" {
			root = top
		}
		if rest == "PKG-INFO" && top == root && pkgInfo == nil {
			if pkgInfo, err = readBounded(tr); err != nil {
				return nil, fmt.Errorf("%s: read PKG-INFO: %w", fn, err)
			}
		}
	}
	if pkgInfo == nil {
		return nil, fmt.Errorf("%s: no PKG-INFO at the top of the sdist", fn)
	}
	md, err := ParseMetadata(pkgInfo)
	if err != nil {
		return nil, fmt.Errorf("%s: PKG-INFO: %w", fn, err)
	}
	return md, nil
}
