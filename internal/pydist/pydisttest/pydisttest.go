// Package pydisttest builds small but valid wheels and sdists in memory for
// tests: a wheel with METADATA, WHEEL and RECORD, and an sdist with PKG-INFO.
package pydisttest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/pydist"
)

// Spec describes a distribution to build.
type Spec struct {
	Name    string // project name as written in metadata
	Version string
	Summary string
	// Python, ABI, Platform tags of a wheel ("py3", "none", "any" by default).
	Python, ABI, Platform string
	// Extra metadata headers, e.g. {"Requires-Dist", "requests>=2"}.
	Extra [][2]string
	// Salt changes the bytes without changing the name (to test conflicts).
	Salt string
}

func (s *Spec) defaults() {
	if s.Python == "" {
		s.Python = "py3"
	}
	if s.ABI == "" {
		s.ABI = "none"
	}
	if s.Platform == "" {
		s.Platform = "any"
	}
	if s.Summary == "" {
		s.Summary = "A test package"
	}
}

// Metadata renders core metadata 2.1.
func (s Spec) Metadata() string {
	s.defaults()
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n", s.Name, s.Version, s.Summary)
	b.WriteString("Author-email: Test <test@example.com>\nLicense: MIT\nRequires-Python: >=3.8\n")
	b.WriteString("Classifier: Programming Language :: Python :: 3\n")
	b.WriteString("Project-URL: Source, https://example.com/src\n")
	for _, e := range s.Extra {
		fmt.Fprintf(&b, "%s: %s\n", e[0], e[1])
	}
	b.WriteString("Description-Content-Type: text/markdown\n\n# " + s.Name + "\n\nTest package.\n")
	return b.String()
}

var stamp = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// WheelFilename is the wheel's filename.
func (s Spec) WheelFilename() string {
	s.defaults()
	return fmt.Sprintf("%s-%s-%s-%s-%s.whl", pydist.FilenameName(s.Name), pydist.NormalizeVersion(s.Version), s.Python, s.ABI, s.Platform)
}

// SdistFilename is the sdist's filename (PEP 625).
func (s Spec) SdistFilename() string {
	return fmt.Sprintf("%s-%s.tar.gz", pydist.FilenameName(s.Name), pydist.NormalizeVersion(s.Version))
}

// Wheel builds the wheel and returns its filename and bytes.
func Wheel(s Spec) (string, []byte) {
	s.defaults()
	mod := pydist.FilenameName(s.Name)
	distInfo := fmt.Sprintf("%s-%s.dist-info", mod, pydist.NormalizeVersion(s.Version))
	files := []struct{ name, body string }{
		{mod + "/__init__.py", "__version__ = \"" + s.Version + "\"\n# " + s.Salt + "\n"},
		{distInfo + "/METADATA", s.Metadata()},
		{distInfo + "/WHEEL", fmt.Sprintf("Wheel-Version: 1.0\nGenerator: pydisttest\nRoot-Is-Purelib: true\nTag: %s-%s-%s\n", s.Python, s.ABI, s.Platform)},
	}
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: stamp}
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write([]byte(f.body))
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString(distInfo + "/RECORD,,\n")
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: distInfo + "/RECORD", Method: zip.Deflate, Modified: stamp})
	_, _ = w.Write([]byte(record.String()))
	_ = zw.Close()
	return s.WheelFilename(), buf.Bytes()
}

// Sdist builds the sdist and returns its filename and bytes.
func Sdist(s Spec) (string, []byte) {
	s.defaults()
	fn := s.SdistFilename()
	root := strings.TrimSuffix(fn, ".tar.gz")
	mod := pydist.FilenameName(s.Name)
	files := []struct{ name, body string }{
		{root + "/PKG-INFO", s.Metadata()},
		{root + "/pyproject.toml", "[project]\nname = \"" + s.Name + "\"\nversion = \"" + s.Version + "\"\n"},
		{root + "/" + mod + "/__init__.py", "# " + s.Salt + "\n"},
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: stamp, Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(f.body))
	}
	_ = tw.Close()
	_ = gz.Close()
	return fn, buf.Bytes()
}

// WriteBoth writes the wheel and sdist of s into dir and returns their paths.
func WriteBoth(dir string, s Spec) (wheel, sdist string, err error) {
	wn, wb := Wheel(s)
	sn, sb := Sdist(s)
	wheel, sdist = filepath.Join(dir, wn), filepath.Join(dir, sn)
	if err = os.WriteFile(wheel, wb, 0o644); err != nil {
		return
	}
	err = os.WriteFile(sdist, sb, 0o644)
	return
}
